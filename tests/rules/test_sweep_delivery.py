"""Regression tests from the corpus sweep of the integrated rule set: objects that exist only for a
test (Helm test hooks, the files of end-to-end suites) get facts, not alarms (model/delivery.py,
premortem/fixtures.py). Each object is copied, trimmed, from the real file named above it."""

from __future__ import annotations

from conftest import scan_yaml
from premortem.load.reader import load_text
from premortem.model.delivery import API_SERVER, FIXTURE, TEST_RUN, TOOL, delivery_of

# kyverno/kyverno charts/kyverno templates/tests/cleanup-controller-liveness.yaml, rendered with
# `helm template rel charts/kyverno -n ns` (RES002, RES005 and IMG001 fired on it).
KYVERNO_HELM_TEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: rel-kyverno-cleanup-controller-liveness
  namespace: ns
  labels:
    app.kubernetes.io/component: test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: test
      image: ghcr.io/kyverno/readiness-checker:latest
      imagePullPolicy: IfNotPresent
      resources:
        limits:
          cpu: 100m
          memory: 256Mi
        requests:
          cpu: 10m
          memory: 64Mi
"""


def test_helm_test_hook_findings_are_facts():
    doc = load_text(KYVERNO_HELM_TEST, "helm-template.yaml").documents[0]
    assert delivery_of(doc).target == TEST_RUN
    assert delivery_of(doc).reaches_api_server  # `helm test` does send it
    findings = {f.rule: f for f in scan_yaml(KYVERNO_HELM_TEST).findings}
    assert {"RES002", "RES005", "IMG001"} <= findings.keys()
    assert {f.severity.label for f in findings.values()} == {"info"}
    assert findings["RES002"].message.startswith("[a Helm test hook, created only by `helm test`")
    assert findings["IMG001"].extra["severity_as_deployed"] == "medium"


def test_helm_2_test_hooks_and_mixed_hooks():
    helm2 = KYVERNO_HELM_TEST.replace("helm.sh/hook: test", "helm.sh/hook: test-success")
    assert delivery_of(load_text(helm2, "t.yaml").documents[0]).target == TEST_RUN
    # A hook that also runs at install is deployed by install: judged as such.
    mixed = KYVERNO_HELM_TEST.replace("helm.sh/hook: test", "helm.sh/hook: test,post-install")
    assert delivery_of(load_text(mixed, "t.yaml").documents[0]).target == API_SERVER
    install = KYVERNO_HELM_TEST.replace("helm.sh/hook: test", "helm.sh/hook: pre-install")
    assert delivery_of(load_text(install, "t.yaml").documents[0]).target == API_SERVER


# open-policy-agent/gatekeeper test/bats/tests/bad/bad_deployment.yaml (SCH002, RES001 fired on it):
# gatekeeper's bats end-to-end suite applies it to a kind cluster to see it rejected.
GATEKEEPER_BATS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: opa-test-deployment
  namespace: gatekeeper-test-playground
  labels:
    app: opa-test
spec:
  replicas: 2
  selector:
    matchLabels:
      app: opa-test
  template:
    metadata:
      labels:
        app: opa-test
    spec:
      containers:
      - name: opa-test
        image: openpolicyagent/opa:0.9.2
        args: ["run", "--server", "--addr=localhost:8080"]
"""


def test_end_to_end_suite_files_are_fixtures():
    path = "open-policy-agent__gatekeeper/test/bats/tests/bad/bad_deployment.yaml"
    doc = load_text(GATEKEEPER_BATS, path).documents[0]
    assert delivery_of(doc).target == FIXTURE
    findings = scan_yaml(GATEKEEPER_BATS, path).findings
    assert {"SCH002", "RES001"} <= {f.rule for f in findings}
    assert {f.severity.label for f in findings} == {"info"}
    sch002 = next(f for f in findings if f.rule == "SCH002")
    assert sch002.message.startswith("[a test suite's file (test/bats/), never deployed as written]")
    # kops' integration tests compare a program's output with these files; nodeadm's e2e cases.
    for fixture in (
        "kubernetes__kops/tests/integration/update_cluster/ha_gce/data/addon_content.yaml",
        "awslabs__amazon-eks-ami/nodeadm/test/e2e/cases/kubelet-config-dir/config.yaml",
    ):
        assert delivery_of(load_text(GATEKEEPER_BATS, fixture).documents[0]).target == FIXTURE


def test_test_words_elsewhere_do_not_make_a_fixture():
    for deployed in (
        "deploy/integration/app.yaml",  # no test/ root above it
        "test/config/chaosduck.yaml",  # a test cluster's component, but no suite directory
        "e2e/deploy.yaml",
        "latest-tests/bats.yaml",
    ):
        doc = load_text(GATEKEEPER_BATS, deployed).documents[0]
        assert delivery_of(doc).target == API_SERVER, deployed


# awslabs/amazon-eks-ami nodeadm/test/e2e/cases/kubelet-config-dir/expected-kubelet-config.json
# (trimmed): the configuration nodeadm is expected to write; KUB002 fired on it.
EXPECTED_KUBELET_CONFIG = """\
{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
 "evictionHard": {"memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%"},
 "kubeReserved": {"cpu": "70m", "memory": "574Mi"}}
"""


def test_a_tools_input_in_a_test_suite_is_a_fixture_and_still_a_tools_input():
    path = "nodeadm/test/e2e/cases/kubelet-config-dir/expected-kubelet-config.json"
    delivery = delivery_of(load_text(EXPECTED_KUBELET_CONFIG, path).documents[0])
    assert delivery.target == TOOL and delivery.fixture  # not "rejected by the API server"
    findings = scan_yaml(EXPECTED_KUBELET_CONFIG, path).findings
    assert [(f.rule, f.severity.label) for f in findings] == [("KUB002", "info")]
    assert findings[0].message.startswith("[a test suite's file (test/e2e/), never deployed as written]")
    assert findings[0].extra["severity_as_deployed"] == "low"
    assert not delivery_of(load_text(EXPECTED_KUBELET_CONFIG, "nodes/kubelet.json").documents[0]).fixture
