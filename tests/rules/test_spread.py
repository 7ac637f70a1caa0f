"""Replica spread and disruption budgets: hard vs soft constraints, replicas, HPAs, PDBs."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity


def workload(pod_extra: str = "", replicas: str = "3", kind: str = "Deployment", meta: str = "") -> str:
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: api, namespace: shop{meta}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api, tier: web}}}}
    spec:
{pod_extra}      containers:
        - name: api
          image: registry.example.com/api:1.0.0
"""


PDB = """
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: shop}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: api}}
"""


def hpa(min_replicas: int) -> str:
    return f"""
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: api, namespace: shop}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: api}}
  minReplicas: {min_replicas}
  maxReplicas: 10
"""


def found(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


ANTI_REQUIRED = """      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {matchLabels: {app: api}}
"""
ANTI_PREFERRED = """      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: api}}
"""


def spread(
    key: str = "kubernetes.io/hostname", mode: str = "DoNotSchedule", skew: int = 1, app: str = "api"
) -> str:
    return f"""      topologySpreadConstraints:
        - maxSkew: {skew}
          topologyKey: {key}
          whenUnsatisfiable: {mode}
          labelSelector: {{matchLabels: {{app: {app}}}}}
"""


@pytest.mark.parametrize(
    "pod_extra",
    [ANTI_REQUIRED, spread(), spread(key="topology.kubernetes.io/zone"), spread(skew=2)],
    ids=["anti-affinity", "spread-hostname", "spread-zone", "skew-below-replicas"],
)
def test_hard_spread_is_enough(pod_extra):
    assert found(workload(pod_extra) + PDB, "SCH001") == []


def test_host_port_keeps_pods_apart():
    text = workload().replace(
        "image: registry.example.com/api:1.0.0",
        "image: registry.example.com/api:1.0.0\n          ports: [{containerPort: 80, hostPort: 80}]",
    )
    assert found(text, "SCH001") == []


@pytest.mark.parametrize(
    ("pod_extra", "said"),
    [
        (ANTI_PREFERRED, "preferred podAntiAffinity on kubernetes.io/hostname only scores nodes"),
        (spread(mode="ScheduleAnyway"), "maxSkew 1 ScheduleAnyway only scores nodes"),
        (spread(skew=3), "maxSkew 3 DoNotSchedule still lets them share a node"),
        (spread(app="other"), "has no hard constraint"),
    ],
    ids=["preferred", "schedule-anyway", "skew-too-large", "selects-other-pods"],
)
def test_soft_or_ineffective_spread_is_reported(pod_extra, said):
    [f] = found(workload(pod_extra) + PDB, "SCH001")
    assert said in f.message
    assert "A PodDisruptionBudget covers them" in f.message
    assert f.severity == Severity.MEDIUM


def test_no_pdb_is_said_and_many_replicas_are_low():
    [f] = found(workload(replicas="8"), "SCH001")
    assert f.severity == Severity.LOW
    assert "No PodDisruptionBudget covers them" in f.message
    assert "all 8 can land on one node" in f.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (workload(replicas="1"), 0),
        (workload(replicas="'{{ .Values.replicas }}'"), 0),
        (workload() + hpa(1), 0),
        (workload(replicas="1") + hpa(2), 1),
        (
            workload(
                kind="ReplicaSet", meta=", ownerReferences: [{kind: Deployment, name: api, controller: true}]"
            ),
            0,
        ),
    ],
    ids=["one-replica", "templated", "hpa-min-1", "hpa-min-2", "owned-replicaset"],
)
def test_replica_counts(text, expected):
    assert len(found(text, "SCH001")) == expected


def test_hpa_minimum_is_named():
    [f] = found(workload(replicas="1") + hpa(2), "SCH001")
    assert "HPA minReplicas 2" in f.message


def test_sch002_statefulset_is_medium_deployment_low():
    [sts] = found(workload(kind="StatefulSet"), "SCH002")
    assert sts.severity == Severity.MEDIUM and "quorum" in sts.message
    [dep] = found(workload(), "SCH002")
    assert dep.severity == Severity.LOW
    assert "matchLabels {app: api}" in dep.fix


def test_sch002_pdb_in_another_namespace_does_not_count():
    assert found(workload() + PDB, "SCH002") == []
    assert len(found(workload() + PDB.replace("namespace: shop", "namespace: other"), "SCH002")) == 1


def test_argo_rollouts_are_replicated_workloads():
    rollout = workload().replace(
        "apiVersion: apps/v1\nkind: Deployment", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout"
    )
    [f] = found(rollout, "SCH001")
    assert "Rollout api (3 replicas)" in f.message
    assert len(found(rollout, "SCH002")) == 1
