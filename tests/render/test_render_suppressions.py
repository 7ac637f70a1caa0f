"""Suppressions written where a person edits rendered input: an annotation or a comment in a Helm
template, in a kustomize base or patch, a config ignore on a template path. Each applies to the
rendered object's findings (located at the template or origin file), and the SUP001/SUP002 findings
about them point at that file, never at the unit's rendered stream."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from render.helpers import FIXTURES, needs_helm, needs_kubectl

pytestmark = [needs_helm, needs_kubectl]


def _scan(cwd: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "premortem", "scan", *args, "--format", "json", "--config", "premortem.yaml"],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode in (0, 1), out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _keys(entries: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["object"]["name"] if f["object"] else "", f["file"]) for f in entries}


def _repo(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    shutil.copytree(FIXTURES / "shop-kustomize", tmp_path / "kust")
    (tmp_path / "premortem.yaml").write_text(
        "ignores:\n"
        "  - rules: [RES002]\n"
        '    paths: ["shop/templates/pdb.yaml"]\n'
        "    reason: nothing of the kind is there, reported as unused\n"
    )
    return tmp_path


def test_helm_template_annotation_and_object_comment_apply(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    templates = repo / "shop" / "templates"
    _edit(
        templates / "deployment.yaml",
        "metadata:\n  name: {{ .Release.Name }}-web\n",
        "metadata:\n  name: {{ .Release.Name }}-web\n  annotations:\n"
        '    ignore.premortem.dev/RES003.web: "a VPA sets the limit"\n'
        '    ignore.premortem.dev/PRB005: ""\n',
    )
    _edit(
        templates / "pdb.yaml",
        "apiVersion:",
        "# premortem: ignore PDB001 -- single-replica demo\napiVersion:",
    )
    report = _scan(repo, "shop")

    suppressed = {(f["rule"], f["object"]["name"]): f["suppression"] for f in report["suppressed"]}
    assert suppressed[("RES003", "shop-web")]["kind"] == "annotation"
    assert suppressed[("RES003", "shop-web")]["file"] == "shop/templates/deployment.yaml"
    assert suppressed[("PDB001", "shop-web")]["kind"] == "comment"
    assert suppressed[("PDB001", "shop-web")]["line"] == 1
    reported = _keys(report["findings"])
    assert not {k for k in reported if k[0] in ("RES003", "PDB001") and k[1] == "shop-web"}
    # The annotation without a reason and the unused one: at the template, with where they came from.
    sup = {f["rule"]: f for f in report["findings"] if f["rule"] in ("SUP001", "SUP002")}
    assert sup["SUP001"]["file"] == "shop/templates/deployment.yaml"
    assert sup["SUP001"]["line"] == 7
    assert sup["SUP001"]["rendered_from"]["tool"] == "helm"
    unused = [f for f in report["findings"] if f["rule"] == "SUP002"]
    assert {(f["file"], f["line"]) for f in unused} == {
        ("shop/templates/deployment.yaml", 7),  # PRB005: the container has a readiness probe
        ("premortem.yaml", 2),  # the config ignore on a template where nothing of the kind fires
    }
    assert not any("(helm template)" in str(f["file"]) for f in report["findings"])


def test_kustomize_base_comment_and_annotation_apply_to_every_build(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = repo / "kust" / "base" / "deployment.yaml"
    _edit(base, "apiVersion:", "# premortem: ignore IMG002 -- the registry keeps tags immutable\napiVersion:")
    _edit(
        base,
        "metadata:\n  name: api\n",
        'metadata:\n  name: api\n  annotations:\n    ignore.premortem.dev/RES001: "dev only, no quotas there"\n',
    )
    patch = repo / "kust" / "overlays" / "prod" / "resources.yaml"
    _edit(patch, "memory: 256Mi", "memory: 256Mi  # premortem: ignore RES002 -- measured peak is 900Mi")
    report = _scan(repo, "kust")

    suppressed = _keys(f for f in report["suppressed"])
    base_file = "kust/base/deployment.yaml"
    # The comment above the base object covers that object in both builds.
    assert ("IMG002", "dev-api", base_file) in suppressed
    assert ("IMG002", "prod-api", base_file) in suppressed
    assert ("RES001", "dev-api", base_file) in suppressed
    assert ("RES002", "prod-api", "kust/overlays/prod/resources.yaml") in suppressed
    reported = report["findings"]
    assert not [f for f in reported if f["rule"] in ("IMG002", "RES001", "RES002")]
    # The annotation matched nothing in the prod build (its patch sets resources): reported there, at
    # the base file, saying which build.
    (unused,) = [f for f in reported if f["rule"] == "SUP002"]
    assert unused["file"] == base_file
    assert unused["object"]["name"] == "prod-api"
    assert unused["message"].endswith("(in the build of kust/overlays/prod)")
    assert unused["rendered_from"]["kustomization"] == "kust/overlays/prod"
