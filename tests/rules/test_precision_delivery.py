"""Regression tests for issue 14: documents that never reach the API server as written
(model/delivery.py), drawn from the real files where the review saw false alarms."""

from __future__ import annotations

from conftest import rule_ids, scan_yaml
from premortem.load.reader import load_text
from premortem.model.delivery import API_SERVER, FIXTURE, FRAGMENT, KUBELET, TOOL, delivery_of

# istio/istio samples/security/spire/istio-spire-config.yaml (read by `istioctl install -f`)
ISTIO_OPERATOR = """\
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  namespace: istio-system
spec:
  profile: default
  meshConfig:
    trustDomain: example.org
"""

# kubernetes/kops tests/integration/update_cluster/additionalobjects/data/
#   aws_s3_object_manifests-static-kube-apiserver-healthcheck_content.yaml
# kops copies this container into the kube-apiserver static pod, which has hostNetwork: true.
KOPS_HEALTHCHECK = """\
apiVersion: v1
kind: Pod
metadata: {}
spec:
  containers:
  - args: [--ca-cert=/secrets/ca.crt]
    image: registry.k8s.io/kops/kube-apiserver-healthcheck:1.34.0-beta.1
    livenessProbe:
      httpGet:
        host: 127.0.0.1
        path: /.kube-apiserver-healthcheck/healthz
        port: 3990
      initialDelaySeconds: 5
      timeoutSeconds: 5
    name: healthcheck
    resources: {}
status: {}
"""

# cilium/cilium-cli connectivity/builder/manifests/local-redirect-policy.yaml (vendored copy)
CILIUM_TEMPLATE = """\
apiVersion: cilium.io/v2
kind: CiliumLocalRedirectPolicy
metadata:
  name:  # set by WithCiliumLocalRedirectPolicy()
spec:
  redirectBackend:
    localEndpointSelector:
      matchLabels: {lrp: backend}
"""


def delivery(text: str):
    return delivery_of(load_text(text, "x.yaml").documents[0])


def test_istio_operator_is_an_istioctl_input_and_needs_no_name():
    assert delivery(ISTIO_OPERATOR).target == TOOL
    assert "INP002" not in rule_ids(scan_yaml(ISTIO_OPERATOR))


def test_kops_fragment_is_neither_rejected_nor_probed_as_a_pod():
    assert delivery(KOPS_HEALTHCHECK).target == FRAGMENT
    ids = rule_ids(scan_yaml(KOPS_HEALTHCHECK))
    assert "INP002" not in ids and "PRB007" not in ids


def test_name_left_for_a_program_to_fill_is_a_fragment():
    assert delivery(CILIUM_TEMPLATE).target == FRAGMENT
    assert "INP002" not in rule_ids(scan_yaml(CILIUM_TEMPLATE))


def test_a_pod_that_reaches_the_api_server_without_a_name_is_still_reported():
    text = KOPS_HEALTHCHECK.replace("metadata: {}", "metadata: {labels: {app: x}}")
    assert delivery(text).target == API_SERVER
    findings = [f for f in scan_yaml(text).findings if f.rule in ("INP002", "PRB007")]
    assert sorted(f.rule for f in findings) == ["INP002", "PRB007"]
    assert "the API server will reject it" in next(f for f in findings if f.rule == "INP002").message


def test_a_static_pod_without_a_name_is_refused_by_the_kubelet():
    text = KOPS_HEALTHCHECK.replace("metadata: {}", "metadata: {labels: {tier: control-plane}}")
    assert delivery(text).target == KUBELET
    [finding] = [f for f in scan_yaml(text).findings if f.rule == "INP002"]
    assert "the kubelet will reject it" in finding.message


def test_component_configs_and_tool_configs_are_tool_inputs():
    kubelet = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
    kind = "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: [{role: control-plane}]\n"
    istio_crd = "apiVersion: config.istio.io/v1alpha2\nkind: handler\nmetadata: {name: h}\n"
    assert delivery(kubelet).target == TOOL
    assert delivery(kind).target == TOOL
    assert delivery(istio_crd).target == API_SERVER


# kyverno/policies pod-security/baseline/disallow-host-ports/.kyverno-test/resource.yaml (trimmed)
KYVERNO_FIXTURE = """\
apiVersion: v1
kind: Pod
metadata:
  name: badpod01
spec:
  containers:
  - name: container01
    image: dummyimagename
    ports:
    - containerPort: 80
      hostPort: 1000
"""


def test_policy_test_fixtures_get_facts_not_alarms():
    from premortem.engine import scan
    from premortem.rules import all_rules

    path = "kyverno__policies/pod-security/baseline/disallow-host-ports/.kyverno-test/resource.yaml"
    loaded = load_text(KYVERNO_FIXTURE, path)
    assert delivery_of(loaded.documents[0]).target == FIXTURE
    findings = scan(loaded, all_rules()).findings
    assert findings and {f.severity.label for f in findings} == {"info"}
    img001 = next(f for f in findings if f.rule == "IMG001")
    assert img001.message.startswith("[a kyverno CLI test input, never deployed as written]")
    assert img001.extra["severity_as_deployed"] == "high"
    # kubescape/regolibrary rules/<rule>/test/<case>/input/*.yaml
    rego = "regolibrary/rules/etcd-tls-enabled/test/rke2-args-fail/input/1.yaml"
    assert delivery_of(load_text(KYVERNO_FIXTURE, rego).documents[0]).target == FIXTURE
    # The same object anywhere else is judged as deployed.
    assert delivery_of(load_text(KYVERNO_FIXTURE, "deploy/pod.yaml").documents[0]).target == API_SERVER


def test_go_testdata_is_a_fixture():
    # GoogleCloudPlatform/kubernetes-engine-samples cost-optimization/gke-shift-left-cost/api/testdata/hpa/
    path = "gke-shift-left-cost/api/testdata/hpa/hpa-v2beta2.yaml"
    assert delivery_of(load_text(KYVERNO_FIXTURE, path).documents[0]).target == FIXTURE
