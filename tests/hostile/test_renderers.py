"""A chart or kustomization written to hurt runs its renderer under the bounds of any input: output
capped at --max-input-bytes (a template rendering gigabytes was held in memory whole), a deadline,
and stopping it stops what it started; and it does not reach the network. The renderer is a shell
here, except for the last test (kubectl kustomize)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from premortem.render import tools
from premortem.render.tools import Tool, run
from premortem.settings import Settings, use_settings

from .helpers import no_traceback
from .helpers import run as cli

SH = Tool("/bin/sh", ("-c",))


def test_output_past_the_cap_is_stopped_not_held():
    with use_settings(Settings(max_input_bytes=1_000_000)):
        done = run(SH, ["yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])  # never ends by itself
    assert done.returncode != 0 and done.stdout == ""
    assert "more than 1,000,000 bytes" in done.stderr and "--max-input-bytes" in done.stderr


def test_output_under_the_cap_and_stderr_are_kept():
    done = run(SH, ["printf 'kind: A\\n'; printf 'warn\\n' >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, "kind: A\n", "warn\n")


def test_a_renderer_past_its_deadline_is_stopped_with_what_it_started(monkeypatch, tmp_path):
    monkeypatch.setattr(tools, "RENDER_TIMEOUT_SECONDS", 1)
    marker = tmp_path / "child.pid"
    start = time.monotonic()
    done = run(SH, [f"sleep 60 & echo $! > {marker}; sleep 60"])
    assert done.returncode == 124 and "did not finish within 1 s" in done.stderr
    assert time.monotonic() - start < 30  # the background child did not hold the pipes open
    pid = int(marker.read_text())
    time.sleep(0.2)
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (ProcessLookupError, FileNotFoundError):
        state = "gone"
    assert state in ("gone", "Z"), state  # killed with its session


def test_kustomize_does_not_reach_the_network(tmp_path):
    """Remote bases, git URLs (and the cloud metadata service) are refused at once, with a fix."""
    unit = tmp_path / "k"
    unit.mkdir()
    (unit / "kustomization.yaml").write_text(
        "resources:\n- http://192.0.2.1/latest/meta-data/x.yaml\n- git@example.invalid:org/repo.git//base\n"
    )
    out = cli("scan", str(unit), "--format", "json", "--no-config", timeout=100)
    no_traceback(out)
    # Not a broken input, an unchecked one: an error and exit 2 (like a missing Helm), no INP001.
    assert out.returncode == 2
    assert "was not scanned" in out.stderr and "renders offline" in out.stderr
    assert "no input could be read" in out.stderr and not out.stdout.strip()  # it was the only input
