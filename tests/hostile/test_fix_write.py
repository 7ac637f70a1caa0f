"""`fix --write` cannot lose data: atomic replace, checked content, deliberate links, clear failures."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from premortem.fix.write import TMP_SUFFIX, write_fixed

from .helpers import ROOT, no_traceback, run

FIXABLE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.0.0
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {cpu: "1", memory: 2Gi}
"""
FIXED = FIXABLE.replace("{cpu: 250m, memory: 256Mi}", "{cpu: 250m, memory: 2Gi}")  # RES002 fixes memory only

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(TMP_SUFFIX)]


def test_write_replaces_atomically_and_keeps_mode_and_owner(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(FIXABLE)
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, 1234, 4321)
    outcome = write_fixed(str(path), FIXABLE, FIXED)
    assert outcome.written, outcome.message
    assert path.read_text() == FIXED
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (1234, 4321)
    assert leftovers(tmp_path) == []


def test_a_planted_symlink_at_the_old_temp_name_is_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path = tmp_path / "a.yaml"
    path.write_text(FIXABLE)
    (tmp_path / "a.yaml.premortem-fix.tmp").symlink_to(victim)
    assert write_fixed(str(path), FIXABLE, FIXED).written
    assert victim.read_text() == "precious"
    assert not path.is_symlink() and path.read_text() == FIXED


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(FIXABLE + "# edited by a human meanwhile\n")
    outcome = write_fixed(str(path), FIXABLE, FIXED)
    assert not outcome.written and "changed on disk" in outcome.message
    assert path.read_text().endswith("meanwhile\n")
    assert leftovers(tmp_path) == []


def test_symlinks_are_written_through_and_stay_links(tmp_path):
    target = tmp_path / "shared.yaml"
    target.write_text(FIXABLE)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert write_fixed(str(link), FIXABLE, FIXED).written
    assert link.is_symlink() and target.read_text() == FIXED


def test_dangling_and_looping_links_are_reported(tmp_path):
    dangling = tmp_path / "d.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    assert "dangling" in write_fixed(str(dangling), FIXABLE, FIXED).message
    loop = tmp_path / "l.yaml"
    loop.symlink_to(tmp_path / "l2.yaml")
    (tmp_path / "l2.yaml").symlink_to(loop)
    assert "loop" in write_fixed(str(loop), FIXABLE, FIXED).message


def test_hard_links_and_read_only_files_are_left_alone(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(FIXABLE)
    os.link(path, tmp_path / "b.yaml")
    outcome = write_fixed(str(path), FIXABLE, FIXED)
    assert not outcome.written and "hard links" in outcome.message
    assert (tmp_path / "b.yaml").read_text() == FIXABLE == path.read_text()

    ro = tmp_path / "ro.yaml"
    ro.write_text(FIXABLE)
    os.chmod(ro, 0o444)
    outcome = write_fixed(str(ro), FIXABLE, FIXED)
    assert not outcome.written and "read-only" in outcome.message
    assert ro.read_text() == FIXABLE


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs: fill it to get ENOSPC, remount it read-only to get EROFS."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@root_only
def test_full_disk_leaves_the_file_whole_and_the_other_files_written(tmp_path, small_fs):
    full = small_fs / "full.yaml"
    full.write_text(FIXABLE)
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    elsewhere = tmp_path / "ok.yaml"
    elsewhere.write_text(FIXABLE)
    proc = run("fix", "--write", str(full), str(elsewhere))
    no_traceback(proc)
    assert proc.returncode == 1
    assert full.read_text() == FIXABLE
    assert elsewhere.read_text() == FIXED
    assert "no space left" in proc.stderr and str(full) in proc.stderr
    assert leftovers(small_fs) == []


@root_only
def test_read_only_filesystem_is_a_clear_message(small_fs):
    path = small_fs / "a.yaml"
    path.write_text(FIXABLE)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    proc = run("fix", "--write", str(path))
    no_traceback(proc)
    assert proc.returncode == 1
    assert "read-only" in proc.stderr
    assert path.read_text() == FIXABLE


def test_sigkill_mid_write_never_leaves_a_partial_file(tmp_path):
    """Kill `fix --write` at random moments: every file is the original or the fixed text, whole."""
    tree = tmp_path / "tree"
    tree.mkdir()
    big = FIXABLE + "".join(f"# padding line {i} " + "x" * 100 + "\n" for i in range(3000))
    big_fixed = FIXED + big[len(FIXABLE) :]
    names = [tree / f"m{i:03d}.yaml" for i in range(40)]
    rng = random.Random(15)
    for attempt in range(6):
        for name in names:
            name.write_text(big)
        proc = subprocess.Popen(
            [sys.executable, "-m", "premortem", "fix", "--write", str(tree)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.4 + rng.random() * (1.5 + attempt * 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        states = {name.read_text() for name in names}
        assert states <= {big, big_fixed}, "a file was left half-written"
        for leftover in leftovers(tree):
            (tree / leftover).unlink()  # a SIGKILL cannot be caught: at most a hidden temp remains
    # and a run to the end fixes everything that is left
    proc2 = run("fix", "--write", str(tree))
    no_traceback(proc2)
    assert {name.read_text() for name in names} == {big_fixed}
    assert leftovers(tree) == []


def test_sigterm_mid_write_removes_the_temp_and_names_what_was_not_written(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    big = FIXABLE + "".join(f"# padding {i} " + "y" * 200 + "\n" for i in range(3000))
    for i in range(60):
        (tree / f"m{i:03d}.yaml").write_text(big)
    proc = subprocess.Popen(
        [sys.executable, "-m", "premortem", "fix", "--write", str(tree)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the first file is written, then interrupt
    deadline = time.time() + 60
    first = tree / "m000.yaml"
    while time.time() < deadline and first.read_text() == big:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    contents = [p.read_text() for p in sorted(tree.glob("*.yaml"))]
    assert all(c in (big, FIXED + big[len(FIXABLE) :]) for c in contents)
    assert leftovers(tree) == []
    if proc.returncode == 130:  # interrupted during the writes: the files not written are named
        unwritten = [p for p in sorted(tree.glob("*.yaml")) if p.read_text() == big]
        for path in unwritten:
            assert str(path) in err
