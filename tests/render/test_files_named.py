"""Files of charts and kustomize trees named one by one, as a pre-commit hook passes them (the files
that changed, or every file with --all-files): each is checked through what the cluster receives,
once: a dependency chart's file through the chart that depends on it, a kustomize file through the
builds of its repository that use it (no base built on its own, no component built alone, no
switched-off patch scanned as if deployed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from render.helpers import FIXTURES, needs_helm, needs_kubectl


def _scan(cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "premortem", "scan", *args, "--no-config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "shop-kustomize", repo)
    (repo / ".git").mkdir()
    return repo


def _keys(report: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return sorted((f["rule"], f["object"]["name"], f["file"], f["line"]) for f in report["findings"])


@needs_kubectl
def test_every_file_of_the_tree_named_is_the_tree_scanned(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*.yaml"))
    assert "components/ha/kustomization.yaml" in files and "base/kustomization.yaml" in files
    _, whole = _scan(repo, ".")
    code, named = _scan(repo, *files)  # pre-commit run --all-files
    assert sorted(u["path"] for u in named["summary"]["rendered"]) == ["overlays/dev", "overlays/prod"]
    assert _keys(named) == [(r, n, f.removeprefix("./"), line) for r, n, f, line in _keys(whole)]
    assert not [f for f in named["findings"] if f["rule"] in ("INP001", "INP002", "PDB004")]
    (skipped,) = named["summary"]["skipped"]  # the patch overlays/prod leaves out
    assert skipped["file"] == "overlays/prod/debug-patch.yaml"
    assert "none of its builds uses it" in skipped["reason"]
    assert code == 1  # the PDB001 of the prod build's component


@needs_kubectl
def test_a_changed_base_file_is_checked_in_each_overlay_that_uses_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, report = _scan(repo, "base/deployment.yaml")
    assert sorted(u["path"] for u in report["summary"]["rendered"]) == ["overlays/dev", "overlays/prod"]
    names = {f["object"]["name"] for f in report["findings"]}
    assert names == {"dev-api", "prod-api"}  # the overlays' objects, never the bare base's "api"

    _, patch = _scan(repo, "overlays/prod/resources.yaml")
    assert [u["path"] for u in patch["summary"]["rendered"]] == ["overlays/prod"]
    assert ("RES002", "prod-api", "overlays/prod/resources.yaml", 14) in _keys(patch)

    _, component = _scan(repo, str(repo / "components/ha/kustomization.yaml"))  # absolute stays absolute
    assert [u["path"] for u in component["summary"]["rendered"]] == [str(repo / "overlays/prod")]

    off = subprocess.run(  # switched off: nothing the cluster receives, nothing to check
        [sys.executable, "-m", "premortem", "scan", "overlays/prod/debug-patch.yaml", "--no-config"],
        capture_output=True,
        text=True,
        cwd=repo,
        check=False,
    )
    assert off.returncode == 0 and "0 findings" in off.stdout  # an empty report
    assert "overlays/prod/debug-patch.yaml lies in the kustomization overlays/prod but none" in off.stderr


@needs_kubectl
def test_a_directory_named_is_still_its_own_build(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, report = _scan(repo, "base")  # as `kubectl kustomize base`
    assert [u["path"] for u in report["summary"]["rendered"]] == ["base"]
    assert {f["object"]["name"] for f in report["findings"]} == {"api"}


@needs_helm
def test_a_dependency_charts_file_renders_the_chart_that_depends_on_it_once(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "shop").rglob("*.yaml"))
    assert "shop/charts/cache/templates/statefulset.yaml" in files
    _, whole = _scan(tmp_path, "shop")
    _, named = _scan(tmp_path, *files)
    assert [u["path"] for u in named["summary"]["rendered"]] == ["shop"]
    assert _keys(named) == _keys(whole)
    _, alone = _scan(tmp_path, "shop/charts/cache")  # named as a directory: that chart, as helm does
    assert [u["path"] for u in alone["summary"]["rendered"]] == ["shop/charts/cache"]


@needs_kubectl
def test_a_directory_walked_keeps_its_plain_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "k8s").mkdir()
    shutil.copy(FIXTURES / "shop-kustomize/base/deployment.yaml", repo / "k8s/app.yaml")
    (repo / "kustomization.yaml").write_text("namespace: shop\nresources: [k8s/app.yaml]\n")
    _, walked = _scan(repo, "k8s")  # the directory asked for, read as it is
    assert walked["summary"]["rendered"] == [] and {f["file"] for f in walked["findings"]} == {"k8s/app.yaml"}
    _, named = _scan(repo, "k8s/app.yaml")  # the file, as the repository deploys it
    assert [u["path"] for u in named["summary"]["rendered"]] == ["."]
    assert {f["object"]["namespace"] for f in named["findings"]} == {"shop"}
