"""Suppressions with reasons (annotations, comments, config), SUP001/SUP002, the baseline."""

from __future__ import annotations

import json
import shutil

from premortem.findings import Finding, ObjectRef, Severity
from premortem.triage.fingerprint import fingerprint

from .helpers import POD, pod, premortem, repo


def scan_json(root, *args):
    out = premortem("scan", ".", "--format", "json", *args, cwd=root)
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def annotated(name: str, annotations: str, where: str = "metadata") -> str:
    text = POD.format(name=name)
    return text.replace("  namespace: shop\n", f"  namespace: shop\n  annotations:\n{annotations}")


def test_annotation_with_reason_suppresses_and_keeps_the_reason(tmp_path):
    root = repo(
        tmp_path,
        {"a.yaml": annotated("a", '    ignore.premortem.dev/RES001: "batch pod, eviction only delays it"\n')},
    )
    code, data = scan_json(root)
    assert code == 0
    assert "RES001" not in {f["rule"] for f in data["findings"]}
    (suppressed,) = data["suppressed"]
    assert suppressed["rule"] == "RES001"
    assert suppressed["suppression"]["reason"] == "batch pod, eviction only delays it"
    assert suppressed["suppression"]["kind"] == "annotation"
    assert suppressed["suppression"]["line"] == 7
    assert data["summary"]["suppressed"] == 1


def test_annotation_by_rule_name_on_the_pod_template_limited_to_a_container(tmp_path):
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        ignore.premortem.dev/no-memory-limit.sidecar: "log shipper, bounded by its buffer"
    spec:
      containers:
        - name: app
          image: r.example.com/app:1@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
          resources: {requests: {cpu: 100m, memory: 64Mi}}
        - name: sidecar
          image: r.example.com/log:1@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
          resources: {requests: {cpu: 100m, memory: 64Mi}}
"""
    root = repo(tmp_path, {"d.yaml": deployment})
    _, data = scan_json(root, "--select", "RES003")
    assert [f["container"] for f in data["findings"]] == ["app"]
    assert [f["container"] for f in data["suppressed"]] == ["sidecar"]


def test_comment_on_the_line_and_above_the_object(tmp_path):
    text = (
        "# premortem: ignore RES001 -- one-off debug pod, deleted after use\n"
        + POD.format(name="a")
        + "---\n"
        + pod("b", tagged=True).replace(
            ":1.0.0\n", ":1.0.0  # premortem: ignore IMG002 -- internal mirror, tags immutable\n"
        )
    )
    root = repo(tmp_path, {"a.yaml": text})
    _, data = scan_json(root)
    reported = {(f["rule"], f["object"]["name"]) for f in data["findings"]}
    suppressed = {(f["rule"], f["object"]["name"]) for f in data["suppressed"]}
    assert ("RES001", "a") in suppressed and ("RES001", "b") in reported
    assert ("IMG002", "b") in suppressed
    assert "SUP002" not in {f["rule"] for f in data["findings"]}


def test_reasonless_suppression_still_applies_and_is_reported(tmp_path):
    root = repo(tmp_path, {"a.yaml": "# premortem: ignore RES001\n" + POD.format(name="a")})
    _, data = scan_json(root)
    rules = [f["rule"] for f in data["findings"]]
    assert "RES001" not in rules and "SUP001" in rules
    sup = next(f for f in data["findings"] if f["rule"] == "SUP001")
    assert sup["line"] == 1 and sup["severity"] == "low"


def test_unused_suppression_is_reported_unless_its_rule_did_not_run(tmp_path):
    root = repo(
        tmp_path,
        {
            "a.yaml": annotated("a", '    ignore.premortem.dev/RES001: "was BestEffort"\n').replace(
                "      image:", "      resources: {limits: {cpu: 100m, memory: 64Mi}}\n      image:"
            )
        },
    )
    _, data = scan_json(root)
    assert "SUP002" in {f["rule"] for f in data["findings"]}
    _, narrowed = scan_json(root, "--select", "images,input")
    assert "SUP002" not in {f["rule"] for f in narrowed["findings"]}
    misspelt = repo(tmp_path / "m", {"a.yaml": annotated("a", '    ignore.premortem.dev/RES999: "typo"\n')})
    _, data = scan_json(misspelt)
    sup = next(f for f in data["findings"] if f["rule"] == "SUP002")
    assert "RES999" in sup["message"]


def test_config_ignores_by_path_and_object(tmp_path):
    config = """\
ignores:
  - rules: [RES001]
    paths: ["jobs/**"]
    reason: batch jobs are retried by their controller
  - rules: [resources]
    objects: ["Pod shop/legacy-*"]
    reason: legacy pods are being retired this quarter
  - rules: [PRB005]
    objects: ["Pod shop/a"]
    reason: stale entry
