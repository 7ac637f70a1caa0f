"""Helm charts are rendered with a real Helm 3, and findings point at templates and values files."""

from __future__ import annotations

import json
import shutil
import subprocess

from render.helpers import REL, findings, needs_helm, run, scan_json, tool

pytestmark = needs_helm
SHOP = f"{REL}/shop"


def test_chart_findings_point_at_templates_and_values():
    code, report, _ = scan_json(SHOP)
    assert code == 1  # PDB001 is high
    assert not findings(report, "INP001") and not findings(report, "INP002")
    (pdb,) = findings(report, "PDB001")
    assert pdb["file"] == f"{SHOP}/templates/pdb.yaml"
    assert pdb["line"] == 6  # minAvailable: {{ .Values.pdb.minAvailable }}
    origin = pdb["rendered_from"]
    assert origin["tool"] == "helm"
    assert origin["template"] == "shop/templates/pdb.yaml"
    assert origin["line_is_guess"] is False
    assert (origin["values_file"], origin["values_line"], origin["values_key"]) == (
        f"{SHOP}/values.yaml",
        10,
        "pdb.minAvailable",
    )


def test_last_values_file_that_sets_a_key_is_named():
    _, report, _ = scan_json(SHOP, "-f", f"{SHOP}/ci/prod-values.yaml")
    # prod-values.yaml: 3 replicas (PDB001 gone), a memory limit above the request (RES002).
    assert not findings(report, "PDB001")
    (res002,) = findings(report, "RES002")
    assert res002["file"] == f"{SHOP}/templates/deployment.yaml"
    assert res002["line"] == 28  # resources: (filled by toYaml of .Values.resources)
    origin = res002["rendered_from"]
    assert origin["line_is_guess"] is True  # requests.memory itself has no line in the template
    assert origin["values_file"] == f"{SHOP}/ci/prod-values.yaml"
    assert origin["values_line"] == 6
    assert origin["values_key"] == "resources.requests.memory"


def test_set_overrides_values_files():
    _, report, _ = scan_json(SHOP, "--set", "pdb.minAvailable=1")
    (pdb,) = findings(report, "PDB001")
    assert pdb["rendered_from"]["values_file"] == "--set"


def test_local_dependency_renders_with_its_own_values():
    _, report, _ = scan_json(SHOP)
    cache = [f for f in findings(report, "RES003") if f["object"]["kind"] == "StatefulSet"]
    assert cache, report["findings"]
    assert cache[0]["file"] == f"{SHOP}/charts/cache/templates/statefulset.yaml"
    # The parent sets cache.resources: {} (merged, not replacing): the dependency's own file decides.
    assert cache[0]["rendered_from"]["values_file"] == f"{SHOP}/charts/cache/values.yaml"


def test_objects_carry_their_template():
    _, report, _ = scan_json(SHOP, "--release-name", "web", "--namespace", "shop")
    deployment = next(o for o in report["objects"] if o["kind"] == "Deployment")
    assert deployment["name"] == "web-web"
    assert deployment["file"] == f"{SHOP}/templates/deployment.yaml"
    assert deployment["line"] == 2  # kind: Deployment
    assert deployment["rendered_from"]["chart"] == SHOP


def test_missing_dependency_gives_helms_message_and_the_command():
    code, report, _ = scan_json(f"{REL}/broken-dep")
    (problem,) = report["findings"]
    assert problem["rule"] == "INP001"
    assert (problem["file"], problem["line"]) == (f"{REL}/broken-dep/Chart.yaml", 5)  # - name: postgresql
    assert "missing in charts/ directory: postgresql" in problem["message"]
    assert f"helm dependency build {REL}/broken-dep" in problem["fix"]
    assert code == 1


def test_without_helm_one_error_per_chart_and_the_rest_is_scanned(tmp_path):
    plain = tmp_path / "pod.yaml"
    plain.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a}]\n"
    )
    out = run(
        "scan", SHOP, f"{REL}/broken-dep", str(plain), "--helm", str(tmp_path / "no-helm"), "--format", "json"
    )
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("premortem: error:")]
    assert len(errors) == 2
    assert all("helm template" in e and "install Helm" in e for e in errors)
    assert "Traceback" not in out.stderr
    assert any(f["file"] == str(plain) for f in json.loads(out.stdout)["findings"])


