"""The capacity analysis: steady state, losing each node, draining each node, memory overcommit,
and the headroom numbers a capacity planner asks for.

Scenarios:
- *base*: every workload at its declared replicas, HPA targets at ``minReplicas``;
- *peak* (only when an HPA is read): HPA targets at ``maxReplicas``;
- *N-1* (on the base placement): for each node, its pods (DaemonSet pods excepted: they die with the
  node) must be re-placed on the others, which keep their pods where they are; the scheduler does not
  move running pods to make room;
- *drain* (on the base placement): ``kubectl drain`` evicts through the Eviction API, so a pod whose
  PodDisruptionBudget allows no disruption, or that two budgets select, blocks it; so do evicted pods
  that cannot be re-placed once they use up their budget's allowed disruptions;
- *overcommit*: per node and cluster-wide, the sum of memory limits (the request where a container has
  no limit) against allocatable memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from premortem.analyses.capacity.nodes import (
    HOSTNAME_LABEL,
    UNSCHEDULABLE_TAINT,
    NodeSet,
    SimNode,
    nodes_from_index,
    nodes_from_option,
)
from premortem.analyses.capacity.placement import NodeLosses, Placement, place
from premortem.analyses.capacity.pods import SimPod, Workload, expand, workloads_of
from premortem.load.document import Document
from premortem.model.index import ObjectIndex

OVERCOMMIT_THRESHOLD = 1.5
MAX_EXTRA_NODES = 10


@dataclass(slots=True)
class NodeUsage:
    node: SimNode
    cpu: int = 0  # requested millicores
    memory: int = 0  # requested bytes
    pods: int = 0
    memory_limits: int = 0  # summed limits; a pod without a memory limit counts its request
    cpu_limits: int = 0
    unbounded: int = 0  # pods without a memory limit (can use the whole node)

    @property
    def memory_ratio(self) -> float:
        return self.memory_limits / self.node.memory if self.node.memory else 0.0


@dataclass(slots=True)
class Scenario:
    name: str  # "base" or "peak"
    title: str
    pods: list[SimPod]
    placement: Placement
    usage: list[NodeUsage]

    @property
    def fits(self) -> bool:
        return self.placement.fits


@dataclass(slots=True)
class NodeLoss:
    node: SimNode
    displaced: list[SimPod]
    placement: Placement | None  # None when nothing had to move
    down: list[Document] = field(default_factory=list)  # workloads left with no running pod

    @property
    def fits(self) -> bool:
        return self.placement is None or self.placement.fits

    @property
    def pending(self) -> list[tuple[SimPod, str]]:
        return self.placement.unplaced if self.placement else []


@dataclass(slots=True)
class Blocker:
    pods: list[SimPod]
    pdb: Document | None
    reason: str
    status: int = 429  # the Eviction API's answer: 429 is retried by kubectl drain, 500 fails it


@dataclass(slots=True)
class Drain:
    node: SimNode
    blockers: list[Blocker]

    @property
    def ok(self) -> bool:
        return not self.blockers


@dataclass(frozen=True, slots=True)
class Gap:
    """A workload whose memory limit exceeds its request: by ``excess`` bytes per pod, ``pods`` pods."""

    owner: str
    doc: Document
    excess: int
    pods: int


@dataclass(slots=True)
class Overcommit:
    limits: int
    allocatable: int
    nodes: list[NodeUsage]  # nodes above the threshold
    top: list[Gap]  # largest total gaps first
    threshold: float = OVERCOMMIT_THRESHOLD  # CAP004's overcommit-ratio in the settings of the run

    @property
    def ratio(self) -> float:
        return self.limits / self.allocatable if self.allocatable else 0.0


@dataclass(slots=True)
class Headroom:
    nodes: int
    needed_n_plus_1: int | None  # None: more than MAX_EXTRA_NODES extra would not do
    clone_of: str | None  # the node shape added to reach N+1
    largest_memory: tuple[int, int, str] | None  # (memory, cpu, node) free on the node with most memory
    largest_cpu: tuple[int, int, str] | None  # (cpu, memory, node)

    def describe(self) -> str:
        """How many nodes N+1 needs, in words."""
        if self.needed_n_plus_1 is None:
            return f"more than {self.nodes + MAX_EXTRA_NODES} nodes (adding {MAX_EXTRA_NODES} like {self.clone_of} is not enough)"
        if self.needed_n_plus_1 == self.nodes:
            return f"{self.nodes} nodes, as now: the cluster survives losing any one node"
        return f"{self.needed_n_plus_1} nodes (add {self.needed_n_plus_1 - self.nodes} like {self.clone_of})"


@dataclass(slots=True)
class CapacityReport:
    nodeset: NodeSet
    workloads: list[Workload]
    base: Scenario
    peak: Scenario | None
    losses: list[NodeLoss]
    drains: list[Drain]
    overcommit: Overcommit
    headroom: Headroom
    notes: list[str]

    @property
    def source(self) -> str:
        return self.nodeset.source

    @property
    def worst_loss(self) -> NodeLoss | None:
        failing = [loss for loss in self.losses if not loss.fits]
        if not failing:
            return None
        return max(failing, key=lambda loss: (len(loss.down), len(loss.pending), loss.node.name))

    def node_doc(self, name: str) -> Document | None:
        return next((n.doc for n in self.nodeset.nodes if n.name == name), None)


def nodeset_for(index: ObjectIndex, nodes_option: str | None) -> NodeSet | None:
    """``--nodes`` when given (raises NodeSpecError when bad), else Node objects, else None."""
    if nodes_option:
        nodeset = nodes_from_option(nodes_option, index)
        if nodes_from_index(index) is not None:
            nodeset.notes.append("Node objects were read too; --nodes takes precedence over them.")
        return nodeset
    return nodes_from_index(index)


def analyse(index: ObjectIndex, nodeset: NodeSet) -> CapacityReport:
    notes = list(nodeset.notes)
    nodes = sorted(nodeset.nodes, key=lambda n: n.name)
    workloads = workloads_of(index, notes)
    names = {n.name for n in nodes}
    strays = [w for w in workloads if w.node_name is not None and w.node_name not in names]
    for w in strays:
        w.node_name = None
    if strays:
        shown = ", ".join(w.name for w in strays[:5]) + (
            f" and {len(strays) - 5} more" if len(strays) > 5 else ""
        )
        notes.append(
            f"spec.nodeName names a node not in the simulation for {shown}; placed like any other pod."
        )
    base = run_scenario("base", nodes, workloads, peak=False)
    peak = None
    if any(w.hpa is not None for w in workloads):
        peak = run_scenario("peak", nodes, workloads, peak=True)
        base.title = "steady state, HPAs at minReplicas"
        peak.title = "peak, HPAs at maxReplicas"
    if not base.placement.exact or (peak is not None and not peak.placement.exact):
        notes.append(
            "The packing search gave up before proving that no placement exists; a failure to fit is "
            "then the verdict of the scheduler-like heuristic."
        )
    simulator = NodeLosses(nodes, base.placement)
    losses = [lose_node(simulator, node) for node in nodes]
    guessed = [loss.node.name for loss in losses if loss.placement is not None and not loss.placement.exact]
    if guessed:
        notes.append(
            f"Losing {', '.join(guessed[:5])}{' and more' if len(guessed) > 5 else ''}: the packing search gave "
            "up, so the pods said to stay Pending are the scheduler-like heuristic's verdict."
        )
    drains = [drain_node(index, nodes, base, loss) for loss in losses]
    return CapacityReport(
        nodeset=nodeset,
        workloads=workloads,
        base=base,
        peak=peak,
        losses=losses,
        drains=drains,
        overcommit=overcommit(base),
        headroom=headroom(nodes, workloads, base, losses),
        notes=notes,
    )


def run_scenario(name: str, nodes: list[SimNode], workloads: list[Workload], peak: bool) -> Scenario:
    pods = expand(workloads, nodes, peak=peak)
    placement = place(nodes, pods)
    return Scenario(name, "steady state", pods, placement, usage_of(nodes, placement))


def usage_of(nodes: list[SimNode], placement: Placement) -> list[NodeUsage]:
    usage = {n.name: NodeUsage(n) for n in nodes}
    for pod, name in placement.assignment.items():
        u = usage.get(name)
        if u is None:
            continue
        u.cpu += pod.cpu
        u.memory += pod.memory
        u.pods += 1
        u.memory_limits += pod.memory_limit if pod.memory_limit is not None else pod.memory
        u.cpu_limits += pod.cpu_limit if pod.cpu_limit is not None else pod.cpu
        if pod.memory_limit is None:
            u.unbounded += 1
    return [usage[n.name] for n in nodes]


def lose_node(simulator: NodeLosses, lost: SimNode) -> NodeLoss:
    """``lost`` fails: its pods (DaemonSet pods excepted) are placed on the other nodes."""
    result = simulator.lose(lost.name)
    if result.placement is None:
        return NodeLoss(lost, [], None)
    down: list[Document] = []
    for pod, _ in result.placement.unplaced:
        if result.running[pod.group] == 0 and pod.workload not in down:
            down.append(pod.workload)
    return NodeLoss(lost, result.displaced, result.placement, down)


def drain_node(index: ObjectIndex, nodes: list[SimNode], base: Scenario, loss: NodeLoss) -> Drain:
    """Why ``kubectl drain`` of this node would not finish (the re-placement is the N-1 one)."""
    pending = {id(p) for p, _ in loss.pending}
    by_workload: dict[int, list[SimPod]] = defaultdict(list)
    for pod in loss.displaced:
        by_workload[pod.group].append(pod)
    blockers: list[Blocker] = []
    verdicts = _pdb_verdicts(index)
    for pods in by_workload.values():
        covering = verdicts(pods[0].workload) if verdicts else []
        if len(covering) > 1:
            names = ", ".join(v.pdb.ref.name or "?" for v in covering)
            blockers.append(
                Blocker(
                    pods,
                    covering[0].pdb,
                    f"selected by {len(covering)} PodDisruptionBudgets ({names}): "
                    "the Eviction API refuses such pods (HTTP 500)",
                    500,
                )
            )
            continue
        if not covering:
            continue
        verdict = covering[0]
        allowed = verdict.allowed_disruptions
        lost_for_good = sum(1 for p in pods if id(p) in pending)
        if allowed <= 0:
            blockers.append(
                Blocker(pods, verdict.pdb, f"PodDisruptionBudget {verdict.pdb.ref.name} allows 0 disruptions")
            )
        elif lost_for_good > allowed:
            blockers.append(
                Blocker(
                    pods,
                    verdict.pdb,
                    f"PodDisruptionBudget {verdict.pdb.ref.name} allows {allowed} disruption(s) and "
                    f"{lost_for_good} evicted pod(s) cannot be re-placed, so they never become Ready again",
                )
            )
    return Drain(loss.node, blockers)


def _pdb_verdicts(index: ObjectIndex) -> Any:
    """``pdbs_covering`` bound to this index, or None if the disruption model is not available."""
    try:
        from premortem.model.pdb import pdbs_covering
    except ImportError:  # pragma: no cover - the model ships with premortem
        return None
    return lambda workload: pdbs_covering(workload, index)


def overcommit(base: Scenario) -> Overcommit:
    limits = sum(u.memory_limits for u in base.usage)
    alloc = sum(u.node.memory for u in base.usage)
    threshold = overcommit_threshold()
    over = [u for u in base.usage if u.memory_ratio > threshold]
    return Overcommit(limits, alloc, over, gaps(base.placement.assignment), threshold)


def overcommit_threshold() -> float:
    """CAP004's ``overcommit_ratio`` parameter (config ``params``), else 1.5."""
    from premortem.analyses.capacity.rules import memory_overcommit

    return float(memory_overcommit.param("overcommit_ratio"))


