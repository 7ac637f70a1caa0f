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
    # The harness moved leadership to the slow member with `etcdctl move-leader` (MsgTimeoutNow at
    # line 71): a deliberate transfer, not a symptom, so it must not raise an alarm.
    assert etcd["DIAG-ETCD-LEADER-ELECTION"].severity == Severity.INFO
    assert result.summary["lines_unknown"] == 0
    # One cause and no effect in this log: a finding, not yet a story.
    assert all(story.title.startswith("slow etcd disk") for story in result.stories)


def test_healthy_members_raise_nothing_in_either_logger_form() -> None:
    for name in ("etcd-3.4.23-capnslog-healthy.log", "etcd-3.4.23-zap-healthy.log"):
        result = diagnose([str(FIXTURES / name)])
        assert not [f for f in result.findings if f.severity >= Severity.MEDIUM], (name, result.findings)
        assert result.summary["lines_unknown"] == 0, result.summary["unknown_samples"]


def test_deliberate_leadership_transfer_is_not_an_alarm_but_a_later_election_is() -> None:
    from pathlib import Path

    zap = Path(__file__).resolve().parent.parent / "etcd" / "data" / "etcd-3.4-slow-leader.log"
    result = diagnose([str(zap)])
    election = next(f for f in result.findings if f.rule == "DIAG-ETCD-LEADER-ELECTION")
    assert election.severity == Severity.INFO
    assert "on purpose" in election.message


def test_election_after_missed_heartbeats_is_high(tmp_path) -> None:
    log = tmp_path / "etcd.log"
    log.write_text(
        "raft2026/11/25 19:45:10 INFO: raft.node: a96a26dd90c00725 elected leader 3a2b61b1b6d1a72b at term 2\n"
        "raft2026/11/25 19:50:11 INFO: a96a26dd90c00725 is starting a new election at term 2\n"
        "raft2026/11/25 19:50:11 INFO: raft.node: a96a26dd90c00725 lost leader 3a2b61b1b6d1a72b at term 3\n"
        "raft2026/11/25 19:50:12 INFO: raft.node: a96a26dd90c00725 elected leader a96a26dd90c00725 at term 3\n"
    )
    result = diagnose([str(log)])
    election = next(f for f in result.findings if f.rule == "DIAG-ETCD-LEADER-ELECTION")
    assert election.severity >= Severity.HIGH
