"""Placing pods on nodes the way the default scheduler decides feasibility, deterministically.

Feasibility (the scheduler's Filter plugins that configuration decides): NodeUnschedulable and
TaintToleration (NoSchedule/NoExecute taints need a toleration), NodeAffinity (nodeSelector and
required node affinity), NodeResourcesFit (cpu and memory requests against allocatable minus the
requests already placed, and one pod slot), InterPodAffinity (required pod anti-affinity, both the
incoming pod's terms and those of pods already placed).

Order and choice (a heuristic close to the scheduler's): pinned pods first (DaemonSet pods on their
node, pods with ``spec.nodeName``), then the largest pods first (by their largest share of the
cluster's cpu or memory), each on the feasible node with the best NodeResourcesFit *LeastAllocated*
score (the default scoring strategy: mean over cpu and memory of free/allocatable after placing,
counting 100m and 200Mi for a pod that requests nothing, as the scheduler's scoring does), ties by
node name.

When that greedy pass leaves a pod unplaced, a depth-first search over all placements (most
constrained pods first, with symmetric nodes and identical pods pruned) looks for one that places
everything, within a step budget. So "does not fit" means *no* placement exists, whenever the search
finishes; when it gives up, the result says so (``exact`` is False). This makes the verdict monotone:
adding a node or removing a pod never turns a fitting scenario into one that does not fit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from premortem.analyses.capacity.nodes import HOSTNAME_LABEL, UNSCHEDULABLE_TAINT, SimNode
from premortem.analyses.capacity.pods import AntiAffinityTerm, SimPod
from premortem.model.index import SelectorIndex

# pkg/scheduler/util/pod_resources.go: what scoring counts for a pod that requests nothing.
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 2**20
SEARCH_BUDGET = 50_000
SEARCH_MAX_PODS = 150  # above this, only the bounds and a most-constrained-first greedy pass are tried


@dataclass(slots=True)
class Placement:
    assignment: dict[SimPod, str]  # pod -> node name
    unplaced: list[tuple[SimPod, str]]  # pod, the scheduler-style reason it fits nowhere
    exact: bool = True  # False when the search gave up: "does not fit" is then the heuristic's word
    searched: bool = False
    _by_node: dict[str, list[SimPod]] | None = field(default=None, repr=False, compare=False)

    @property
    def fits(self) -> bool:
        return not self.unplaced

    @property
    def first_failure(self) -> tuple[SimPod, str] | None:
        return self.unplaced[0] if self.unplaced else None

    def pods_on(self, node: str) -> list[SimPod]:
        if self._by_node is None:  # asked for node after node: grouped once
            self._by_node = {}
            for pod, name in self.assignment.items():
                self._by_node.setdefault(name, []).append(pod)
        return list(self._by_node.get(node, ()))


@dataclass(slots=True)
class _State:
    """Nodes with the pods placed on them so far, and what the filters need to answer quickly.

    Required anti-affinity is kept as counts per (term, topology domain): how many placed pods each
    term selects there, and how many placed pods carry it there; a feasibility check then costs the
    terms involved, not the pods on the node. ``gone`` is a node taken away (N-1): never feasible.
    """

    nodes: Sequence[SimNode]
    cpu: list[int] = field(default_factory=list)
    mem: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    nz_cpu: list[int] = field(default_factory=list)
    nz_mem: list[int] = field(default_factory=list)
    pods: list[list[SimPod]] = field(default_factory=list)
    gone: int | None = None
    # Static filters, by what decides them (workloads with the same node selector, affinity and
    # tolerations share the answers): signature of a Constraints, answer per (signature, node).
    signatures: dict[int, tuple[object, ...]] = field(default_factory=dict)
    static: dict[tuple[tuple[object, ...], int], str | None] = field(default_factory=dict)
    static_ok: dict[tuple[object, ...], list[int]] = field(default_factory=dict)
    # Anti-affinity: the terms followed, the terms that select a label set, and the counts.
    terms: dict[int, AntiAffinityTerm] = field(default_factory=dict)
    term_index: SelectorIndex[AntiAffinityTerm] | None = None
    selecting_cache: dict[tuple[int, str], tuple[AntiAffinityTerm, ...]] = field(default_factory=dict)
    selected: Counter[tuple[int, str]] = field(default_factory=Counter)
    carriers: Counter[tuple[int, str]] = field(default_factory=Counter)
    where: dict[int, int] = field(default_factory=dict)  # id(pod) -> node of a placed pod

    def __post_init__(self) -> None:
        n = len(self.nodes)
        self.cpu, self.mem, self.count = [0] * n, [0] * n, [0] * n
        self.nz_cpu, self.nz_mem = [0] * n, [0] * n
        self.pods = [[] for _ in range(n)]

    def expect(self, pods: Iterable[SimPod]) -> None:
        """Follow the anti-affinity terms of ``pods`` from the start (cheaper than on first sight)."""
        seen: set[int] = set()
        for pod in pods:
            if id(pod.constraints) not in seen:
                seen.add(id(pod.constraints))
                for term in pod.constraints.anti_affinity:
                    self._follow(term)

    @property
    def live(self) -> int:
        return len(self.nodes) - (self.gone is not None)

    def add(self, pod: SimPod, i: int) -> None:
        self.cpu[i] += pod.cpu
        self.mem[i] += pod.memory
        self.count[i] += 1
        self.nz_cpu[i] += pod.cpu or DEFAULT_MILLI_CPU
        self.nz_mem[i] += pod.memory or DEFAULT_MEMORY
        self.pods[i].append(pod)
        for term in pod.constraints.anti_affinity:
            self._follow(term)
        self._count(pod, i, 1)
        self.where[id(pod)] = i

    def remove(self, pod: SimPod, i: int) -> None:
        self.cpu[i] -= pod.cpu
        self.mem[i] -= pod.memory
        self.count[i] -= 1
        self.nz_cpu[i] -= pod.cpu or DEFAULT_MILLI_CPU
        self.nz_mem[i] -= pod.memory or DEFAULT_MEMORY
        self.pods[i].remove(pod)
        del self.where[id(pod)]
        self._count(pod, i, -1)

    def _count(self, pod: SimPod, i: int, step: int) -> None:
        labels = self.nodes[i].labels
        for term in pod.constraints.anti_affinity:
            domain = labels.get(term.topology_key)
            if domain is not None:
                self.carriers[(id(term), domain)] += step
        for term in self.selecting(pod):
            domain = labels.get(term.topology_key)
            if domain is not None:
                self.selected[(id(term), domain)] += step

    def _follow(self, term: AntiAffinityTerm) -> None:
        """Count, from now on, the placed pods ``term`` selects (those already placed included)."""
        if id(term) in self.terms:
            return
        self.terms[id(term)] = term
        self.term_index = None
        self.selecting_cache.clear()
        if not self.where:
            return  # nothing placed yet
        for j, placed in enumerate(self.pods):
            domain = self.nodes[j].labels.get(term.topology_key)
            if domain is not None:
                self.selected[(id(term), domain)] += sum(1 for q in placed if _selects(term, q))

    def selecting(self, pod: SimPod) -> tuple[AntiAffinityTerm, ...]:
        """The followed terms that select ``pod`` (by its labels and namespace)."""
        key = (id(pod.labels), pod.namespace)
        found = self.selecting_cache.get(key)
        if found is None:
            if self.term_index is None:
                self.term_index = SelectorIndex((t.selector, t) for t in self.terms.values())
            found = tuple(
                t
                for t in self.term_index.matching(pod.labels)
                if t.namespaces is None or pod.namespace in t.namespaces
            )
            self.selecting_cache[key] = found
        return found

    # --------------------------------------------------------------------------- filters
    def signature(self, pod: SimPod) -> tuple[object, ...]:
        """What the static filters look at in the pod's constraints."""
        found = self.signatures.get(id(pod.constraints))
        if found is None:
            c = pod.constraints
            found = (frozenset(c.node_selector.items()), c.affinity, c.tolerations)
            self.signatures[id(c)] = found
        return found

    def static_reason(self, pod: SimPod, i: int) -> str | None:
        """Taints, cordon, node selector and affinity: what does not depend on other pods."""
        key = (self.signature(pod), i)
        if key not in self.static:
            node = self.nodes[i]
            c = pod.constraints
            reason = None
            taint = c.untolerated(node)
            if taint is not None:
                reason = (
                    "unschedulable (cordoned)"
                    if taint.key == UNSCHEDULABLE_TAINT
                    else (f"untolerated taint {taint.display()}")
                )
            elif not c.selector_matches(node):
                reason = "didn't match node selector"
            elif not c.affinity_matches(node):
                reason = "didn't match node affinity"
            self.static[key] = reason
        return self.static[key]

    def allowed(self, pod: SimPod) -> list[int]:
        """The nodes (gone or not) whose static filters let ``pod`` in, in order."""
        signature = self.signature(pod)
        found = self.static_ok.get(signature)
        if found is None:
            found = [i for i in range(len(self.nodes)) if self.static_reason(pod, i) is None]
            self.static_ok[signature] = found
        return found

    def indexes(self) -> list[int]:
        """The nodes present, in order."""
        return [i for i in range(len(self.nodes)) if i != self.gone]

    def reason(self, pod: SimPod, i: int) -> str | None:
        """Why ``pod`` cannot go on node ``i`` now (the scheduler's filter message), or None if it can."""
        if i == self.gone:
            return "node lost"
        if pod.pinned is not None and self.nodes[i].name != pod.pinned:
            return "pinned to another node"
        if pod.pinned is None or not pod.daemon:
            static = self.static_reason(pod, i)
            if static is not None:
                return static
        return self.dynamic_reason(pod, i)

    def dynamic_reason(self, pod: SimPod, i: int) -> str | None:
        """Pod slots, requests and anti-affinity against the pods placed so far."""
        node = self.nodes[i]
        if self.count[i] + 1 > node.pods:
            return "Too many pods"
        if pod.cpu and self.cpu[i] + pod.cpu > node.cpu:
            return "Insufficient cpu"
        if pod.memory and self.mem[i] + pod.memory > node.memory:
            return "Insufficient memory"
        return self.anti_affinity_reason(pod, i)

    def anti_affinity_reason(self, pod: SimPod, i: int) -> str | None:
        labels = self.nodes[i].labels
        own = pod.constraints.anti_affinity
        for term in own:
            domain = labels.get(term.topology_key)
            if domain is None:
                continue
            self._follow(term)
            selected = self.selected[(id(term), domain)]
            if selected and self._placed_in(pod, term, domain) and _selects(term, pod):
                selected -= 1  # the pod itself
            if selected > 0:
                return "anti-affinity"
        for term in self.selecting(pod):
            domain = labels.get(term.topology_key)
            if domain is None:
                continue
            carriers = self.carriers[(id(term), domain)]
            if carriers and self._placed_in(pod, term, domain) and any(t is term for t in own):
                carriers -= 1  # the pod itself
            if carriers > 0:
                return "anti-affinity (of a pod already there)"
        return None

    def _placed_in(self, pod: SimPod, term: AntiAffinityTerm, domain: str) -> bool:
        j = self.where.get(id(pod))
        return j is not None and self.nodes[j].labels.get(term.topology_key) == domain

    def score(self, pod: SimPod, i: int) -> float:
        """NodeResourcesFit LeastAllocated: mean free fraction of cpu and memory after placing."""
        node = self.nodes[i]
        cpu = self.nz_cpu[i] + (pod.cpu or DEFAULT_MILLI_CPU)
        mem = self.nz_mem[i] + (pod.memory or DEFAULT_MEMORY)
        cpu_free = max(0, node.cpu - cpu) / node.cpu if node.cpu else 0.0
        mem_free = max(0, node.memory - mem) / node.memory if node.memory else 0.0
        return (cpu_free + mem_free) / 2


