"""Metrics parsing, histogram quantiles and verdicts, on hand-computed histograms and on real scrapes
(tests/etcd/data: healthy.txt and slow.txt are real etcd 3.4.23 scrapes; no-leader.txt and
near-quota.txt are healthy.txt with the values their comment lists edited)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.etcd.metrics import Histogram, MetricsError, histogram_quantile, parse_metrics

from .etcd_harness import run_json

INF = math.inf


# -- histogram_quantile, against hand computations


def test_quantile_interpolates_inside_the_bucket():
    # 4 observations in (1ms, 2ms], 4 in (2ms, 4ms]
    buckets = [(0.001, 0), (0.002, 4), (0.004, 8), (INF, 8)]
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.0015)  # rank 2 of 4 in (1, 2]
    assert histogram_quantile(0.75, buckets) == pytest.approx(0.003)  # rank 2 of 4 in (2, 4]
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.002 + 0.002 * 3.92 / 4)


def test_quantile_of_a_real_etcd_wal_histogram():
    # etcd 3.4 on ext4 here: 25 fsyncs, one between 16 and 32 ms. p99: rank 24.75, 0.75 of the way
    # through (16 ms, 32 ms] -> 28 ms. p50: rank 12.5 of the 19 in the first bucket (0, 1 ms].
    buckets = [
        (0.001, 19),
        (0.002, 20),
        (0.004, 23),
        (0.008, 24),
        (0.016, 24),
        (0.032, 25),
        (0.064, 25),
        (INF, 25),
    ]
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.028)
    assert histogram_quantile(0.50, buckets) == pytest.approx(0.001 * 12.5 / 19)


def test_quantile_bucket_is_what_the_histogram_really_knows():
    hist = Histogram(
        "h", [(0.001, 19), (0.002, 20), (0.004, 23), (0.008, 24), (0.016, 24), (0.032, 25), (INF, 25)]
    )
    assert hist.quantile_bucket(0.99) == (0.016, 0.032)
    assert hist.quantile_bucket(0.50) == (0.0, 0.001)  # "under 1 ms", not "0.66 ms"
    assert Histogram("empty", [(0.001, 0), (INF, 0)]).quantile_bucket(0.99) is None


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound():
    assert histogram_quantile(0.99, [(0.01, 90), (INF, 100)]) == 0.01


def test_quantile_first_bucket_starts_at_zero():
    assert histogram_quantile(0.5, [(0.008, 10), (INF, 10)]) == pytest.approx(0.004)


def test_quantile_buckets_in_any_order():
    assert histogram_quantile(0.5, [(INF, 10), (0.008, 10)]) == pytest.approx(0.004)


@pytest.mark.parametrize(
    "buckets",
    [
        [],
        [(INF, 5)],  # a single bucket: Prometheus returns NaN
        [(0.001, 3), (0.002, 5)],  # no +Inf bucket
        [(0.001, 0), (0.002, 0), (INF, 0)],  # no observation
    ],
)
def test_quantile_undefined(buckets):
    assert histogram_quantile(0.99, buckets) is None


def test_quantile_rejects_q_outside_0_1():
    with pytest.raises(ValueError):
        histogram_quantile(1.5, [(0.001, 1), (INF, 1)])


@st.composite
def histograms(draw):
    bounds = sorted(set(draw(st.lists(st.floats(1e-6, 100.0), min_size=1, max_size=12))))
    increments = draw(st.lists(st.integers(0, 1000), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    counts, total = [], 0
    for inc in increments:
        total += inc
        counts.append(total)
    return list(zip([*bounds, INF], counts, strict=True))


@given(histograms(), st.floats(0, 1), st.floats(0, 1))
def test_quantile_is_monotone_and_within_the_finite_bounds(buckets, q1, q2):
    lo, hi = sorted((q1, q2))
    a, b = histogram_quantile(lo, buckets), histogram_quantile(hi, buckets)
    if buckets[-1][1] == 0:
        assert a is None and b is None
        return
    assert a is not None and b is not None
    assert 0 <= a <= b + 1e-12
    assert b <= buckets[-2][0]


# -- parsing


def test_parse_sums_label_sets_and_reads_counters():
    text = """\
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{a="1",le="0.001"} 1
etcd_disk_wal_fsync_duration_seconds_bucket{a="1",le="+Inf"} 2
etcd_disk_wal_fsync_duration_seconds_sum{a="1"} 0.5
etcd_disk_wal_fsync_duration_seconds_count{a="1"} 2
etcd_disk_wal_fsync_duration_seconds_bucket{a="2",le="0.001"} 3
etcd_disk_wal_fsync_duration_seconds_bucket{a="2",le="+Inf"} 4
etcd_disk_wal_fsync_duration_seconds_sum{a="2"} 0.25
etcd_disk_wal_fsync_duration_seconds_count{a="2"} 4
# TYPE etcd_server_leader_changes_seen_total counter
etcd_server_leader_changes_seen_total 3
"""
    member = parse_metrics(text, "x")
    hist = member.histograms["etcd_disk_wal_fsync_duration_seconds"]
    assert hist.buckets == [(0.001, 4.0), (INF, 6.0)]
    assert hist.count == 6 and hist.total == pytest.approx(0.75)
    assert member.value("etcd_server_leader_changes_seen_total") == 3


@pytest.mark.parametrize("text", ["<html>nope</html>", '{"health": "true"}', "hello world\n"])
def test_parse_rejects_what_is_not_an_exposition(text):
    with pytest.raises(MetricsError, match="not a Prometheus text exposition"):
        parse_metrics(text, "x")


def test_parse_rejects_metrics_of_something_else():
    with pytest.raises(MetricsError, match="no etcd server metric"):
        parse_metrics("# TYPE up gauge\nup 1\n", "x")


def test_parse_rejects_the_api_servers_etcd_client_metrics():
    text = """\
