"""Images rules: every container kind, registry ports, digests, pull policies, invalid references."""

from __future__ import annotations

from conftest import scan_yaml
from premortem.engine import scan
from premortem.load.reader import load_paths
from premortem.rules import all_rules

SHA = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def pod(*containers: str, init: str = "", ephemeral: str = "") -> str:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    text += "".join(f"    - {c}\n" for c in containers)
    if init:
        text += f"  initContainers:\n    - {init}\n"
    if ephemeral:
        text += f"  ephemeralContainers:\n    - {ephemeral}\n"
    return text


def image_findings(text: str, rule: str | None = None):
    found = [f for f in scan_yaml(text).findings if f.category == "images"]
    return [f for f in found if rule is None or f.rule == rule]


def test_registry_port_is_not_a_tag():
    (finding,) = image_findings(pod("{name: a, image: registry:5000/app}"))
    assert finding.rule == "IMG001"
    assert "5000 is the registry port, not a tag" in finding.message
    assert "registry:5000/app:latest" in finding.message
    assert finding.path == "/spec/containers/0/image"
    assert finding.line == 6


def test_localhost_registry_with_version_tag_is_img002_only():
    (finding,) = image_findings(pod("{name: a, image: 'localhost:5000/app:1.0'}"))
    assert finding.rule == "IMG002"
    assert finding.severity.label == "info"


def test_digest_only_and_tag_with_digest_are_clean():
    text = pod(f"{{name: a, image: 'app@{SHA}'}}", f"{{name: b, image: 'registry:5000/app:1.2@{SHA}'}}")
    assert image_findings(text) == []


def test_latest_with_digest_is_pinned():
    assert image_findings(pod(f"{{name: a, image: 'app:latest@{SHA}'}}")) == []


def test_explicit_latest_and_pull_policy_in_message():
    (always,) = image_findings(pod("{name: a, image: 'nginx:latest', imagePullPolicy: Always}"))
    assert "imagePullPolicy: Always" in always.message
    (default,) = image_findings(pod("{name: a, image: nginx}"))
    assert "defaults to Always" in default.message
    (cached,) = image_findings(pod("{name: a, image: 'nginx:latest', imagePullPolicy: IfNotPresent}"))
    assert "IfNotPresent" in cached.message and "each node keeps" in cached.message


def test_versioned_tag_with_pull_always_says_so():
    (finding,) = image_findings(pod("{name: a, image: 'nginx:1.25.3', imagePullPolicy: Always}"))
    assert finding.rule == "IMG002"
    assert "re-resolves the tag" in finding.message


def test_init_sidecar_and_ephemeral_containers_are_checked():
    text = pod(
        f"{{name: app, image: 'app:1.0@{SHA}'}}",
        init="{name: setup, image: busybox}",
        ephemeral="{name: debug, image: 'busybox:latest'}",
    )
    found = image_findings(text, "IMG001")
    assert {(f.container, f.path) for f in found} == {
        ("setup", "/spec/initContainers/0/image"),
        ("debug", "/spec/ephemeralContainers/0/image"),
    }
    assert any("init container 'setup'" in f.message for f in found)
    assert any("ephemeral container 'debug'" in f.message for f in found)
    assert {f.container: f.severity.label for f in found} == {"setup": "high", "debug": "low"}


def test_sidecar_is_named_as_such():
    text = pod(
        f"{{name: app, image: 'app@{SHA}'}}", init="{name: proxy, image: envoy, restartPolicy: Always}"
    )
    (finding,) = image_findings(text)
    assert "sidecar 'proxy'" in finding.message


def test_cronjob_job_template_images():
    text = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          initContainers: [{name: i, image: 'alpine:3.19'}]
          containers: [{name: c, image: 'registry.example.com:5000/c'}]
"""
    found = {(f.rule, f.container) for f in image_findings(text)}
    assert found == {("IMG001", "c"), ("IMG002", "i")}


def test_uppercase_registry_is_valid_but_uppercase_repository_is_not():
    assert {
        f.rule for f in image_findings(pod("{name: a, image: 'Registry.Example.com/team/api:1.4.2'}"))
    } == {"IMG002"}
    (bad,) = image_findings(pod("{name: a, image: 'registry.example.com/Team/API:1.4.2'}"))
    assert bad.rule == "IMG003" and bad.severity.label == "high"
    assert "lowercase" in bad.message and "InvalidImageName" in bad.message


def test_spaces_and_placeholders():
    (spaced,) = image_findings(pod("{name: a, image: 'nginx :1.0'}"))
    assert spaced.rule == "IMG003" and "whitespace" in spaced.message
    (padded,) = image_findings(pod("{name: a, image: ' nginx:1.0'}"))
    assert "refuses a Pod" in padded.message
    (templated,) = image_findings(pod("{name: a, image: '${IMAGE}'}"))
    assert templated.rule == "IMG003" and templated.severity.label == "low"
    assert "placeholder" in templated.message


def test_empty_image_is_refused_by_the_api_server():
    (empty,) = image_findings(pod("{name: a, image: ''}"))
    assert empty.rule == "IMG003" and "Required value" in empty.message


def test_missing_image_is_not_an_image_finding():
    assert image_findings(pod("{name: a}")) == []


def _write(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


BASE_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: manager}
spec:
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers: [{name: manager, image: 'controller:latest'}]
"""


def _scan_dir(root):
    return [f for f in scan(load_paths([str(root)]), all_rules()).findings if f.category == "images"]


def test_kustomize_overlay_digest_pins_the_base_image(tmp_path):
    _write(
        tmp_path,
        {
            "base/manager.yaml": BASE_DEPLOYMENT,
            "base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [manager.yaml]\n",
            "overlays/prod/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources: [../../base]\nimages:\n  - {{name: controller, newName: ghcr.io/acme/ctl, digest: '{SHA}'}}\n",
        },
    )
    assert _scan_dir(tmp_path) == []


def test_kustomize_new_tag_is_judged_and_named(tmp_path):
    _write(
        tmp_path,
        {
            "config/manager/manager.yaml": BASE_DEPLOYMENT,
            "config/manager/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [manager.yaml]\nimages:\n  - {name: controller, newName: ghcr.io/acme/ctl, newTag: v1.2.0}\n",
        },
    )
    (finding,) = _scan_dir(tmp_path)
    assert finding.rule == "IMG002"
    assert "rewritten to 'ghcr.io/acme/ctl:v1.2.0'" in finding.message
    assert "kustomization.yaml" in finding.message


def test_kustomize_that_keeps_latest_still_fires(tmp_path):
    _write(
        tmp_path,
        {
            "base/manager.yaml": BASE_DEPLOYMENT.replace("controller:latest", "quay.io/acme/app:v1"),
            "base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [manager.yaml]\nimages:\n  - {name: quay.io/acme/app, newTag: latest}\n",
        },
    )
    (finding,) = _scan_dir(tmp_path)
    assert finding.rule == "IMG001" and finding.path == "/spec/template/spec/containers/0/image"


def test_kustomization_elsewhere_does_not_apply(tmp_path):
    _write(
        tmp_path,
        {
            "app/manager.yaml": BASE_DEPLOYMENT,
            "other/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources: [x.yaml]\nimages:\n  - {{name: controller, digest: '{SHA}'}}\n",
        },
    )
    assert [f.rule for f in _scan_dir(tmp_path)] == ["IMG001"]