def _selects(term: AntiAffinityTerm, pod: SimPod) -> bool:
    if term.namespaces is not None and pod.namespace not in term.namespaces:
        return False
    return term.selector.matches(pod.labels)


def why_nowhere(state: _State, pod: SimPod) -> str:
    """The scheduler's summary: ``0/3 nodes are available: 2 Insufficient memory, 1 ...``."""
    reasons: Counter[str] = Counter()
    for i in state.indexes():
        if pod.pinned is not None and state.nodes[i].name != pod.pinned:
            continue
        reasons[state.reason(pod, i) or "?"] += 1
    total = state.live if pod.pinned is None else 1
    if pod.pinned is not None and not reasons:
        return f"its node {pod.pinned} is not in the simulation"
    parts = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"0/{total} nodes are available: {parts}"


def place(
    nodes: Sequence[SimNode],
    pods: Iterable[SimPod],
    fixed: dict[SimPod, str] | None = None,
    budget: int = SEARCH_BUDGET,
) -> Placement:
    """Place ``pods`` on ``nodes`` (sorted by name), after the ``fixed`` ones (kept where they are)."""
    ordered_nodes = sorted(nodes, key=lambda n: n.name)
    index = {n.name: i for i, n in enumerate(ordered_nodes)}
    state = _State(ordered_nodes)
    todo = list(pods)
    state.expect([*(fixed or {}), *todo])
    assignment: dict[SimPod, str] = {}
    for pod, name in (fixed or {}).items():
        if name in index:
            state.add(pod, index[name])
            assignment[pod] = name
    return _place_on(state, index, todo, assignment, budget)


