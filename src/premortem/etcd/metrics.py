"""etcd's Prometheus metrics: parse the text exposition, keep what the verdicts need, and compute
histogram quantiles the way Prometheus' ``histogram_quantile`` does (linear interpolation inside the
bucket that holds the rank)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from premortem.redact import shorten

WAL_FSYNC = "etcd_disk_wal_fsync_duration_seconds"
BACKEND_COMMIT = "etcd_disk_backend_commit_duration_seconds"
HAS_LEADER = "etcd_server_has_leader"
IS_LEADER = "etcd_server_is_leader"
LEADER_CHANGES = "etcd_server_leader_changes_seen_total"
HEARTBEAT_FAILURES = "etcd_server_heartbeat_send_failures_total"
SLOW_APPLY = "etcd_server_slow_apply_total"
PROPOSALS_FAILED = "etcd_server_proposals_failed_total"
PROPOSALS_PENDING = "etcd_server_proposals_pending"
QUOTA_BYTES = "etcd_server_quota_backend_bytes"
DB_SIZE = "etcd_mvcc_db_total_size_in_bytes"
DB_IN_USE = "etcd_mvcc_db_total_size_in_use_in_bytes"
VERSION_INFO = "etcd_server_version"
PROCESS_START = "process_start_time_seconds"

# Families only etcd itself exports (kube-apiserver also exports etcd_request_* about its client side).
SERVER_PREFIXES = ("etcd_server_", "etcd_disk_", "etcd_mvcc_", "etcd_network_", "etcd_snap_")

# etcd's own default when --quota-backend-bytes is 0 (server/etcdserver/quota.go: DefaultQuotaBytes).
DEFAULT_QUOTA_BYTES = 2 * 1024**3


class MetricsError(Exception):
    """The input is not a readable Prometheus exposition of an etcd member."""


@dataclass
class Histogram:
    """A Prometheus histogram summed over its label sets (``sum by (le)``)."""

    name: str
    # (upper bound, cumulative count), sorted by upper bound; the last bound is +Inf when complete.
    buckets: list[tuple[float, float]]
    count: float = 0.0
    total: float = 0.0  # the _sum sample, in the histogram's unit (seconds for etcd)
    # Why no quantile can be computed although samples exist (NaN counts, no finite bucket), if so.
    problem: str | None = None

    def quantile(self, q: float) -> float | None:
        if self.problem is not None:
            return None
        return histogram_quantile(q, self.buckets)

    def quantile_bucket(self, q: float) -> tuple[float, float] | None:
        """The (lower, upper] bounds of the bucket that holds the q-quantile: all a histogram really
        knows. The interpolated ``quantile`` is a guess inside it (0.99 ms for "under 1 ms")."""
        ordered = sorted(self.buckets)
        if self.quantile(q) is None:
            return None
        rank = q * ordered[-1][1]
        for i, (bound, count) in enumerate(ordered):
            if count >= rank:
                return (ordered[i - 1][0] if i else 0.0, bound)
        return None


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of cumulative ``buckets`` [(le, count), ...], as Prometheus computes it.

    None when there is nothing to compute from (no observations, no +Inf bucket, fewer than two
    buckets). A rank that falls in the +Inf bucket returns the highest finite bound, as Prometheus
    does: the true value is only known to be above it.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    # Cumulative counts must not decrease; Prometheus repairs small inconsistencies the same way.
    bounds = [b for b, _ in ordered]
    counts: list[float] = []
    for _, c in ordered:
        counts.append(max(c, counts[-1]) if counts else c)
    observations = counts[-1]
    if observations <= 0:
        return None
    rank = q * observations
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(ordered) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start = 0.0 if b == 0 else bounds[b - 1]
    end = bounds[b]
    below = 0.0 if b == 0 else counts[b - 1]
    in_bucket = counts[b] - below
    if in_bucket <= 0:
        return end
    return start + (end - start) * ((rank - below) / in_bucket)


@dataclass
class MemberMetrics:
    """One scrape of one etcd member."""

    source: str
    histograms: dict[str, Histogram] = field(default_factory=dict)
    # Counters and gauges by sample name, summed over label sets.
    values: dict[str, float] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    scraped_at: float | None = None  # Unix time of a live scrape; None for files (time unknown)

    @property
    def uptime_seconds(self) -> float | None:
        """How long the member had been running at a live scrape (process_start_time_seconds)."""
        started = self.values.get(PROCESS_START)
        if self.scraped_at is None or not started:
            return None
        return max(0.0, self.scraped_at - started)

    def value(self, name: str) -> float | None:
        return self.values.get(name)

    @property
    def version(self) -> str | None:
        return self.labels.get(VERSION_INFO, {}).get("server_version")


def parse_metrics(text: str, source: str) -> MemberMetrics:
    """Parse a Prometheus text exposition; raise MetricsError if it is not one, or has no etcd metric."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, float] = defaultdict(float)
    sums: dict[str, float] = defaultdict(float)
    member = MemberMetrics(source=source)
    broken: dict[str, str] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name, labels, value = sample.name, sample.labels, float(sample.value)
                if name.endswith("_bucket") and "le" in labels:
                    le = float(labels["le"])
                    base = name[: -len("_bucket")]
                    if math.isnan(le) or not math.isfinite(value):
                        broken[base] = "has a bucket with a NaN bound or a NaN/infinite count"
                        continue
                    buckets[base][le] += value
                    continue
                if not math.isfinite(value):  # NaN/Inf gauges say nothing: treated as absent
                    continue
                member.values[name] = member.values.get(name, 0.0) + value
                if labels and name not in member.labels:
                    member.labels[name] = dict(labels)
                if name.endswith("_count"):
                    counts[name[: -len("_count")]] += value
                elif name.endswith("_sum"):
                    sums[name[: -len("_sum")]] += value
    except (ValueError, TypeError, IndexError) as exc:
        # The parser quotes the offending text whole (1.2 MB for one long label set): cut it short.
        raise MetricsError(f"{source}: not a Prometheus text exposition ({shorten(str(exc), 200)})") from None
    for base in {*buckets, *broken}:
        ordered = sorted(buckets.get(base, {}).items())
        problem = broken.get(base)
        if problem is None and ordered and not any(math.isfinite(le) for le, _ in ordered):
            problem = "has only the +Inf bucket, so no latency bound is known"
        member.histograms[base] = Histogram(
            name=base,
            buckets=ordered,
            count=counts.get(base, ordered[-1][1] if ordered else 0.0),
            total=sums.get(base, 0.0),
            problem=problem,
        )
    names = (*member.values, *member.histograms)
    if not any(k.startswith(SERVER_PREFIXES) for k in names):
        apiserver = any(k.startswith("apiserver_") for k in names)
        what = "kube-apiserver's metrics, not etcd's" if apiserver else "no etcd server metric in it"
        raise MetricsError(
            f"{source}: {what} (etcd_server_*, etcd_disk_*, etcd_mvcc_*); point --metrics at etcd's own "
            "/metrics: kubeadm serves it on http://127.0.0.1:2381/metrics"
        )
    return member
