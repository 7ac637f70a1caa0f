"""YAML files read besides manifests (the config file, a --nodes inventory, Chart.yaml, kustomizations)
are bounded like manifests: an alias bomb is a clear error with its line, exit 2, never a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from premortem.load.limits import AliasingError, safe_load

POD = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: "nginx:1.27.0", resources: {limits: {cpu: "1", memory: 1Gi}}}]
"""


def bomb(key: str, leaf: str = "x") -> str:
    lines = [f"a0: &a0 [{', '.join([leaf] * 9)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join([*lines, f"{key}: *a8", ""])


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_safe_load_refuses_a_bomb_and_reads_ordinary_aliases() -> None:
    with pytest.raises(AliasingError) as caught:
        safe_load(bomb("select"))
    assert caught.value.problem_mark is not None and "excessive aliasing" in str(caught.value)
    assert safe_load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(AliasingError):
        safe_load("a: &x [*x]\n")


def test_config_file_bomb_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".premortem.yaml").write_text(bomb("select"))
    (tmp_path / "pod.yaml").write_text(POD)
    out = run("scan", ".", cwd=tmp_path)
    assert out.returncode == 2 and "excessive aliasing" in out.stderr and "Traceback" not in out.stderr
    assert ".premortem.yaml:" in out.stderr


def test_nodes_inventory_bomb_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text(bomb("nodes", "{name: n, cpu: 1, memory: 1Gi}"))
    (tmp_path / "pod.yaml").write_text(POD)
    out = run("capacity", "pod.yaml", "--nodes", "nodes.yaml", "--no-config", cwd=tmp_path)
    assert out.returncode == 2 and "excessive aliasing" in out.stderr and "Traceback" not in out.stderr
