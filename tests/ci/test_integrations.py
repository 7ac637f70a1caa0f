"""The integrations, run for real: the pre-commit hook (pre-commit try-repo against a temporary git
repository), the GitHub Action's scan step, `python -m build` + `twine check`, and the built wheel
installed into a fresh virtual environment (what `pipx install` does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from .helpers import pod

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", ".", cwd=path)
    git("config", "user.email", "ci@example.com", cwd=path)
    git("config", "user.name", "ci", cwd=path)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git("add", ".", cwd=path)
    git("commit", "-q", "-m", "manifests", cwd=path)
    return path


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="pre-commit try-repo needs premortem's git checkout")
def test_pre_commit_hook_with_try_repo(tmp_path):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["premortem"]
    bad = git_repo(tmp_path / "bad", {"k8s/pod.yaml": pod("a"), "README.md": "not yaml\n"})

    def try_repo(repo: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pre-commit"), "try-repo", str(ROOT), "premortem", "--all-files"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )

    out = try_repo(bad)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "k8s/pod.yaml:" in out.stdout and "RES001" in out.stdout
    suppressed = git_repo(
        tmp_path / "suppressed",
        {
            "k8s/pod.yaml": pod("a"),
            ".premortem.yaml": "ignores:\n  - rules: [RES001]\n    paths: [k8s/]\n    reason: a throwaway debug pod\n",
        },
    )
    out = try_repo(suppressed)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "premortem" in out.stdout and "Passed" in out.stdout


def _action_scan_step() -> tuple[dict[str, object], str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} is not documented"
    assert action["runs"]["using"] == "composite"
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
    return action, step["run"]


def test_action_scan_step(tmp_path):
    action, script = _action_scan_step()
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    repo = git_repo(tmp_path / "repo", {"k8s/pod.yaml": pod("a"), "k8s/ok.yaml": pod("b", guaranteed=True)})
    output = tmp_path / "github_output"
    summary = tmp_path / "step_summary"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PM_PATHS": "k8s",
        "PM_CONFIG": defaults["config"],
        "PM_FAIL_ON": defaults["fail-on"],
        "PM_BASELINE": defaults["baseline"],
        "PM_ARGS": "--kubernetes-version 1.31",
        "PM_SARIF": defaults["sarif-file"],
        "PM_ANNOTATIONS": defaults["annotations"],
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    out = subprocess.run(
        ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "exit-code=1" in output.read_text()
    sarif = json.loads((repo / "premortem.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert "k8s/pod.yaml" in {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results
    }
    assert "::error file=k8s/pod.yaml" in out.stdout
    assert summary.read_text().startswith("### premortem:")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_build_twine_check_and_fresh_install(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(dist.glob("premortem-*.whl"))
    sdists = list(dist.glob("premortem-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    check = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", *map(str, wheels + sdists)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheels[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    version = subprocess.run(
        [str(env_dir / "bin" / "premortem"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("premortem ")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod("a"))
    scan = subprocess.run(
        [str(python), "-m", "premortem", "scan", str(manifest), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert scan.returncode == 1 and json.loads(scan.stdout)["findings"], scan.stderr
