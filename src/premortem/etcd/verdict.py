"""Judge etcd members against etcd's own guidance (etcd-io/website v3.5 faq.md, metrics, hardware).

Rule ids (category ``etcd``):

- ETM001 wal-fsync-slow: p99 of etcd_disk_wal_fsync_duration_seconds >= 10 ms
- ETM002 backend-commit-slow: p99 of etcd_disk_backend_commit_duration_seconds >= 25 ms
- ETM003 no-leader: etcd_server_has_leader == 0
- ETM004 leader-changes: etcd_server_leader_changes_seen_total >= 3 since the member started
- ETM005 heartbeat-send-failures: etcd_server_heartbeat_send_failures_total > 0
- ETM006 slow-applies: etcd_server_slow_apply_total > 0
- ETM007 proposals-failed: etcd_server_proposals_failed_total > 0
- ETM008 proposals-pending: etcd_server_proposals_pending >= 10
- ETM009 db-near-quota: etcd_mvcc_db_total_size_in_bytes >= 80 % of the backend quota
- ETM010 disk-fdatasync-slow: the ``--disk`` benchmark's fdatasync p99 >= 10 ms
- ETM011 not-judged: a latency histogram is missing or has no observation yet
- ETM012 disk-volatile: the benchmarked directory is on tmpfs/ramfs (fdatasync does nothing there)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from premortem.etcd import metrics as m
from premortem.etcd.disk import DiskResult
from premortem.findings import Finding, Severity

CATEGORY = "etcd"
WAL_FSYNC_P99_LIMIT = 0.010  # etcd FAQ: "p99 ... should be less than 10ms"
BACKEND_COMMIT_P99_LIMIT = 0.025  # etcd FAQ: "p99 ... should be less than 25ms"
LEADER_CHANGES_MEDIUM = 3
LEADER_CHANGES_HIGH = 10
MANY = 10  # heartbeat failures / slow applies at which a hiccup becomes a pattern
PENDING_PROPOSALS_LIMIT = 10
QUOTA_MEDIUM = 0.80
QUOTA_HIGH = 0.95


@dataclass(frozen=True)
class EtcdRule:
    id: str
    name: str
    severity: Severity
    title: str


RULES = {
    r.id: r
    for r in (
        EtcdRule("ETM001", "wal-fsync-slow", Severity.HIGH, "WAL fsync p99 at or above 10 ms"),
        EtcdRule("ETM002", "backend-commit-slow", Severity.HIGH, "backend commit p99 at or above 25 ms"),
        EtcdRule("ETM003", "no-leader", Severity.CRITICAL, "member has no leader"),
        EtcdRule("ETM004", "leader-changes", Severity.MEDIUM, "leader changed repeatedly"),
        EtcdRule("ETM005", "heartbeat-send-failures", Severity.MEDIUM, "leader missed heartbeats"),
        EtcdRule("ETM006", "slow-applies", Severity.MEDIUM, "applies took longer than 100 ms"),
        EtcdRule("ETM007", "proposals-failed", Severity.MEDIUM, "proposals failed"),
        EtcdRule("ETM008", "proposals-pending", Severity.MEDIUM, "proposals queue up"),
        EtcdRule("ETM009", "db-near-quota", Severity.MEDIUM, "database close to the backend quota"),
        EtcdRule("ETM010", "disk-fdatasync-slow", Severity.HIGH, "disk too slow for etcd's WAL"),
        EtcdRule("ETM011", "not-judged", Severity.LOW, "latency not judged: no observations"),
        EtcdRule("ETM012", "disk-volatile", Severity.INFO, "benchmarked directory is in memory"),
    )
}

DISK_FIX = (
    "Put etcd's data dir (at least --wal-dir) on a dedicated local SSD/NVMe that no other workload "
    "writes to; check with `premortem etcd --disk DIR` (p99 fdatasync < 10 ms)."
)


def finding(
    rule_id: str, source: str, message: str, fix: str, severity: Severity | None = None, **numbers: Any
) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule=rule.id,
        category=CATEGORY,
        severity=severity if severity is not None else rule.severity,
        message=message,
        fix=fix,
        file=source,
        extra={"name": rule.name, "source": source, **numbers},
    )


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    value = seconds * 1000
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def size(n: float | None) -> str:
    if n is None:
        return "n/a"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def member_stats(member: m.MemberMetrics) -> dict[str, Any]:
    """The numbers behind the verdict, for the summary (JSON) and the text report."""
    out: dict[str, Any] = {
        "source": member.source,
        "version": member.version,
        "uptime_seconds": member.uptime_seconds,
    }
    for key, name in (("wal_fsync", m.WAL_FSYNC), ("backend_commit", m.BACKEND_COMMIT)):
        hist = member.histograms.get(name)
        out[f"{key}_count"] = int(hist.count) if hist and math.isfinite(hist.count) else None
        out[f"{key}_problem"] = hist.problem if hist else None
        out[f"{key}_p50_seconds"] = hist.quantile(0.50) if hist else None
        out[f"{key}_p99_seconds"] = hist.quantile(0.99) if hist else None
        out[f"{key}_p99_bucket_seconds"] = hist.quantile_bucket(0.99) if hist else None
        out[f"{key}_p50_bucket_seconds"] = hist.quantile_bucket(0.50) if hist else None
    for key, name in (
        ("has_leader", m.HAS_LEADER),
        ("is_leader", m.IS_LEADER),
        ("leader_changes", m.LEADER_CHANGES),
        ("heartbeat_send_failures", m.HEARTBEAT_FAILURES),
        ("slow_applies", m.SLOW_APPLY),
        ("proposals_failed", m.PROPOSALS_FAILED),
        ("proposals_pending", m.PROPOSALS_PENDING),
        ("db_size_bytes", m.DB_SIZE),
        ("db_in_use_bytes", m.DB_IN_USE),
    ):
        value = member.value(name)
        out[key] = int(value) if value is not None else None
    quota = member.value(m.QUOTA_BYTES)
    out["quota_bytes_configured"] = int(quota) if quota is not None else None
    out["quota_bytes"] = int(quota) if quota else m.DEFAULT_QUOTA_BYTES
    db = out["db_size_bytes"]
    out["db_quota_ratio"] = db / out["quota_bytes"] if db is not None else None
    return out


@dataclass(frozen=True)
class CounterCheck:
    """A counter or gauge that raises ``rule`` at ``at_least``, at high from ``high_at``."""

    rule: str
    stat: str  # key in member_stats()
    at_least: int
    high_at: int | None
    message: str  # {n}: the value
    fix: str


COUNTER_CHECKS = (
    CounterCheck(
        "ETM004", "leader_changes", LEADER_CHANGES_MEDIUM, LEADER_CHANGES_HIGH,
        "This member has seen {n} leader changes since it started{uptime} (the first election counts as one). "
        "Each change stalls writes for up to an election timeout; a count that keeps growing means an "
        "unstable leader, usually a slow disk or network.",
        "Scrape again in a few minutes: if the counter grows, find the cause in the WAL fsync and peer "
        "round-trip latencies; keep election-timeout >= 10x the peer RTT and heartbeat-interval about "
        "the RTT.",
    ),
    CounterCheck(
        "ETM005", "heartbeat_send_failures", 1, MANY,
        "As leader, this member failed to send {n} heartbeat(s) on time (more than 2x the heartbeat "
        "interval late). etcd logs this as \"leader failed to send out heartbeat on time; took too long, "
        "leader is overloaded likely from slow disk\"; followers that miss an election timeout of "
        "heartbeats start an election.",
        "Give etcd a faster, dedicated disk and enough CPU; if the disk is fine, raise "
        "--heartbeat-interval/--election-timeout on every member together.",
    ),
    CounterCheck(
        "ETM006", "slow_applies", 1, MANY,
        "{n} apply(s) took longer than etcd's 100 ms warning (\"apply request took too long\"); normal "
        "applies take under 50 ms. Requests behind a slow apply wait, and the API server's watch and "
        "list calls stall with them.",
        "Look at backend commit latency (disk) and at expensive requests (large range/list calls "
        "without a limit); compact and defragment a large database.",
    ),
    CounterCheck(
        "ETM007", "proposals_failed", 1, None,
        "{n} proposal(s) failed on this member: writes that never committed, normally because of "
        "leader elections or a lost quorum at the time.",
        "Correlate with leader changes; if they grow together, fix what makes the leader unstable "
        "(disk, network, CPU).",
    ),
    CounterCheck(
        "ETM008", "proposals_pending", PENDING_PROPOSALS_LIMIT, None,
        "{n} proposals are waiting to be committed: the member cannot commit as fast as clients write "
        "(slow disk, slow peers, or overload).",
        "Check WAL fsync latency and peer round-trip times; reduce write load (events, leases).",
    ),
)  # fmt: skip


def judge_member(member: m.MemberMetrics) -> list[Finding]:
    stats = member_stats(member)
    src = member.source
    found: list[Finding] = []
    found += _latency(stats, src, "wal_fsync", m.WAL_FSYNC, WAL_FSYNC_P99_LIMIT, "ETM001")
    found += _latency(stats, src, "backend_commit", m.BACKEND_COMMIT, BACKEND_COMMIT_P99_LIMIT, "ETM002")

    if stats["has_leader"] == 0:
        found.append(
            finding(
                "ETM003",
                src,
                "This member has no leader (etcd_server_has_leader 0): it cannot commit writes, so the "
                "API server's writes through it fail or time out. A lost quorum, a partition, or an "
                "election that keeps failing (slow disk, election timeout shorter than the disk stalls).",
                "Check that a quorum of members is up and reachable on the peer port (`etcdctl endpoint "
                "status --cluster`), then their disks (WAL fsync p99) and election timeout.",
            )
        )
    for check in COUNTER_CHECKS:
        n = stats[check.stat]
        if n is None or n < check.at_least:
            continue
        high = check.high_at is not None and n >= check.high_at
        found.append(
            finding(
                check.rule,
                src,
                check.message.format(n=n, uptime=_ago(stats["uptime_seconds"])),
                check.fix,
                severity=Severity.HIGH if high else None,
                **{check.stat: n},
            )
        )
    found += _quota(stats, src)
    return found


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 3600:
        return f" {seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f" {seconds / 3600:.1f} h ago"
    return f" {seconds / 86400:.0f} days ago"


def _latency(
    stats: dict[str, Any], src: str, key: str, metric: str, limit: float, rule_id: str
) -> list[Finding]:
    p99, p50, count = stats[f"{key}_p99_seconds"], stats[f"{key}_p50_seconds"], stats[f"{key}_count"]
    if p99 is None:
        problem = stats.get(f"{key}_problem")
        why = problem or ("is missing" if count is None else "has no observation yet")
        return [
            finding(
                "ETM011",
                src,
                f"{metric} {why}, so {RULES[rule_id].title.split(' p99')[0]} latency was not judged.",
                "Scrape a member that has served writes for a while (or put some load on it), and check "
                "that the metrics come from etcd itself, not from a proxy.",
                metric=metric,
            )
        ]
    if p99 < limit:
        return []
    what = "WAL fsync" if key == "wal_fsync" else "backend commit"
    consequence = (
        "Every write waits for this fsync before it is acknowledged, and a leader stuck in it misses "
        "heartbeats: followers then start elections and the API server sees timeouts."
        if key == "wal_fsync"
        else "Commits hold the backend lock: applies wait behind them, and the API server's reads "
        "and writes slow down with them."
    )
    return [
        finding(
            rule_id,
            src,
            f"{what} p99 is {ms(p99)} (p50 {ms(p50)}, {count} observations); etcd's guidance is under "
            f"{ms(limit)}. {consequence}",
            DISK_FIX,
            metric=metric,
            p50_seconds=p50,
            p99_seconds=p99,
            observations=count,
            limit_seconds=limit,
        )
    ]


def _quota(stats: dict[str, Any], src: str) -> list[Finding]:
    db, quota, ratio = stats["db_size_bytes"], stats["quota_bytes"], stats["db_quota_ratio"]
    if db is None or ratio is None or ratio < QUOTA_MEDIUM:
        return []
    if ratio >= 1.0:
        severity = Severity.CRITICAL
    elif ratio >= QUOTA_HIGH:
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    default = (
        " (the default: --quota-backend-bytes 0 means 2 GiB)" if not stats["quota_bytes_configured"] else ""
    )
    in_use = stats["db_in_use_bytes"]
    reclaim = ""
    if in_use is not None and in_use < db:
        reclaim = f" Only {size(in_use)} is in use: defragmenting would give back {size(db - in_use)}."
    return [
        finding(
            "ETM009",
            src,
            f"The database is {size(db)}, {ratio:.0%} of the {size(quota)} backend quota{default}. At the "
            'quota etcd raises the NOSPACE alarm ("mvcc: database space exceeded") and accepts only reads '
            f"and deletes: the API server can no longer write anything.{reclaim}",
            "Compact old revisions (the API server compacts every 5 min by default), then `etcdctl defrag` "
            "each member in turn and `etcdctl alarm disarm`; raise --quota-backend-bytes (8 GiB max "
            "suggested) if the data really grew.",
            severity=severity,
            db_size_bytes=db,
            quota_bytes=quota,
            db_quota_ratio=ratio,
        )
    ]


def verdict(findings: list[Finding]) -> str:
    """One word for the summary: ``unhealthy`` (high or critical findings), ``degraded`` (medium or
    low), ``incomplete`` (nothing wrong, but some latency could not be judged) or ``healthy``."""
    judged = [f for f in findings if f.rule != "ETM011" and f.severity > Severity.INFO]
    worst = max((f.severity for f in judged), default=None)
    if worst is not None:
        return "unhealthy" if worst >= Severity.HIGH else "degraded"
    return "incomplete" if any(f.rule == "ETM011" for f in findings) else "healthy"


VOLATILE_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}


def judge_disk(result: DiskResult) -> list[Finding]:
    src = result.directory
    p50, p99, worst = result.percentile(50), result.percentile(99), max(result.latencies)
    found: list[Finding] = []
    if p99 >= WAL_FSYNC_P99_LIMIT:
        found.append(
            finding(
                "ETM010",
                src,
                f"fdatasync after each {result.block_size}-byte write takes p99 {ms(p99)} (p50 {ms(p50)}, "
                f"max {ms(worst)}, {result.writes} writes): too slow for etcd's WAL (guidance: p99 under "
                f"{ms(WAL_FSYNC_P99_LIMIT)}). etcd on this disk acknowledges writes late, and as leader it "
                "misses heartbeats, which triggers elections.",
                "Use a local SSD/NVMe dedicated to etcd (at least for --wal-dir); avoid network volumes, "
                "burstable cloud disks and disks shared with container images or logs.",
                p50_seconds=p50,
                p99_seconds=p99,
                max_seconds=worst,
                writes=result.writes,
                limit_seconds=WAL_FSYNC_P99_LIMIT,
            )
        )
    if result.filesystem in VOLATILE_FILESYSTEMS:
        found.append(
            finding(
                "ETM012",
                src,
                f"{src} is on {result.filesystem}: fdatasync returns at once because nothing reaches a "
                "disk, so these numbers say nothing about real storage, and etcd data kept here is lost "
                "on reboot.",
                "Benchmark the directory etcd's data dir really lives on (kubeadm: /var/lib/etcd).",
                filesystem=result.filesystem,
            )
        )
    return found
