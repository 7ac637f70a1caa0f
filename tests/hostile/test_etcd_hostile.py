"""etcd --metrics against hostile endpoints and data; --disk never fills a filesystem."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from premortem.etcd.disk import DiskError, benchmark
from premortem.etcd.metrics import parse_metrics
from premortem.etcd.scrape import ScrapeError, scrape
from premortem.etcd.verdict import judge_member

from .helpers import no_traceback, run


@contextmanager
def serve(talk: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection-at-a-time TCP server on loopback that runs ``talk`` on each connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    talk(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/metrics"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def drip(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    for _ in range(100):  # bounded: 20 s at most
        conn.sendall(b"#")
        time.sleep(0.2)


def test_timeout_is_a_deadline_for_the_whole_scrape():
    with serve(drip) as url:
        started = time.monotonic()
        with pytest.raises(ScrapeError, match="within 1s"):
            scrape(url, timeout=1.0)
        assert time.monotonic() - started < 5  # a per-read timeout would wait the full 20 s


def test_a_non_http_reply_is_a_clear_error():
    with (
        serve(lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")) as url,
        pytest.raises(ScrapeError, match="not an HTTP"),
    ):
        scrape(url, timeout=5)


def test_a_huge_header_line_is_refused():
    def huge(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: ")
        chunk = b"a" * 65536
        for _ in range(160):  # 10 MB
            conn.sendall(chunk)

    with serve(huge) as url, pytest.raises(ScrapeError, match="header line"):
        scrape(url, timeout=10)


def test_credentials_in_a_metrics_url_are_not_printed():
    with serve(lambda c: c.sendall(b"SSH-2.0\r\n")) as url:
        secret_url = url.replace("http://", "http://admin:hunter2XY@")
        proc = run("etcd", "--metrics", secret_url, "--timeout", "5")
    no_traceback(proc)
    assert "hunter2XY" not in proc.stdout + proc.stderr


NAN = """\
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} NaN
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 10
etcd_disk_wal_fsync_duration_seconds_sum NaN
etcd_disk_wal_fsync_duration_seconds_count NaN
# TYPE etcd_disk_backend_commit_duration_seconds histogram
etcd_disk_backend_commit_duration_seconds_bucket{le="+Inf"} 7
etcd_disk_backend_commit_duration_seconds_sum +Inf
etcd_disk_backend_commit_duration_seconds_count 7
etcd_server_has_leader NaN
etcd_mvcc_db_total_size_in_bytes +Inf
"""


def test_nan_and_inf_only_histograms_are_not_judged_not_misread(tmp_path):
    member = parse_metrics(NAN, "m.txt")
    rules = [f.rule for f in judge_member(member)]
    assert "ETM001" not in rules and "ETM002" not in rules
    assert rules.count("ETM011") == 2
    path = tmp_path / "m.txt"
    path.write_text(NAN)
    proc = run("etcd", "--metrics", str(path))
    no_traceback(proc)
    assert "nan ms" not in proc.stdout.lower()
    assert "< 1 ms" not in proc.stdout


def test_disk_benchmark_refuses_to_fill_the_filesystem(tmp_path):
    with pytest.raises(DiskError, match="free"):
        benchmark(str(tmp_path), size=10**18)
    assert list(tmp_path.iterdir()) == []


def test_a_metrics_parse_error_is_short(tmp_path):
    """The parser quoted the whole offending line: 1.2 MB of labels in one error message."""
    from premortem.etcd.metrics import MetricsError, parse_metrics

    text = "x{" + 'a="b",' * 200_000 + "} 1\n"
    with pytest.raises(MetricsError) as caught:
        parse_metrics(text, "m.txt")
    assert len(str(caught.value)) < 400 and "not a Prometheus text exposition" in str(caught.value)