def _place_on(
    state: _State, index: dict[str, int], todo: list[SimPod], assignment: dict[SimPod, str], budget: int
) -> Placement:
    """Place ``todo`` on the state's nodes (those placed already stay); ``assignment`` holds those and
    receives the new ones. The state is left with every placed pod in it."""
    ordered_nodes = state.nodes
    pinned = [p for p in todo if p.pinned is not None]
    free = sorted(
        (p for p in todo if p.pinned is None), key=_size_key([ordered_nodes[i] for i in state.indexes()])
    )
    unplaced: list[tuple[SimPod, str]] = []
    for pod in pinned:
        i = index.get(pod.pinned or "")
        if i is not None and state.reason(pod, i) is None:
            state.add(pod, i)
            assignment[pod] = ordered_nodes[i].name
        else:
            unplaced.append((pod, why_nowhere(state, pod)))
    greedy: list[tuple[SimPod, int | None]] = []
    greedy_failed: list[tuple[SimPod, str]] = []
    for pod in free:
        best = _best_node(state, pod)
        greedy.append((pod, best))
        if best is None:
            greedy_failed.append((pod, why_nowhere(state, pod)))
        else:
            state.add(pod, best)
            assignment[pod] = ordered_nodes[best].name
    if not greedy_failed:
        return Placement(assignment, unplaced)
    # The greedy pass failed: undo it, rule out the hopeless cases, then search for any placement.
    for pod in free:
        if pod in assignment:
            state.remove(pod, index[assignment.pop(pod)])
    proven = _cannot_fit(state, free)
    found: dict[SimPod, int] | None = None
    finished = proven
    if not proven:
        found, finished = _search(state, free, budget if len(free) <= SEARCH_MAX_PODS else 0)
    if found is not None:
        for pod, i in found.items():
            state.add(pod, i)
            assignment[pod] = ordered_nodes[i].name
        return Placement(assignment, unplaced, searched=True)
    # No placement exists (or the search gave up): report the greedy pass, which is what the
    # scheduler would do, with the first pod that failed (the state is back where it started).
    for pod, best in greedy:
        if best is not None:
            state.add(pod, best)
            assignment[pod] = ordered_nodes[best].name
    return Placement(assignment, unplaced + greedy_failed, exact=finished, searched=True)


