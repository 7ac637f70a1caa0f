"""Regression tests for issue 14 on the image rules, from the real files the review judged noise."""

from __future__ import annotations

import pytest

from premortem.engine import scan
from premortem.load.document import LoadResult
from premortem.load.reader import load_text
from premortem.model.image import parse_image
from premortem.rules import all_rules


def scan_files(files: dict[str, str]):
    loaded = LoadResult()
    for name, text in files.items():
        loaded.extend(load_text(text, name))
    return scan(loaded, all_rules())


def image_rules(files: dict[str, str]):
    return [(f.rule, f.severity.label) for f in scan_files(files).findings if f.category == "images"]


def pod(image: str, kind: str = "Deployment") -> str:
    spec = f"""\
      containers:
      - name: app
        image: {image}
"""
    if kind == "Job":
        return f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n{spec}"
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n"
        f"  template:\n    metadata: {{labels: {{a: b}}}}\n    spec:\n{spec}"
    )


@pytest.mark.parametrize(
    "tag", ["master", "main", "master-head", "nightly", "edge", "stable", "dev", "stable-alpine"]
)
def test_branch_and_channel_tags_are_as_mutable_as_latest(tag):
    assert parse_image(f"registry.example.com/app:{tag}").is_floating
    [finding] = [
        f
        for f in scan_files({"d.yaml": pod(f"registry.example.com/app:{tag}")}).findings
        if f.rule == "IMG001"
    ]
    assert finding.severity.label == "high"
    assert "IfNotPresent" in finding.message and "branch or channel" in finding.message


@pytest.mark.parametrize("tag", ["1.4.2", "v2", "main-2024.01.02", "stable-1.27", "sha-3f2a1b"])
def test_version_tags_are_not_floating(tag):
    assert not parse_image(f"registry.example.com/app:{tag}").is_floating


def test_one_shot_job_with_latest_is_medium():
    assert image_rules({"j.yaml": pod("registry.example.com/batch:latest", kind="Job")}) == [
        ("IMG001", "medium")
    ]


# istio/istio manifests/charts/gateway rendered with default values (corpus helm-rendered): the
# injection webhook replaces `image: auto` with the proxy image.
def test_istio_image_auto_is_not_an_image():
    assert image_rules({"gateway.yaml": pod("auto")}) == []


# GoogleCloudPlatform/kubernetes-engine-samples networking/grpc-gke-nlb-tutorial/echo-grpc/skaffold.yaml
# and k8s/echo-deployment.yaml (trimmed): skaffold builds echo-grpc and writes its tag.
SKAFFOLD = """\
apiVersion: skaffold/v2beta26
kind: Config
metadata:
  name: echo-grpc
build:
  artifacts:
  - image: echo-grpc
    ko:
      fromImage: gcr.io/distroless/static:nonroot
  tagPolicy:
    inputDigest: {}
deploy:
  kubectl:
    manifests:
    - k8s/*.yaml
"""


def test_image_a_skaffold_configuration_builds_is_not_latest():
    files = {"echo-grpc/skaffold.yaml": SKAFFOLD, "echo-grpc/k8s/echo-deployment.yaml": pod("echo-grpc")}
    assert image_rules(files) == []
    # Outside the configuration's directory, or another image: judged as written.
    assert image_rules({**files, "other/k8s/d.yaml": pod("echo-grpc")}) == [("IMG001", "high")]
    assert image_rules({**files, "echo-grpc/k8s/echo-deployment.yaml": pod("envoy")}) == [("IMG001", "high")]


# kyverno/kyverno charts/kyverno rendered with default values (corpus helm-rendered): a Helm test hook
# pod runs once (`helm test`) and stops.
HELM_TEST_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: kyverno-cleanup-controller-liveness
  namespace: kyverno
  annotations: {helm.sh/hook: test}
spec:
  restartPolicy: Never
  containers:
  - name: test
    image: ghcr.io/kyverno/readiness-checker:latest
    imagePullPolicy: IfNotPresent
    resources: {requests: {cpu: 10m, memory: 64Mi}, limits: {memory: 64Mi}}
"""


def test_a_run_to_completion_pod_is_one_shot():
    one_shot = HELM_TEST_POD.replace("  annotations: {helm.sh/hook: test}\n", "")
    assert image_rules({"chart.yaml": one_shot}) == [("IMG001", "medium")]
    serving = one_shot.replace("  restartPolicy: Never\n", "")
    assert image_rules({"chart.yaml": serving}) == [("IMG001", "high")]
    # As a Helm test hook it runs only under `helm test`: a fact (model/delivery.py TEST_RUN).
    assert image_rules({"chart.yaml": HELM_TEST_POD}) == [("IMG001", "info")]
