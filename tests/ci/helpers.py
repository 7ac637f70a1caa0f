"""Run the CLI as users do (a subprocess), in a directory of their choosing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import run_cli

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
spec:
  containers:
    - name: app
      image: registry.example.com/app:1.0.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
"""


def pod(name: str, guaranteed: bool = False, tagged: bool = False) -> str:
    """A Pod: BestEffort (RES001) unless ``guaranteed``; its image pinned by digest unless ``tagged``."""
    text = POD.format(name=name)
    if guaranteed:
        text = text.replace(
            "      image:", "      resources: {limits: {cpu: 100m, memory: 64Mi}}\n      image:"
        )
    if tagged:
        text = text.split("@sha256")[0] + "\n"
    return text


def premortem(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, stdin=stdin)


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    """A directory that looks like a repository root (.git), with ``files``."""
    (tmp_path / ".git").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path