class NodeLosses:
    """Losing each node in turn, on one state built once from the base placement: the lost node's
    pods leave, its non-DaemonSet pods are placed on the others (which keep theirs), then everything
    is put back. The same answers as ``place(survivors, displaced, fixed=the others)`` for each node,
    without rebuilding the cluster for every node lost."""

    def __init__(self, nodes: Sequence[SimNode], base: Placement, budget: int = SEARCH_BUDGET) -> None:
        self.nodes = sorted(nodes, key=lambda n: n.name)
        self.index = {n.name: i for i, n in enumerate(self.nodes)}
        self.budget = budget
        self.state = _State(self.nodes)
        self.state.expect(base.assignment)
        self.pods_of: Counter[int] = Counter()  # pods of each workload (group) in the base placement
        for pod, name in base.assignment.items():
            if name in self.index:
                self.state.add(pod, self.index[name])
                self.pods_of[pod.group] += 1

    def lose(self, name: str) -> NodeLossResult:
        """What happens when node ``name`` fails (the state is as before afterwards)."""
        i = self.index[name]
        state = self.state
        there = list(state.pods[i])
        displaced = [p for p in there if not p.daemon]
        if not displaced:
            return NodeLossResult([], None, {})
        for pod in there:
            state.remove(pod, i)
        state.gone = i
        placement = _place_on(state, self.index, displaced, {}, self.budget)
        running: dict[int, int] = {}
        if placement.unplaced:
            for pod, _ in placement.unplaced:
                running[pod.group] = self.pods_of[pod.group]
            for pod in there:
                if pod.group in running:
                    running[pod.group] -= 1
            for pod in placement.assignment:
                if pod.group in running:
                    running[pod.group] += 1
        for pod, node in placement.assignment.items():
            state.remove(pod, self.index[node])
        state.gone = None
        for pod in there:
            state.add(pod, i)
        return NodeLossResult(displaced, placement, running)