def gaps(pods: Iterable[SimPod]) -> list[Gap]:
    """Workloads among ``pods`` whose memory limit exceeds their request, largest total gap first."""
    counted: dict[int, list[SimPod]] = defaultdict(list)
    for pod in pods:
        if pod.memory_limit is not None and pod.memory_limit > pod.memory:
            counted[pod.group].append(pod)
    out = [
        Gap(p[0].owner, p[0].workload, (p[0].memory_limit or 0) - p[0].memory, len(p))
        for p in counted.values()
    ]
    out.sort(key=lambda g: (-g.excess * g.pods, g.owner))
    return out


def headroom(
    nodes: list[SimNode], workloads: list[Workload], base: Scenario, losses: list[NodeLoss]
) -> Headroom:
    free_mem = [
        (u.node.memory - u.memory, u.node.cpu - u.cpu, u.node.name)
        for u in base.usage
        if u.pods < u.node.pods
    ]
    free_cpu = [
        (u.node.cpu - u.cpu, u.node.memory - u.memory, u.node.name)
        for u in base.usage
        if u.pods < u.node.pods
    ]
    largest_memory = max(free_mem, key=lambda t: (t[0], t[1]), default=None)
    largest_cpu = max(free_cpu, key=lambda t: (t[0], t[1]), default=None)
    needed: int | None = len(nodes)
    clone_of: str | None = None
    failing = [loss for loss in losses if not loss.fits]
    if not base.fits or failing:
        template = failing[0].node if failing else max(nodes, key=lambda n: (n.memory, n.cpu, n.name))
        clone_of = template.name
        needed = None
        for extra in range(_extra_lower_bound(nodes, base, template), MAX_EXTRA_NODES + 1):
            grown = nodes + [_clone(template, k) for k in range(1, extra + 1)]
            scenario = run_scenario("grown", grown, workloads, peak=False)
            if not scenario.fits:
                continue
            simulator = NodeLosses(grown, scenario.placement)
            if all(lose_node(simulator, n).fits for n in grown):
                needed = len(grown)
                break
    return Headroom(len(nodes), needed, clone_of, largest_memory, largest_cpu)


def _extra_lower_bound(nodes: list[SimNode], base: Scenario, template: SimNode) -> int:
    """At least this many nodes like ``template`` must be added: the pods' total requests (cpu,
    memory, slots) have to fit in the nodes left after losing the largest one."""
    pods = [p for p in base.pods if not p.daemon]
    largest = max(nodes, key=lambda n: (n.pods, n.memory, n.cpu))
    bound = 1
    for need, per_node, have, lost in (
        (len(pods), template.pods, sum(n.pods for n in nodes), largest.pods),
        (sum(p.cpu for p in pods), template.cpu, sum(n.cpu for n in nodes), largest.cpu),
        (sum(p.memory for p in pods), template.memory, sum(n.memory for n in nodes), largest.memory),
    ):
        short = need - (have - lost)
        if short > 0 and per_node > 0:
            bound = max(bound, -(-short // per_node))
    return bound


def _clone(node: SimNode, k: int) -> SimNode:
    name = f"{node.name}+{k}"
    labels = dict(node.labels)
    labels[HOSTNAME_LABEL] = name
    taints = tuple(t for t in node.taints if t.key != UNSCHEDULABLE_TAINT)
    return replace(node, name=name, labels=labels, taints=taints, doc=None, unschedulable=False)
