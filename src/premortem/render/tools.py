"""Finding and running the renderers: Helm 3 (``helm template``) and Kustomize (``kubectl kustomize``
or ``kustomize build``).

A renderer is run as a plain subprocess with a timeout, its stdout taken as the rendered stream and
its stderr kept for the error message. Nothing here raises on a failing renderer: the caller gets a
``ToolRun`` and decides what to report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO

# A renderer that takes longer than this is stopped (a template looping forever, a plugin waiting on
# the network): the unit is reported as not rendered.
RENDER_TIMEOUT_SECONDS = 120


# A scan does not reach the network: a pull request that adds a remote base or a chart repository
# (or http://169.254.169.254/, the cloud metadata service) must not make CI fetch it. Renderers run
# with HTTP(S) sent to a closed local port (Go's proxy settings, which kustomize and helm follow) and
# git limited to local repositories. Requests to localhost itself are not proxied by Go.
_CLOSED = "http://127.0.0.1:9"
OFFLINE_ENV = {
    **{
        name: _CLOSED
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    },
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_ALLOW_PROTOCOL": "file",
    "GIT_SSH_COMMAND": "false",
    "GIT_TERMINAL_PROMPT": "0",
}


@dataclass(frozen=True)
class Tool:
    """A renderer binary and the arguments that precede the unit's own (``kustomize`` for kubectl)."""

    path: str
    prefix: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str


class ToolMissing(Exception):
    """The renderer a unit needs is not installed (or the path given for it is not executable)."""


def _which(name: str) -> str | None:
    """``name`` on PATH, else next to this Python (a virtualenv's bin/, where ``make test`` puts helm)."""
    found = shutil.which(name)
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else None


def _explicit(path: str, option: str) -> str:
    resolved = shutil.which(path) if os.sep not in path else path
    if not resolved or not os.access(resolved, os.X_OK) or os.path.isdir(resolved):
        raise ToolMissing(f"{option} {path}: not an executable file")
    return resolved


def find_helm(explicit: str | None) -> Tool:
    if explicit:
        return Tool(_explicit(explicit, "--helm"))
    found = _which("helm")
    if found is None:
        raise ToolMissing("helm was not found on PATH")
    return Tool(found)


def find_kustomize(explicit: str | None) -> Tool:
    """``--kustomize PATH`` (kubectl or kustomize, told apart by name), else ``kustomize`` when
    installed, else ``kubectl kustomize``."""
    if explicit:
        path = _explicit(explicit, "--kustomize")
        return Tool(path, ("kustomize",) if "kubectl" in os.path.basename(path) else ("build",))
    found = _which("kustomize")
    if found:
        return Tool(found, ("build",))
    found = _which("kubectl")
    if found:
        return Tool(found, ("kustomize",))
    raise ToolMissing("neither kustomize nor kubectl was found on PATH")


def run(tool: Tool, args: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> ToolRun:
    """Run the renderer under the bounds of any input: its output is read up to --max-input-bytes (a
    template that renders gigabytes is stopped there, not held in memory) and it has
    RENDER_TIMEOUT_SECONDS. It runs in its own session, so stopping it stops its children too
    (plugins, post-renderers) and nothing is left holding the pipes."""
    from premortem.load.files import max_input_bytes

    limit = max_input_bytes()
    command = [tool.path, *tool.prefix, *args]
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolMissing(f"{tool.path}: {exc.strerror or exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    outputs: dict[str, bytes] = {}
    too_much: list[bool] = []

    def drain(name: str, stream: IO[bytes]) -> None:
        chunks: list[bytes] = []
        total = 0
        while chunk := stream.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                too_much.append(True)
                _stop(proc)
                break
            chunks.append(chunk)
        outputs[name] = b"".join(chunks)

    readers = [
        threading.Thread(target=drain, args=("stdout", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("stderr", proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        returncode = proc.wait(timeout=RENDER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        _stop(proc)
        proc.wait()
        return ToolRun(124, "", f"{tool.name} did not finish within {RENDER_TIMEOUT_SECONDS} s; stopped")
    finally:
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    if too_much:
        return ToolRun(
            125,
            "",
            f"{tool.name} wrote more than {limit:,} bytes, above the cap on one input (--max-input-bytes); "
            "stopped, and nothing it rendered was checked",
        )
    text = {name: data.decode("utf-8", "replace") for name, data in outputs.items()}
    stdout, stderr = text.get("stdout", ""), text.get("stderr", "")
    if returncode != 0 and not (stderr.strip() or stdout.strip()):
        stderr = f"{tool.path} exited with status {returncode} and printed nothing"
    return ToolRun(returncode, stdout, stderr)


_CHUNK = 1024 * 1024


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the renderer and everything it started (its session's process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