@dataclass(slots=True)
class NodeLossResult:
    """The pods a lost node displaces; their placement on the other nodes (``assignment`` holds the
    moved pods only: the others stay where they are), None when nothing moves; and, for each
    workload with a pod left Pending, how many of its pods still run."""

    displaced: list[SimPod]
    placement: Placement | None
    running: dict[int, int]


def _cannot_fit(state: _State, pods: list[SimPod]) -> bool:
    """Cheap proofs that no placement exists: a pod no node accepts even now, or more requested in
    total than is free in total (cpu, memory or pod slots)."""
    nodes = state.nodes
    live = state.indexes()
    free_cpu = sum(max(0, nodes[i].cpu - state.cpu[i]) for i in live)
    free_mem = sum(max(0, nodes[i].memory - state.mem[i]) for i in live)
    free_slots = sum(max(0, nodes[i].pods - state.count[i]) for i in live)
    if (
        len(pods) > free_slots
        or sum(p.cpu for p in pods) > free_cpu
        or sum(p.memory for p in pods) > free_mem
    ):
        return True
    seen: set[tuple[int, int, int]] = set()
    for pod in pods:
        key = (id(pod.constraints), pod.cpu, pod.memory)
        if key in seen:
            continue
        seen.add(key)
        if all(state.reason(pod, i) is not None for i in live):
            return True
    return False


def _best_node(state: _State, pod: SimPod) -> int | None:
    """The feasible node with the best score (ties: the first); ``pod`` is not pinned.

    ``dynamic_reason`` and ``score`` written out in one loop: this runs for every pod and node of
    every scenario (15,000 pods on 300 nodes are 4.5 million checks per scenario)."""
    best: int | None = None
    best_score = -1.0
    gone = state.gone
    nodes, count, cpu, mem, nz_cpu, nz_mem = (
        state.nodes,
        state.count,
        state.cpu,
        state.mem,
        state.nz_cpu,
        state.nz_mem,
    )
    pod_cpu, pod_mem = pod.cpu, pod.memory
    want_cpu, want_mem = pod_cpu or DEFAULT_MILLI_CPU, pod_mem or DEFAULT_MEMORY
    anti = bool(pod.constraints.anti_affinity or state.selecting(pod))
    for i in state.allowed(pod):
        node = nodes[i]
        if i == gone or count[i] >= node.pods:
            continue
        if (pod_cpu and cpu[i] + pod_cpu > node.cpu) or (pod_mem and mem[i] + pod_mem > node.memory):
            continue
        if anti and state.anti_affinity_reason(pod, i) is not None:
            continue
        # score(): NodeResourcesFit LeastAllocated
        free_cpu, free_mem = node.cpu - nz_cpu[i] - want_cpu, node.memory - nz_mem[i] - want_mem
        cpu_part = (free_cpu if free_cpu > 0 else 0) / node.cpu if node.cpu else 0.0
        mem_part = (free_mem if free_mem > 0 else 0) / node.memory if node.memory else 0.0
        score = (cpu_part + mem_part) / 2
        if score > best_score:  # nodes are sorted by name: ties keep the first
            best, best_score = i, score
    return best


