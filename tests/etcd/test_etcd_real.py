"""premortem etcd and premortem diagnose against real etcd members (Debian etcd-server) on loopback:
one on tmpfs, one on a FUSE mount whose fsync really sleeps, and a three-member cluster whose leader
sits on that mount."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from .etcd_harness import Cluster, Member, run_json, run_premortem

DATA = Path(__file__).resolve().parent / "data"


def by_rule(payload: dict) -> dict[str, dict]:
    return {f["rule"]: f for f in payload["findings"]}


def test_healthy_etcd_is_called_healthy(healthy_etcd: Member):
    code, out = run_json("etcd", "--metrics", healthy_etcd.metrics_url)
    assert out["findings"] == [], out["findings"]
    assert code == 0
    (member,) = out["summary"]["members"]
    assert out["summary"]["verdict"] == "healthy"
    assert member["wal_fsync_count"] >= 200  # the fixture's writes were fsynced and counted
    assert member["wal_fsync_p99_seconds"] < 0.010
    assert member["has_leader"] == 1 and member["is_leader"] == 1
    assert 0 <= member["uptime_seconds"] < 600  # started by this module's fixture


def test_healthy_etcd_text_report(healthy_etcd: Member):
    out = run_premortem("etcd", "--metrics", healthy_etcd.client_url)  # /metrics is implied
    assert out.returncode == 0, out.stderr
    assert "WAL fsync" in out.stdout and "1 member(s): healthy" in out.stdout


def test_etcd_on_a_slow_disk_is_called_slow(slow_etcd: Member):
    code, out = run_json("etcd", "--metrics", slow_etcd.metrics_url)
    assert code == 1
    found = by_rule(out)
    assert "ETM001" in found, out
    wal = found["ETM001"]
    assert wal["severity"] == "high" and wal["category"] == "etcd"
    # Every WAL fsync sleeps 30 ms: the p99 lands in etcd's (16 ms, 32 ms] bucket or above.
    assert wal["p99_seconds"] > 0.016
    assert "ETM002" in found  # bbolt's commits fsync on the same mount
    assert out["summary"]["verdict"] == "unhealthy"


def test_one_slow_member_among_healthy_ones(healthy_etcd: Member, slow_etcd: Member):
    code, out = run_json("etcd", "--metrics", healthy_etcd.metrics_url, "--metrics", slow_etcd.metrics_url)
    assert code == 1
    assert {f["source"] for f in out["findings"]} == {slow_etcd.metrics_url}


def test_slow_leader_misses_heartbeats(slow_leader_cluster: Cluster):
    slow = slow_leader_cluster.members[0]
    code, out = run_json(
        "etcd", *(a for m in slow_leader_cluster.members for a in ("--metrics", m.metrics_url))
    )
    assert code == 1
    slow_findings = {f["rule"]: f for f in out["findings"] if f["source"] == slow.metrics_url}
    assert "ETM001" in slow_findings
    assert "ETM005" in slow_findings and slow_findings["ETM005"]["heartbeat_send_failures"] > 0
    # The followers write their WAL to tmpfs: no disk finding for them.
    assert not [
        f for f in out["findings"] if f["source"] != slow.metrics_url and f["rule"] in ("ETM001", "ETM002")
    ]


def test_etcd_logs_its_own_heartbeat_warning(slow_leader_cluster: Cluster):
    warnings = [
        json.loads(line)
        for line in slow_leader_cluster.members[0].log_text().splitlines()
        if '"leader failed to send out heartbeat on time' in line
    ]
    assert warnings
    assert warnings[0]["level"] == "warn" and warnings[0]["heartbeat-interval"] == "10ms"


def diagnose_names_the_etcd_disk(log: Path) -> tuple[bool, dict]:
    if importlib.util.find_spec("premortem.cli.diagnose") is None:
        pytest.skip("`premortem diagnose` has not landed in this tree yet")
    out = run_premortem("diagnose", str(log), "--format", "json")
    assert "Traceback" not in out.stderr, out.stderr
    payload = json.loads(out.stdout)
    etcd = [f for f in payload["findings"] if f["category"] == "etcd"]
    named = any(re.search(r"\bdisk\b", f["message"], re.IGNORECASE) for f in etcd)
    return named, payload


def test_diagnose_names_the_etcd_disk_from_the_real_log(slow_leader_cluster: Cluster, tmp_path: Path):
    log = tmp_path / "etcd-m0.log"
    shutil.copy(slow_leader_cluster.members[0].log, log)
    named, payload = diagnose_names_the_etcd_disk(log)
    assert named, json.dumps(payload, indent=2)[:4000]
    etcd = [f for f in payload["findings"] if f["category"] == "etcd"]
    evidence = json.dumps([f.get("evidence") for f in etcd])
    assert "leader failed to send out heartbeat on time" in evidence


@pytest.mark.parametrize("sample", ["etcd-3.4-slow-leader.log", "etcd-3.4-slow-leader-capnslog.log"])
def test_diagnose_names_the_etcd_disk_from_the_saved_samples(sample: str):
    """The same on saved real logs of that leader, without etcd: etcd 3.4's JSON (zap) form and its
    older text (capnslog) form: "W | etcdserver: failed to send out heartbeat on time (exceeded the
    10ms timeout for 12.6ms, to ...)"."""
    named, payload = diagnose_names_the_etcd_disk(DATA / sample)
    assert named, json.dumps(payload, indent=2)[:4000]