def test_tree_with_charts_never_reads_templates_as_yaml():
    _, report, _ = scan_json(REL)
    inputs = findings(report, "INP001") + findings(report, "INP002")
    rendered = {r["path"]: r for r in report["summary"]["rendered"]}
    assert rendered[SHOP] == {"tool": "helm", "path": SHOP, "objects": 3, "rendered": True}
    assert rendered[f"{REL}/broken-dep"]["rendered"] is False
    # The only input findings: the chart whose dependency is missing, the kustomization whose base is.
    assert sorted(f["file"] for f in inputs) == [
        f"{REL}/broken-dep/Chart.yaml",
        f"{REL}/missing-base/kustomization.yaml",
    ], inputs


def test_capacity_renders_charts_too():
    out = run("capacity", SHOP, "--nodes", "2x4cpu/16Gi", "--format", "json")
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr


def test_fix_refuses_a_chart_and_names_the_way():
    out = run("fix", SHOP)
    assert out.returncode == 2
    assert "is a Helm chart" in out.stderr and f"premortem scan {SHOP}" in out.stderr


def test_finding_in_the_second_container_lands_in_its_lines_and_values():
    for args, index in (((), 1), (("--set", "proxy.enabled=false"), 0)):
        _, report, _ = scan_json(f"{REL}/sidecars", *args)
        (res002,) = findings(report, "RES002")
        assert res002["path"] == f"/spec/template/spec/containers/{index}/resources/requests/memory"
        assert res002["line"] == 23  # the app container's resources:, not the proxy's
        assert res002["rendered_from"]["values_key"] == "app.resources.requests.memory"
        assert res002["rendered_from"]["values_line"] == 12


def test_chart_archive_named_on_the_command_line(tmp_path):
    helm = tool("helm")
    assert helm is not None
    subprocess.run([helm, "package", SHOP, "-d", str(tmp_path)], check=True, capture_output=True)
    archive = str(tmp_path / "shop-0.1.0.tgz")
    _, report, _ = scan_json(archive)
    (pdb,) = findings(report, "PDB001")
    assert (pdb["file"], pdb["line"]) == (f"{archive}:templates/pdb.yaml", 6)
    assert pdb["rendered_from"]["values_file"] == f"{archive}:values.yaml"


def test_dependency_kept_as_an_archive_is_located_inside_it(tmp_path):
    helm = tool("helm")
    assert helm is not None
    chart = tmp_path / "shop"
    shutil.copytree(SHOP, chart)
    subprocess.run(
        [helm, "package", str(chart / "charts/cache"), "-d", str(chart / "charts")],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(chart / "charts/cache")  # as `helm dependency build` leaves it: charts/cache-0.1.0.tgz
    _, report, _ = scan_json(str(chart))
    (cache,) = [f for f in findings(report, "RES003") if f["object"]["kind"] == "StatefulSet"]
    archive = f"{chart}/charts/cache-0.1.0.tgz"
    assert (cache["file"], cache["line"]) == (f"{archive}:templates/statefulset.yaml", 20)
    assert cache["rendered_from"]["values_file"] == f"{archive}:values.yaml"


def test_config_file_gives_a_chart_its_values(tmp_path):
    shutil.copytree(SHOP, tmp_path / "shop")
    (tmp_path / ".premortem.yaml").write_text(
        "render:\n  chart-values:\n    shop: [shop/ci/prod-values.yaml]\n"
    )
    out = run("scan", str(tmp_path / "shop"), "--format", "json")
    report = json.loads(out.stdout)
    (res002,) = findings(report, "RES002")  # prod-values.yaml's memory limit, as with -f
    assert res002["rendered_from"]["values_file"] == str(tmp_path / "shop/ci/prod-values.yaml")


def test_values_without_a_chart_are_not_silently_ignored():
    out = run("scan", f"{REL}/shop-kustomize/base/deployment.yaml", "-f", f"{SHOP}/values.yaml")
    assert "--values given, but no Helm chart is among the inputs" in out.stderr


def test_files_of_a_chart_named_one_by_one_render_the_chart_once():
    # What a pre-commit hook passes: the files that changed.
    _, whole, _ = scan_json(SHOP)
    _, parts, _ = scan_json(f"{SHOP}/templates/pdb.yaml", f"{SHOP}/values.yaml", f"{SHOP}/templates")
    assert not findings(parts, "INP001")
    assert [f["rule"] for f in parts["findings"]] == [f["rule"] for f in whole["findings"]]
    assert len(parts["summary"]["rendered"]) == 1
