"""Cluster DNS rules: replicas, autoscalers, NodeLocal DNSCache, and pods on the node's resolver."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity


def coredns(replicas: str = "replicas: 1", name: str = "coredns", namespace: str = "kube-system") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  {replicas}
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      containers: [{{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1}}]
"""


def autoscaler(params: str) -> str:
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: coredns-autoscaler, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: coredns-autoscaler}}}}
  template:
    metadata: {{labels: {{k8s-app: coredns-autoscaler}}}}
    spec:
      containers:
        - name: autoscaler
          image: registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.8.9
          command:
            - /cluster-proportional-autoscaler
            - --namespace=kube-system
            - --target=Deployment/coredns
            - '--default-params={params}'
"""


NODE_CACHE = """
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-local-dns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: node-local-dns}}
  template:
    metadata: {labels: {k8s-app: node-local-dns}}
    spec:
      containers: [{name: node-cache, image: registry.k8s.io/dns/k8s-dns-node-cache:1.23.1}]
"""


def dns001(text: str):
    return [f for f in scan_yaml(text).findings if f.rule == "DNS001"]


@pytest.mark.parametrize(
    "text",
    [
        coredns("replicas: 2"),
        coredns("replicas: 1", namespace="dns-test"),
        coredns("replicas: 1", name="kube-dns-test").replace("k8s-app: kube-dns", "app: other"),
        coredns("{}").replace("  {}\n", "")
        + autoscaler('{"linear":{"coresPerReplica":256,"preventSinglePointFailure":true}}'),
        coredns("replicas: 1") + autoscaler('{"ladder":{"coresToReplicas":[[1,2]],"min":2}}'),
    ],
    ids=["two", "other-namespace", "not-dns", "autoscaler-spf", "autoscaler-min"],
)
def test_quiet(text):
    assert dns001(text) == []


def test_default_replicas_is_one():
    [f] = dns001(coredns("{}").replace("  {}\n", ""))
    assert f.severity == Severity.HIGH and "runs 1 replica" in f.message


def test_autoscaler_without_protection_is_named():
    [f] = dns001(coredns() + autoscaler('{"linear":{"coresPerReplica":256}}'))
    assert "coredns-autoscaler" in f.message


def test_node_local_cache_lowers_it():
    [f] = dns001(coredns() + NODE_CACHE)
    assert f.severity == Severity.MEDIUM and "NodeLocal DNSCache" in f.message


def shipper(pod_extra: str, value: str = "http://loki.logging.svc.cluster.local:3100") -> str:
    return f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: shipper, namespace: logging}}
spec:
  selector: {{matchLabels: {{app: s}}}}
  template:
    metadata: {{labels: {{app: s}}}}
    spec:
{pod_extra}      containers:
        - name: s
          image: registry.example.com/s:1.0.0
          args: ["--sink={value}"]
"""


def dns002(text: str):
    return [f for f in scan_yaml(text).findings if f.rule == "DNS002"]


@pytest.mark.parametrize(
    "pod_extra",
    [
        "      hostNetwork: true\n",
        "      dnsPolicy: Default\n",
        "      hostNetwork: true\n      dnsPolicy: ClusterFirst\n",
    ],
)
def test_node_dns_with_cluster_names(pod_extra):
    [f] = dns002(shipper(pod_extra))
    assert "loki.logging.svc.cluster.local" in f.message
    assert f.path == "/spec/template/spec/containers/0/args/0"


@pytest.mark.parametrize(
    ("pod_extra", "value"),
    [
        (
            "      hostNetwork: true\n      dnsPolicy: ClusterFirstWithHostNet\n",
            "http://loki.logging.svc:3100",
        ),
        ("", "http://loki.logging.svc:3100"),
        ("      hostNetwork: true\n", "http://loki:3100"),
        ("      hostNetwork: true\n", "https://logs.example.com"),
        ("      hostNetwork: true\n", "/var/run/svc.sock"),
    ],
    ids=["with-host-net-policy", "cluster-first", "bare-name", "external", "not-a-name"],
)
def test_dns002_quiet(pod_extra, value):
    assert dns002(shipper(pod_extra, value)) == []
