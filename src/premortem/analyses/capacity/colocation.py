"""Replicas that only one node can run: losing that node takes all of them at once.

The N-1 scenario (simulate.py, CAP002) names the workloads its *worst* node loss leaves without a
pod; this names, for every node, the workloads of 2+ replicas that the steady-state placement had
to put on it alone: no other node may run them (taints, node selectors, required node affinity) or
has room left for even one of them. Such a workload loses every replica with that node and cannot
be re-placed until it returns. Replicas that merely happen to share a node in the simulation are
not reported: the real scheduler scores spreading (PodTopologySpread's system defaults), which the
packing heuristic does not model, and would usually put them apart when another node has room.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from premortem.analyses.capacity.nodes import SimNode
from premortem.analyses.capacity.pods import SimPod
from premortem.analyses.capacity.simulate import CapacityReport, NodeUsage
from premortem.load.document import Document
from premortem.model.podspec import SCALABLE_KINDS
from premortem.rules.registry import Hit


@dataclass(frozen=True, slots=True)
class Colocated:
    node: SimNode
    workload: Document
    pods: int
    why_not_others: str  # what keeps them off every other node


def colocated(report: CapacityReport) -> list[Colocated]:
    """Workloads of 2+ replicas that the base placement puts on one node because no other can take one."""
    by_workload: dict[int, list[tuple[SimPod, str]]] = defaultdict(list)
    for pod, node_name in report.base.placement.assignment.items():
        if not pod.daemon and pod.workload.kind in SCALABLE_KINDS:
            by_workload[pod.group].append((pod, node_name))
    usage = {u.node.name: u for u in report.base.usage}
    out: list[Colocated] = []
    for placed in by_workload.values():
        names = {name for _, name in placed}
        if len(placed) < 2 or len(names) != 1:
            continue
        home = usage[names.pop()].node
        pod = placed[0][0]
        reasons = [_why_not(pod, u) for u in usage.values() if u.node.name != home.name]
        if reasons and all(reasons):
            out.append(Colocated(home, pod.workload, len(placed), "; ".join(sorted(set(reasons)))))
    out.sort(key=lambda c: (c.node.name, c.workload.file, c.workload.line))
    return out


def _why_not(pod: SimPod, usage: NodeUsage) -> str:
    """Why ``pod`` cannot go on this node in the steady state ('' when it can)."""
    node, c = usage.node, pod.constraints
    taint = c.untolerated(node)
    if taint is not None:
        return f"untolerated taint {taint.display()}"
    if not c.selector_matches(node):
        return "node selector"
    if not c.affinity_matches(node):
        return "required node affinity"
    if usage.pods >= node.pods or node.cpu - usage.cpu < pod.cpu or node.memory - usage.memory < pod.memory:
        return "no room left"
    return ""


def colocated_hits(report: CapacityReport) -> Iterator[Hit]:
    worst = report.worst_loss
    # CAP002 already names the workloads its worst node loss leaves with no pod: one cause, one finding.
    told = {id(d) for d in worst.down} if worst is not None and report.base.fits else set()
    for c in colocated(report):
        if worst is not None and c.node.name == worst.node.name and id(c.workload) in told:
            continue
        name = f"{c.workload.kind} {c.workload.ref.name or '<unnamed>'}"
        yield Hit(
            message=(
                f"only node {c.node.name} can run the pods of {name} (the other nodes: {c.why_not_others}), so all "
                f"{c.pods} replicas run there: losing or draining {c.node.name} takes every replica at once, and "
                f"{name} stays down until {c.node.name} is back. Nodes: {report.source}."
            ),
            fix=(
                "Let the pods run on 2+ nodes: relax the node selector, affinity or tolerations, or add nodes (or room) "
                "where they may run; then keep them apart with a DoNotSchedule spread on kubernetes.io/hostname."
            ),
            doc=c.workload,
            path=("metadata", "name"),
            extra={"node": c.node.name, "replicas": c.pods, "nodes_source": report.source},
        )