def _size_key(
    nodes: Sequence[SimNode],
) -> Callable[[SimPod], tuple[float, int, int, tuple[str, int, int], str]]:
    """Largest first (largest share of the cluster's cpu or memory); a workload's pods stay together."""
    total_cpu = sum(n.cpu for n in nodes) or 1
    total_mem = sum(n.memory for n in nodes) or 1

    def key(pod: SimPod) -> tuple[float, int, int, tuple[str, int, int], str]:
        try:
            share = max(pod.cpu / total_cpu, pod.memory / total_mem)
        except OverflowError:  # a request past 10^308 times the cluster (quantities are exact ints)
            share = math.inf
        doc = pod.workload
        return (-share, -pod.memory, -pod.cpu, (doc.file, doc.line, doc.item_index or 0), pod.name)

    return key


def _greedy(state: _State, order: list[SimPod]) -> dict[SimPod, int] | None:
    """One greedy pass in the given order; the state is left as it was."""
    placed: dict[SimPod, int] = {}
    for pod in order:
        best = _best_node(state, pod)
        if best is None:
            break
        state.add(pod, best)
        placed[pod] = best
    for pod, i in placed.items():
        state.remove(pod, i)
    return placed if len(placed) == len(order) else None


def _search(state: _State, pods: list[SimPod], budget: int) -> tuple[dict[SimPod, int] | None, bool]:
    """Depth-first search for a placement of every pod; (assignment or None, finished).

    Two symmetries are pruned, which together stay complete because a workload's pods are adjacent
    in the order: among nodes that look the same right now (free resources, labels, taints, the
    workloads already on them) only the first is tried; and identical pods (same workload) take
    nodes in non-decreasing order, so their permutations are not tried again.
    """
    key = _size_key([state.nodes[i] for i in state.indexes()])
    eligible = {id(p.constraints): sum(1 for i in state.allowed(p) if i != state.gone) for p in pods}
    # Most constrained first: fewest eligible nodes, then anti-affinity, then the largest.
    order = sorted(pods, key=lambda p: (eligible[id(p.constraints)], not p.constraints.anti_affinity, key(p)))
    refs_hostname = any(
        any(r.key == HOSTNAME_LABEL or r.field for term in p.constraints.affinity or () for r in term)
        or HOSTNAME_LABEL in p.constraints.node_selector
        for p in order
    )
    if budget <= 0:
        return _greedy(state, order), False
    steps = 0
    chosen: dict[SimPod, int] = {}
    last_of_group: dict[tuple[int, int], int] = {}

    def signature(i: int) -> tuple[object, ...]:
        node = state.nodes[i]
        labels = (
            node.labels if refs_hostname else {k: v for k, v in node.labels.items() if k != HOSTNAME_LABEL}
        )
        groups = tuple(sorted(Counter((p.group, id(p.constraints)) for p in state.pods[i]).items()))
        return (
            node.cpu - state.cpu[i],
            node.memory - state.mem[i],
            node.pods - state.count[i],
            tuple(sorted(labels.items())),
            node.taints,
            groups,
        )

    def dfs(k: int) -> bool | None:
        nonlocal steps
        if k == len(order):
            return True
        pod = order[k]
        group = (pod.group, id(pod.constraints))
        start = last_of_group.get(group, 0)
        tried: set[tuple[object, ...]] = set()
        for i in range(start, len(state.nodes)):
            if i == state.gone or state.reason(pod, i) is not None:
                continue
            sig = signature(i)
            if sig in tried:
                continue
            tried.add(sig)
            steps += 1
            if steps > budget:
                return None
            state.add(pod, i)
            chosen[pod] = i
            previous = last_of_group.get(group)
            last_of_group[group] = i
            result = dfs(k + 1)
            if result is True:
                return True
            state.remove(pod, i)
            del chosen[pod]
            if previous is None:
                del last_of_group[group]
            else:
                last_of_group[group] = previous
            if result is None:
                return None
        return False

    outcome = dfs(0)
    if outcome is True:
        found = dict(chosen)
        for pod, i in found.items():
            state.remove(pod, i)
        return found, True
    return None, outcome is False
