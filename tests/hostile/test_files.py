"""Odd files: FIFOs, devices, dangling links, unreadable directories, binary and oversized input are
reported, never waited on, never read without bound, never silently skipped."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from premortem.load.files import InputError, read_stream
from premortem.load.reader import load_paths
from premortem.settings import current, use_settings

from .helpers import ROOT, no_traceback, run

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'x:1'}]}\n"


@pytest.fixture
def odd_tree(tmp_path):
    (tmp_path / "ok.yaml").write_text(POD)
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "broken.yaml").symlink_to(tmp_path / "gone.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop2.yaml")
    (tmp_path / "loop2.yaml").symlink_to(tmp_path / "loop.yaml")
    return tmp_path


@pytest.mark.parametrize("verb", [("scan",), ("fix",), ("capacity", "--nodes", "3x4cpu/16Gi")])
def test_odd_files_in_a_folder_are_reported_not_waited_on(odd_tree, verb):
    proc = run(*verb, str(odd_tree), timeout=30)
    no_traceback(proc)
    out = (proc.stdout + proc.stderr).lower()
    for name in ("fifo.yaml", "zero.yaml", "broken.yaml", "loop.yaml"):
        assert name in out, (name, out[-2000:])
    assert "fifo" in out and "character device" in out and "dangling symlink" in out and "loop" in out


def test_unreadable_directory_is_reported():
    with tempfile.TemporaryDirectory() as where:  # /tmp: reachable by the unprivileged user below
        _unreadable_directory_is_reported(Path(where))


def _unreadable_directory_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.yaml").write_text(POD)
    (tmp_path / "ok.yaml").write_text(POD)
    os.chmod(locked, 0)
    os.chmod(tmp_path, 0o755)
    command = [sys.executable, "-m", "premortem", "scan", str(tmp_path), "--fail-on", "never"]
    if os.geteuid() == 0:  # root reads every directory: run as nobody
        if shutil.which("setpriv") is None:
            pytest.skip("needs setpriv to drop root")
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        probe = subprocess.run(
            [*drop, sys.executable, "-c", "import premortem"],
            capture_output=True,
            cwd="/",
            timeout=60,
            check=False,
        )
        if probe.returncode != 0:  # e.g. a clone inside `mktemp -d` (mode 0700): nobody cannot reach it
            pytest.skip("the unprivileged user cannot import premortem from this checkout")
        command = [*drop, *command]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    os.chmod(locked, 0o755)
    assert "Traceback" not in proc.stderr
    assert "cannot list this directory (permission denied)" in proc.stdout.lower(), proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"a\x00b", "binary"), (b"kind: Pod\n\xff\xfe", "not UTF-8"), (b"\xe2\x82", "middle of a UTF-8")],
)
def test_stdin_that_is_not_text_is_a_clear_exit_2(data, why):
    proc = run("scan", "-", stdin=data)
    no_traceback(proc)
    assert proc.returncode == 2 and why in proc.stderr


def test_dev_zero_on_stdin_stops_at_the_first_chunk():
    with open("/dev/zero", "rb") as zero, pytest.raises(InputError, match="NUL byte at offset 0"):
        read_stream(zero)


def test_size_cap_applies_to_files_and_streams(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(POD + "# " + "x" * 5000 + "\n")
    small = dataclasses.replace(current(), max_input_bytes=1000)
    with use_settings(small):
        loaded = load_paths([str(path)])
        assert not loaded.documents
        assert "above the 1,000-byte cap" in loaded.problems[0].message
        with pytest.raises(InputError, match="cap"):
            read_stream(io.BytesIO(b"y" * 5000))


def test_process_substitution_is_read_as_a_stream(tmp_path):
    proc = run("scan", "/dev/stdin", "--fail-on", "never", stdin=POD)
    no_traceback(proc)
    assert proc.returncode == 0 and "Pod p" in proc.stdout


def test_jobs_above_the_cores_are_clamped_with_a_note():
    proc = run("scan", "examples", "-j", "500", "--fail-on", "never")
    assert "lowered to" in proc.stderr


@pytest.mark.parametrize("verb", [("scan",), ("fix",), ("capacity", "--nodes", "3x4cpu/16Gi")])
def test_max_input_bytes_option_in_every_verb(verb):
    proc = run(*verb, "examples/payments.yaml", "--max-input-bytes", "100")
    no_traceback(proc)
    assert proc.returncode == 2
    assert "100-byte cap" in proc.stderr
