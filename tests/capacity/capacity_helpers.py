"""Builders for the capacity tests: Node objects and workloads as YAML, and the report of a text."""

from __future__ import annotations

from premortem.analyses.capacity.rules import report_for
from premortem.analyses.capacity.simulate import CapacityReport
from premortem.load.reader import load_text
from premortem.model.index import ObjectIndex


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: int = 110,
    labels: str = "{}",
    taints: str = "[]",
) -> str:
    return f"""
apiVersion: v1
kind: Node
metadata: {{name: {name}, labels: {labels}}}
spec: {{taints: {taints}}}
status:
  allocatable: {{cpu: "{cpu}", memory: "{memory}", pods: "{pods}"}}
"""


def deployment(
    name: str,
    replicas: int = 1,
    requests: str = "{cpu: 100m, memory: 1Gi}",
    limits: str = "{}",
    spec_extra: str = "",
    kind: str = "Deployment",
    ns: str = "default",
    containers: str | None = None,
) -> str:
    api = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1"}[kind]
    replicas_line = f"\n  replicas: {replicas}" if kind != "DaemonSet" else ""
    if containers is None:
        containers = f"""
        - name: main
          image: registry.example.com/{name}:1.0.0
          resources: {{requests: {requests}, limits: {limits}}}"""
    return f"""
apiVersion: {api}
kind: {kind}
metadata: {{name: {name}, namespace: {ns}}}
spec:{replicas_line}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{spec_extra}
      containers:{containers}
"""


def anti_affinity(app: str) -> str:
    return f"""
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {{matchLabels: {{app: {app}}}}}"""


def index_of(*docs: str) -> ObjectIndex:
    return ObjectIndex.build(load_text("---".join(docs), "t.yaml").documents)


def report(*docs: str, nodes: str | None = None) -> CapacityReport:
    result = report_for(index_of(*docs), nodes)
    assert result is not None, "no nodes known"
    return result
