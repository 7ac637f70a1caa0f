"""Regression tests for issue 14 on the disruption rules, from the real files the review judged noise."""

from __future__ import annotations

from conftest import scan_yaml

# kubernetes-sigs/metrics-server manifests/components/high-availability/pdb.yaml (policy/v1beta1), with
# the 2-replica Deployment that component runs (trimmed).
V1BETA1_PDB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: metrics-server}}
  template:
    metadata: {labels: {k8s-app: metrics-server}}
    spec:
      containers: [{name: metrics-server, image: registry.k8s.io/metrics-server/metrics-server:v0.8.0}]
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: metrics-server
  namespace: kube-system
  labels:
    k8s-app: metrics-server
spec:
  minAvailable: 1
  selector:
    matchLabels:
      k8s-app: metrics-server
"""


def rules(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


def test_v1beta1_pdb_gets_no_unhealthy_pod_eviction_policy_advice():
    assert rules(V1BETA1_PDB, "PDB002") == []
    assert len(rules(V1BETA1_PDB.replace("policy/v1beta1", "policy/v1"), "PDB002")) == 1


# prometheus-operator/kube-prometheus manifests/alertmanager-alertmanager.yaml and
# alertmanager-podDisruptionBudget.yaml (trimmed): the operator creates the pods.
ALERTMANAGER = """\
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  labels:
    app.kubernetes.io/component: alert-router
    app.kubernetes.io/instance: main
    app.kubernetes.io/name: alertmanager
  name: main
  namespace: monitoring
spec:
  image: quay.io/prometheus/alertmanager:v0.33.1
  podMetadata:
    labels:
      app.kubernetes.io/component: alert-router
      app.kubernetes.io/instance: main
      app.kubernetes.io/name: alertmanager
  replicas: 3
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: alertmanager-main, namespace: monitoring}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/component: alert-router
      app.kubernetes.io/instance: main
      app.kubernetes.io/name: alertmanager
"""


def test_pdb_of_pods_an_operator_creates_from_a_custom_resource_is_not_empty():
    assert rules(ALERTMANAGER, "PDB004") == []
    pdb_at = ALERTMANAGER.index("kind: PodDisruptionBudget")
    typo = ALERTMANAGER[:pdb_at] + ALERTMANAGER[pdb_at:].replace("name: alertmanager", "name: alertmanagr")
    assert len(rules(typo, "PDB004")) == 1
    elsewhere = ALERTMANAGER.replace("namespace: monitoring}", "namespace: other}")
    assert len(rules(elsewhere, "PDB004")) == 1
