"""Logs written by a real etcd 3.4.23 (Debian etcd-server) on this project's test machines, saved as
fixtures: a healthy single member in both logger forms (capnslog text and zap JSON), and the leader
of a three-member cluster whose data dir sat on a FUSE mount whose fsync sleeps 30 ms (the harness
in tests/etcd), in the capnslog form. The zap form of the slow leader is tests/etcd/data."""

from __future__ import annotations

from premortem.diagnose import diagnose
from premortem.findings import Severity

from .conftest import FIXTURES


def test_capnslog_slow_leader_names_the_disk() -> None:
    result = diagnose([str(FIXTURES / "etcd-3.4.23-capnslog-slow-leader.log")])
    etcd = {f.rule: f for f in result.findings if f.category == "etcd"}
    heartbeat = etcd["DIAG-ETCD-HEARTBEAT"]
    assert heartbeat.severity >= Severity.HIGH
    assert "slow disk" in heartbeat.message
    assert heartbeat.extra["count"] > 1
    assert "failed to send out heartbeat on time" in heartbeat.extra["evidence"][0]["text"]
    assert etcd["DIAG-ETCD-LEADER-ELECTION"].severity == Severity.HIGH  # leadership moved away from m1
    assert result.summary["lines_unknown"] == 0
    assert result.stories and result.stories[0].title.startswith("slow etcd disk")


def test_healthy_members_raise_nothing_in_either_logger_form() -> None:
    for name in ("etcd-3.4.23-capnslog-healthy.log", "etcd-3.4.23-zap-healthy.log"):
        result = diagnose([str(FIXTURES / name)])
        assert not [f for f in result.findings if f.severity >= Severity.MEDIUM], (name, result.findings)
        assert result.summary["lines_unknown"] == 0, result.summary["unknown_samples"]
