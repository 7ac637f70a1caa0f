"""Replicas the simulated placement puts on one node: losing that node takes all of them at once.

The N-1 scenario (simulate.py) asks whether the displaced pods fit elsewhere afterwards; this asks
what the loss does at the moment it happens. When every replica of a workload sits on the lost
node, the workload has no running pod until the replacements are scheduled, pulled and Ready,
whether or not they fit. ``forced`` says the other nodes could never take them (taints, node
selectors, required node affinity): no scheduler choice would spread them. Otherwise the other
nodes were full when the replicas were placed, which is also what the scheduler faces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from premortem.analyses.capacity.nodes import SimNode
from premortem.analyses.capacity.pods import SimPod
from premortem.analyses.capacity.simulate import CapacityReport
from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.podspec import SCALABLE_KINDS
from premortem.rules.registry import Hit


@dataclass(frozen=True, slots=True)
class Colocated:
    node: SimNode
    workload: Document
    pods: int
    forced: bool  # no other node is eligible for these pods
    why_not_others: str  # what keeps them off the other nodes, when forced


def colocated(report: CapacityReport) -> list[Colocated]:
    """Workloads of 2+ replicas that the base placement puts on a single node."""
    by_workload: dict[int, list[tuple[SimPod, str]]] = defaultdict(list)
    for pod, node_name in report.base.placement.assignment.items():
        if not pod.daemon and pod.workload.kind in SCALABLE_KINDS:
            by_workload[pod.group].append((pod, node_name))
    nodes = {n.name: n for n in report.nodeset.nodes}
    out: list[Colocated] = []
    for placed in by_workload.values():
        names = {name for _, name in placed}
        if len(placed) < 2 or len(names) != 1:
            continue
        node = nodes[names.pop()]
        pod = placed[0][0]
        reasons = [_static_reason(pod, other) for other in nodes.values() if other.name != node.name]
        forced = bool(reasons) and all(reasons)
        why = "; ".join(sorted({r for r in reasons if r}))
        out.append(Colocated(node, pod.workload, len(placed), forced, why if forced else ""))
    out.sort(key=lambda c: (c.node.name, c.workload.file, c.workload.line))
    return out


def _static_reason(pod: SimPod, node: SimNode) -> str:
    """Why ``pod`` can never run on ``node`` whatever else runs there ('' when it can)."""
    c = pod.constraints
    taint = c.untolerated(node)
    if taint is not None:
        return f"untolerated taint {taint.display()}"
    if not c.selector_matches(node):
        return "node selector"
    if not c.affinity_matches(node):
        return "required node affinity"
    return ""


def colocated_hits(report: CapacityReport) -> Iterator[Hit]:
    for c in colocated(report):
        name = f"{c.workload.kind} {c.workload.ref.name or '<unnamed>'}"
        if c.forced:
            placement = (
                f"only node {c.node.name} can run the pods of {name} (the other nodes: {c.why_not_others}), so "
                f"all {c.pods} replicas run there"
            )
            fix = "Let the pods run on 2+ nodes: relax the node selector, affinity or tolerations, or add such nodes."
        else:
            placement = (
                f"the simulated placement puts all {c.pods} replicas of {name} on node {c.node.name}: the other "
                "nodes have no room for them when they are placed"
            )
            fix = (
                "Keep the replicas apart (topologySpreadConstraints maxSkew 1 on kubernetes.io/hostname, "
                "whenUnsatisfiable: DoNotSchedule) and add the capacity that makes it possible."
            )
        after = (
            f"and no other node may run them: {name} stays down until {c.node.name} is back"
            if c.forced
            else f"{name} has no running pod until the replacements are scheduled elsewhere and Ready"
        )
        yield Hit(
            message=(
                f"{placement}. Losing or draining {c.node.name} takes every replica at once, {after}. "
                f"Nodes: {report.source}."
            ),
            fix=fix,
            doc=c.workload,
            path=("metadata", "name"),
            severity=Severity.HIGH if c.forced else None,
            extra={
                "node": c.node.name,
                "replicas": c.pods,
                "forced": c.forced,
                "nodes_source": report.source,
            },
        )
