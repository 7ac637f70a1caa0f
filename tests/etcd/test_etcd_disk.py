"""premortem etcd --disk on real filesystems: tmpfs (fast for certain), the FUSE mount whose fsync
sleeps 30 ms (slow for certain), and the machine's own disk (whatever it is: only the report's
consistency is asserted, a loaded CI disk may honestly be slow)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from premortem.etcd.disk import TEMP_PREFIX, benchmark, filesystem_type

from .etcd_harness import ROOT, SlowMount, run_json, run_premortem

SMALL = "64k"  # 29 writes: enough for a p99 that is the slowest few, quick on a 30 ms disk


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_tmpfs_is_fast(memory_dir: Path):
    code, out = run_json("etcd", "--disk", str(memory_dir), "--size", "1m")
    disk = out["summary"]["disk"]
    assert disk["writes"] == 456 and disk["bytes_written"] == 1024**2  # ceil(1 MiB / 2300)
    if filesystem_type(str(memory_dir)) != "tmpfs":
        pytest.skip("no tmpfs (/dev/shm) on this machine: nothing is guaranteed fast")
    assert disk["verdict"] == "fast" and disk["fdatasync_p99_seconds"] < 0.010
    assert code == 0
    # ...and premortem says that tmpfs proves nothing about a real disk.
    assert [f["rule"] for f in out["findings"]] == ["ETM012"]
    assert leftovers(memory_dir) == []


def test_slow_mount_is_slow(slow_mount: SlowMount):
    code, out = run_json("etcd", "--disk", str(slow_mount.mountpoint), "--size", SMALL)
    assert code == 1
    disk = out["summary"]["disk"]
    assert disk["verdict"] == "slow" and disk["filesystem"].startswith("fuse")
    assert disk["fdatasync_p50_seconds"] >= 0.030  # every fdatasync sleeps 30 ms in the FUSE daemon
    (finding,) = out["findings"]
    assert finding["rule"] == "ETM010" and finding["severity"] == "high" and finding["category"] == "etcd"
    assert finding["p99_seconds"] >= 0.030
    assert leftovers(slow_mount.mountpoint) == []


def test_slow_mount_text_report(slow_mount: SlowMount):
    out = run_premortem("etcd", "--disk", str(slow_mount.mountpoint), "--size", "16k")
    assert out.returncode == 1
    assert "too slow for etcd's WAL" in out.stdout and "p99" in out.stdout


def test_the_machines_own_disk_gets_a_consistent_report(tmp_path: Path):
    code, out = run_json("etcd", "--disk", str(tmp_path), "--size", "128k")
    disk = out["summary"]["disk"]
    assert disk["writes"] == 57
    assert disk["fdatasync_p50_seconds"] <= disk["fdatasync_p99_seconds"] <= disk["fdatasync_max_seconds"]
    slow = disk["fdatasync_p99_seconds"] >= 0.010
    assert disk["verdict"] == ("slow" if slow else "fast")
    assert code == (1 if slow else 0)
    assert leftovers(tmp_path) == []


def test_benchmark_api_writes_the_requested_bytes(memory_dir: Path):
    result = benchmark(str(memory_dir), size=10 * 2300 + 1)
    assert result.writes == 11 and result.bytes_written == 10 * 2300 + 1
    assert leftovers(memory_dir) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_benchmark_removes_its_file(slow_mount: SlowMount, sig: signal.Signals):
    proc = subprocess.Popen(
        [sys.executable, "-m", "premortem", "etcd", "--disk", str(slow_mount.mountpoint)],  # 22 MiB: minutes
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not leftovers(slow_mount.mountpoint):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the benchmark never created its file"
            time.sleep(0.05)
        time.sleep(0.2)  # a few slow fdatasyncs in
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert leftovers(slow_mount.mountpoint) == []


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A directory nobody can write, root included: a read-only tmpfs (or, not as root, mode 0555)."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
    else:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
            shutil.rmtree(path, ignore_errors=True)


def test_refuses_a_directory_it_cannot_write(read_only_dir: Path):
    out = run_premortem("etcd", "--disk", str(read_only_dir), "--size", SMALL)
    assert out.returncode == 2
    assert f"{read_only_dir}: cannot create a file here" in out.stderr
    assert "Traceback" not in out.stderr