# TYPE etcd_request_duration_seconds histogram
etcd_request_duration_seconds_bucket{operation="get",type="pods",le="0.005"} 10
etcd_request_duration_seconds_bucket{operation="get",type="pods",le="+Inf"} 10
etcd_request_duration_seconds_sum{operation="get",type="pods"} 0.01
etcd_request_duration_seconds_count{operation="get",type="pods"} 10
# TYPE apiserver_storage_objects gauge
apiserver_storage_objects{resource="pods"} 42
"""
    with pytest.raises(MetricsError, match="kube-apiserver's metrics, not etcd's"):
        parse_metrics(text, "x")


# -- verdicts on whole scrapes, through the CLI


def rules(payload: dict) -> list[str]:
    return sorted(f["rule"] for f in payload["findings"])


def test_healthy_member(data):
    code, out = run_json("etcd", "--metrics", str(data / "healthy.txt"))
    assert code == 0
    assert out["findings"] == []
    (member,) = out["summary"]["members"]
    assert out["summary"]["verdict"] == "healthy"
    assert member["wal_fsync_p99_seconds"] < 0.010
    assert member["backend_commit_p99_seconds"] < 0.025
    assert member["has_leader"] == 1 and member["version"] == "3.4.23"
    assert member["uptime_seconds"] is None  # a file does not say when it was scraped


def test_slow_member(data):
    code, out = run_json("etcd", "--metrics", str(data / "slow.txt"))
    assert code == 1
    assert rules(out) == ["ETM001", "ETM002"]
    wal = next(f for f in out["findings"] if f["rule"] == "ETM001")
    assert wal["category"] == "etcd" and wal["severity"] == "high"
    assert wal["p99_seconds"] >= 0.030  # the FUSE mount sleeps 30 ms per fsync
    assert "10.0 ms" in wal["message"] and wal["fix"]
    assert out["summary"]["verdict"] == "unhealthy"


def test_member_without_leader(data):
    code, out = run_json("etcd", "--metrics", str(data / "no-leader.txt"))
    assert code == 1
    by_rule = {f["rule"]: f for f in out["findings"]}
    assert sorted(by_rule) == ["ETM003", "ETM004", "ETM005", "ETM006", "ETM007", "ETM008"]
    assert by_rule["ETM003"]["severity"] == "critical"
    assert by_rule["ETM004"]["leader_changes"] == 7 and by_rule["ETM004"]["severity"] == "medium"
    assert by_rule["ETM006"]["severity"] == "high"  # 14 slow applies: a pattern, not a hiccup
    assert by_rule["ETM005"]["severity"] == "medium"  # 3 missed heartbeats


def test_near_quota_with_default_quota(data):
    code, out = run_json("etcd", "--metrics", str(data / "near-quota.txt"))
    (f,) = out["findings"]
    assert f["rule"] == "ETM009" and f["severity"] == "medium"
    assert f["quota_bytes"] == 2 * 1024**3  # etcd_server_quota_backend_bytes 0 means 2 GiB
    assert f["db_quota_ratio"] == pytest.approx(0.875, abs=0.001)
    assert "2 GiB" in f["message"] and "defragmenting" in f["message"]
    assert code == 0  # medium is below the default --fail-on high
    code, _ = run_json("etcd", "--metrics", str(data / "near-quota.txt"), "--fail-on", "medium")
    assert code == 1


@pytest.mark.parametrize(
    ("ratio", "severity"),
    [(0.79, None), (0.80, "medium"), (0.949, "medium"), (0.95, "high"), (1.0, "critical")],
)
def test_quota_thresholds(data, tmp_path, ratio, severity):
    gib = 8 * 1024**3
    text = (data / "healthy.txt").read_text()
    text = text.replace(
        "etcd_mvcc_db_total_size_in_bytes 131072",
        f"etcd_mvcc_db_total_size_in_bytes {math.ceil(ratio * gib)}",
    )
    text = text.replace(
        "etcd_server_quota_backend_bytes 2.147483648e+09", f"etcd_server_quota_backend_bytes {gib}"
    )
    path = tmp_path / "m.txt"
    path.write_text(text)
    _, out = run_json("etcd", "--metrics", str(path))
    assert [f["severity"] for f in out["findings"]] == ([severity] if severity else [])


def test_several_members_are_judged_each(data):
    code, out = run_json("etcd", "--metrics", str(data / "healthy.txt"), "--metrics", str(data / "slow.txt"))
    assert code == 1
    assert [m["source"] for m in out["summary"]["members"]] == [
        str(data / "healthy.txt"),
        str(data / "slow.txt"),
    ]
    assert {f["source"] for f in out["findings"]} == {str(data / "slow.txt")}


def test_metrics_without_latency_observations_are_not_judged_silently(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("etcd_server_has_leader 1\netcd_server_leader_changes_seen_total 1\n")
    code, out = run_json("etcd", "--metrics", str(path))
    assert code == 0
    assert rules(out) == ["ETM011", "ETM011"]
    assert all("not judged" in f["message"] for f in out["findings"])
    assert out["summary"]["verdict"] == "incomplete"


def test_text_output(premortem, data):
    out = premortem("etcd", "--metrics", str(data / "slow.txt"))
    assert out.returncode == 1
    assert "WAL fsync" in out.stdout and "ETM001" in out.stdout and "unhealthy" in out.stdout


def test_text_output_says_under_the_lowest_bucket(premortem, data):
    out = premortem("etcd", "--metrics", str(data / "healthy.txt"))
    assert out.returncode == 0
    assert "p99   < 1.0 ms" in out.stdout  # all 307 fsyncs fell in etcd's lowest bucket (0, 1 ms]


def test_stdin(premortem, data):
    out = premortem("etcd", "--metrics", "-", "--format", "json", stdin=(data / "healthy.txt").read_text())
    assert out.returncode == 0, out.stderr


# -- bad input: exit 2, a clear message, no traceback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to judge"),
        (("--metrics", "does/not/exist.txt"), "does/not/exist.txt: no such file"),
        (("--metrics", "127.0.0.1:2381"), "needs its scheme: http://127.0.0.1:2381"),
        (("--metrics", "tests"), "is a directory"),
        (("--metrics", "README.md"), "not a Prometheus text exposition"),
        (("--metrics", "pyproject.toml"), "not a Prometheus text exposition"),
        (("--metrics", "http://127.0.0.1:1/metrics"), "cannot connect: Connection refused"),
        (("--metrics", "http://nonexistent.invalid:2381"), "cannot connect"),
        (("--metrics", "https://127.0.0.1:1", "--cert", "no-such.crt"), "TLS file not found: no-such.crt"),
        (("--metrics", "x.txt", "--key", "k.pem"), "--key needs --cert"),
        (("--disk", "does/not/exist"), "no such directory"),
        (("--disk", "README.md"), "not a directory"),
        (("--disk", ".", "--size", "lots"), "invalid size"),
        (("--disk", ".", "--size", "100"), "smaller than one 2300-byte write"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(premortem, args, message):
    out = premortem("etcd", *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_one_bad_source_among_good_ones_still_fails(premortem, data):
    out = premortem("etcd", "--metrics", str(data / "healthy.txt"), "--metrics", "missing.txt")
    assert out.returncode == 2 and "missing.txt: no such file" in out.stderr
