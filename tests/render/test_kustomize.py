"""Kustomize trees are built with the installed kubectl kustomize; findings point at origin files and
patches, and a tree is scanned as its top-level kustomizations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from render.helpers import REL, findings, needs_helm, needs_kubectl, run, scan_json, tool

pytestmark = needs_kubectl
TREE = f"{REL}/shop-kustomize"


def _keys(report):
    return sorted(
        (f["rule"], f["object"]["kind"], f["object"]["name"], f["path"]) for f in report["findings"]
    )


def test_base_problem_only_for_the_overlay_that_keeps_it():
    _, report, _ = scan_json(TREE)
    res001 = findings(report, "RES001")
    # dev keeps the BestEffort base; prod patches resources in.
    assert [f["object"]["name"] for f in res001] == ["dev-api"]
    assert res001[0]["file"] == f"{TREE}/base/deployment.yaml"
    assert res001[0]["rendered_from"]["kustomization"] == f"{TREE}/overlays/dev"
    assert f"in the build of {TREE}/overlays/dev" in res001[0]["message"]
    # Neither the patch nor the component is read as a broken object, and the base is not built alone.
    assert not findings(report, "INP002") and not findings(report, "INP001")
    names = {f["object"]["name"] for f in report["findings"]}
    assert "api" not in names


def test_files_no_build_uses_are_listed_as_skipped_not_scanned():
    _, report, _ = scan_json(TREE)
    unused = f"{TREE}/overlays/prod/debug-patch.yaml"
    assert all(f["file"] != unused for f in report["findings"])
    (skipped,) = [s for s in report["summary"]["skipped"] if s["file"] == unused]
    assert "none of its builds uses it" in skipped["reason"]


def test_finding_points_at_the_patch_that_sets_the_field():
    _, report, _ = scan_json(f"{TREE}/overlays/prod")
    (res002,) = findings(report, "RES002")
    assert res002["file"] == f"{TREE}/overlays/prod/resources.yaml"
    assert res002["line"] == 14  # memory: 256Mi under requests
    origin = res002["rendered_from"]
    assert origin["origin_file"] == f"{TREE}/base/deployment.yaml"
    assert origin["patch_file"] == f"{TREE}/overlays/prod/resources.yaml"


def test_component_objects_point_at_the_component():
    _, report, _ = scan_json(f"{TREE}/overlays/prod")
    (pdb,) = findings(report, "PDB001")  # the component's JSON patch sets 1 replica
    assert pdb["file"] == f"{TREE}/components/ha/pdb.yaml"
    assert pdb["line"] == 6


def test_same_findings_as_the_kubectl_kustomize_output():
    for overlay in ("dev", "prod"):
        path = f"{TREE}/overlays/{overlay}"
        _, report, _ = scan_json(path)
        kubectl = tool("kubectl")
        assert kubectl is not None
        built = subprocess.run(
            [kubectl, "kustomize", path], capture_output=True, text=True, check=True
        ).stdout
        piped = run("scan", "-", "--format", "json", stdin=built)
        assert _keys(report) == _keys(json.loads(piped.stdout))


def test_kustomization_file_named_directly_is_its_directory():
    _, by_dir, _ = scan_json(f"{TREE}/overlays/dev")
    _, by_file, _ = scan_json(f"{TREE}/overlays/dev/kustomization.yaml")
    assert _keys(by_dir) == _keys(by_file)


def test_missing_base_is_reported_at_the_kustomization_line():
    code, report, _ = scan_json(f"{REL}/missing-base")
    (problem,) = report["findings"]
    assert problem["rule"] == "INP001"
    assert problem["file"] == f"{REL}/missing-base/kustomization.yaml"
    assert problem["line"] == 5  # - ../no-such-base
    assert "no-such-base" in problem["message"]
    assert code == 1


def test_bad_patch_is_reported_at_the_patch(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- deployment.yaml\npatches:\n- path: patch.yaml\n"
    )
    (tmp_path / "deployment.yaml").write_text((Path(TREE) / "base/deployment.yaml").read_text())
    (tmp_path / "patch.yaml").write_text("kind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: [\n")
    out = run("scan", str(tmp_path), "--format", "json")
    assert "Traceback" not in out.stderr
    (problem,) = json.loads(out.stdout)["findings"]
    assert problem["rule"] == "INP001" and problem["file"] == str(tmp_path / "patch.yaml")


def test_without_kustomize_one_error_and_exit_2(tmp_path):
    out = run("scan", f"{TREE}/overlays/dev", "--kustomize", str(tmp_path / "none"))
    assert out.returncode == 2
    assert "is a kustomization and was not scanned" in out.stderr and "kubectl kustomize" in out.stderr


@needs_helm
def test_helm_charts_inflated_by_kustomize():
    _, report, _ = scan_json(f"{REL}/with-helm")
    assert not findings(report, "INP001")
    deployment = next(o for o in report["objects"] if o["kind"] == "Deployment")
    assert deployment["rendered_from"]["tool"] == "kustomize"
    assert deployment["rendered_from"]["generated_by"] == "HelmChartInflationGenerator"
    assert (deployment["file"], deployment["line"]) == (f"{REL}/with-helm/kustomization.yaml", 4)
    assert deployment["replicas"] == 2  # valuesInline


def test_fix_leaves_kustomizations_alone():
    out = run("fix", f"{TREE}/overlays/dev")
    assert out.returncode == 2
    assert "is a kustomization" in out.stderr