"""
    root = repo(
        tmp_path,
        {
            ".premortem.yaml": config,
            "jobs/a.yaml": POD.format(name="a"),
            "apps/b.yaml": POD.format(name="legacy-b"),
        },
    )
    _, data = scan_json(root)
    reported = {(f["rule"], f["object"]["name"]) for f in data["findings"] if f["object"]}
    suppressed = {(f["rule"], f["object"]["name"]): f["suppression"] for f in data["suppressed"]}
    assert ("RES001", "a") in suppressed and ("RES001", "legacy-b") in suppressed
    assert suppressed[("RES001", "legacy-b")]["line"] == 5 and not any(r == "RES001" for r, _ in reported)
    assert suppressed[("RES001", "a")]["kind"] == "config"
    assert suppressed[("RES001", "a")]["file"].endswith(".premortem.yaml")
    unused = [f for f in data["findings"] if f["rule"] == "SUP002"]
    assert len(unused) == 1 and unused[0]["file"].endswith(".premortem.yaml") and unused[0]["line"] == 8


def test_severity_override_and_min_severity(tmp_path):
    root = repo(
        tmp_path,
        {".premortem.yaml": "severity:\n  best-effort-pod: medium\n", "a.yaml": pod("a", tagged=True)},
    )
    code, data = scan_json(root)
    assert code == 0  # RES001 is medium now: below the default fail-on (high)
    assert next(f for f in data["findings"] if f["rule"] == "RES001")["severity"] == "medium"
    _, data = scan_json(root, "--min-severity", "medium")
    assert {f["rule"] for f in data["findings"]} == {"RES001"}
    assert data["summary"]["hidden"] >= 1


def _finding(line: int, file: str) -> Finding:
    return Finding(
        "RES003",
        "resources",
        Severity.MEDIUM,
        "m",
        "f",
        ObjectRef("apps/v1", "Deployment", "shop", "web"),
        "app",
        file,
        line,
        "/spec/template/spec/containers/0/resources",
    )


def test_fingerprint_ignores_lines_files_and_api_version():
    base = fingerprint(_finding(10, "a.yaml"))
    assert fingerprint(_finding(99, "renamed/b.yaml")) == base
    other = _finding(10, "a.yaml")
    other.object = ObjectRef("apps/v1beta2", "Deployment", "shop", "web")
    assert fingerprint(other) == base
    other.container = "sidecar"
    assert fingerprint(other) != base


def test_baseline_survives_inserted_lines_and_renames(tmp_path):
    root = repo(tmp_path, {"k8s/a.yaml": pod("a"), "k8s/b.yaml": pod("b", guaranteed=True)})
    written = premortem("scan", "k8s", "--write-baseline", "baseline.json", cwd=root)
    assert written.returncode == 0, written.stderr
    assert "recorded" in written.stderr
    # edit: lines inserted above the findings, a file renamed, one new risky object
    text = (root / "k8s" / "a.yaml").read_text()
    (root / "k8s" / "a.yaml").unlink()
    (root / "k8s" / "moved").mkdir()
    (root / "k8s" / "moved" / "renamed.yaml").write_text("# a comment\n# another\n" + text)
    (root / "k8s" / "new.yaml").write_text(POD.format(name="new"))
    out = premortem("scan", "k8s", "--baseline", "baseline.json", "--format", "json", cwd=root)
    data = json.loads(out.stdout)
    assert {f["object"]["name"] for f in data["findings"]} == {"new"}
    recorded = int(written.stderr.split("recorded ")[1].split()[0])
    assert recorded >= 1 and data["summary"]["baselined"] == recorded
    assert out.returncode == 1
    # the baseline from the config file, relative to it
    (root / ".premortem.yaml").write_text("baseline: baseline.json\n")
    shutil.move(str(root / "k8s" / "new.yaml"), str(tmp_path / "new.yaml"))
    assert premortem("scan", "k8s", cwd=root).returncode == 0


def test_bad_baseline_is_a_usage_error(tmp_path):
    root = repo(tmp_path, {"a.yaml": POD.format(name="a"), "b.json": "{}"})
    out = premortem("scan", "a.yaml", "--baseline", "b.json", cwd=root)
    assert out.returncode == 2 and "not a premortem baseline" in out.stderr and "Traceback" not in out.stderr


def test_suppression_of_a_folded_in_rule_is_not_unused(tmp_path):
    etcd = """\
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  annotations:
    ignore.premortem.dev/ETC002: "lab cluster, etcd restarts are fine"
spec:
  containers:
    - name: etcd
      image: registry.k8s.io/etcd:3.5.9-0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      command: [etcd, --data-dir=/var/lib/etcd]
"""
    root = repo(tmp_path, {"etcd.yaml": etcd})
    _, data = scan_json(root)
    folded = [a["rule"] for f in data["findings"] for a in f.get("absorbed", [])]
    assert "ETC002" in folded  # RES001 carries ETC002 on a BestEffort etcd pod (rootcause.py)
    assert "SUP002" not in {f["rule"] for f in data["findings"]}


def test_a_missing_baseline_says_how_to_record_it(tmp_path):
    # The README's config example names a baseline: a new user meets this before writing one.
    config = "baseline: .premortem-baseline.json\n"
    root = repo(tmp_path, {"a.yaml": POD.format(name="a"), ".premortem.yaml": config})
    out = premortem("scan", "a.yaml", cwd=root)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no such file (record one first: premortem scan PATHS --write-baseline" in out.stderr
    assert (
        premortem("scan", "a.yaml", "--write-baseline", ".premortem-baseline.json", cwd=root).returncode == 0
    )
    assert premortem("scan", "a.yaml", cwd=root).returncode == 0
