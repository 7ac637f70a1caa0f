"""Finding and running the renderers: Helm 3 (``helm template``) and Kustomize (``kubectl kustomize``
or ``kustomize build``).

A renderer is run as a plain subprocess with a timeout, its stdout taken as the rendered stream and
its stderr kept for the error message. Nothing here raises on a failing renderer: the caller gets a
``ToolRun`` and decides what to report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

# A renderer that takes longer than this is stopped (a template looping forever, a plugin waiting on
# the network): the unit is reported as not rendered.
RENDER_TIMEOUT_SECONDS = 120


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
    command = [tool.path, *tool.prefix, *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ToolRun(124, "", f"{tool.name} did not finish within {RENDER_TIMEOUT_SECONDS} s; stopped")
    except OSError as exc:
        raise ToolMissing(f"{tool.path}: {exc.strerror or exc}") from None
    stderr = done.stderr
    if done.returncode != 0 and not (stderr.strip() or done.stdout.strip()):
        stderr = f"{tool.path} exited with status {done.returncode} and printed nothing"
    return ToolRun(done.returncode, done.stdout, stderr)
