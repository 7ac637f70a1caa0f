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

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from premortem.analyses.capacity.nodes import HOSTNAME_LABEL, UNSCHEDULABLE_TAINT, SimNode
from premortem.analyses.capacity.pods import AntiAffinityTerm, SimPod

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

    @property
    def fits(self) -> bool:
        return not self.unplaced

    @property
    def first_failure(self) -> tuple[SimPod, str] | None:
        return self.unplaced[0] if self.unplaced else None

    def pods_on(self, node: str) -> list[SimPod]:
        return [p for p, n in self.assignment.items() if n == node]


@dataclass(slots=True)
class _State:
    nodes: Sequence[SimNode]
    cpu: list[int] = field(default_factory=list)
    mem: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    nz_cpu: list[int] = field(default_factory=list)
    nz_mem: list[int] = field(default_factory=list)
    pods: list[list[SimPod]] = field(default_factory=list)
    # Anti-affinity terms of placed pods, by (topology key, domain value) of the node they are on.
    terms_at: dict[tuple[str, str], list[tuple[SimPod, AntiAffinityTerm]]] = field(default_factory=dict)
    term_keys: Counter[str] = field(default_factory=Counter)
    domains: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # key -> value -> nodes
    static: dict[tuple[int, int], str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.nodes)
        self.cpu, self.mem, self.count = [0] * n, [0] * n, [0] * n
        self.nz_cpu, self.nz_mem = [0] * n, [0] * n
        self.pods = [[] for _ in range(n)]

    def add(self, pod: SimPod, i: int) -> None:
        self.cpu[i] += pod.cpu
        self.mem[i] += pod.memory
        self.count[i] += 1
        self.nz_cpu[i] += pod.cpu or DEFAULT_MILLI_CPU
        self.nz_mem[i] += pod.memory or DEFAULT_MEMORY
        self.pods[i].append(pod)
        for term in pod.constraints.anti_affinity:
            domain = self.nodes[i].labels.get(term.topology_key)
            if domain is not None:
                self.terms_at.setdefault((term.topology_key, domain), []).append((pod, term))
                self.term_keys[term.topology_key] += 1

    def remove(self, pod: SimPod, i: int) -> None:
        self.cpu[i] -= pod.cpu
        self.mem[i] -= pod.memory
        self.count[i] -= 1
        self.nz_cpu[i] -= pod.cpu or DEFAULT_MILLI_CPU
        self.nz_mem[i] -= pod.memory or DEFAULT_MEMORY
        self.pods[i].remove(pod)
        for term in pod.constraints.anti_affinity:
            domain = self.nodes[i].labels.get(term.topology_key)
            if domain is not None:
                entries = self.terms_at[(term.topology_key, domain)]
                entries.pop(next(k for k, (p, t) in enumerate(entries) if p is pod and t is term))
                self.term_keys[term.topology_key] -= 1

    # --------------------------------------------------------------------------- filters
    def static_reason(self, pod: SimPod, i: int) -> str | None:
        """Taints, cordon, node selector and affinity: what does not depend on other pods."""
        key = (id(pod.constraints), i)
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

    def reason(self, pod: SimPod, i: int) -> str | None:
        """Why ``pod`` cannot go on node ``i`` now (the scheduler's filter message), or None if it can."""
        if pod.pinned is not None and self.nodes[i].name != pod.pinned:
            return "pinned to another node"
        if pod.pinned is None or not pod.daemon:
            static = self.static_reason(pod, i)
            if static is not None:
                return static
        node = self.nodes[i]
        if self.count[i] + 1 > node.pods:
            return "Too many pods"
        if pod.cpu and self.cpu[i] + pod.cpu > node.cpu:
            return "Insufficient cpu"
        if pod.memory and self.mem[i] + pod.memory > node.memory:
            return "Insufficient memory"
        return self.anti_affinity_reason(pod, i)

    def anti_affinity_reason(self, pod: SimPod, i: int) -> str | None:
        node = self.nodes[i]
        for term in pod.constraints.anti_affinity:
            domain = node.labels.get(term.topology_key)
            if domain is None:
                continue
            for j in self.domain(term.topology_key, domain):
                if any(q is not pod and _selects(term, q) for q in self.pods[j]):
                    return "anti-affinity"
        for key, count in self.term_keys.items():
            domain = node.labels.get(key) if count else None
            if domain is None:
                continue
            for other, term in self.terms_at.get((key, domain), ()):
                if other is not pod and _selects(term, pod):
                    return "anti-affinity (of a pod already there)"
        return None

    def domain(self, key: str, value: str) -> list[int]:
        """The nodes whose label ``key`` is ``value`` (a topology domain)."""
        if key not in self.domains:
            index: dict[str, list[int]] = {}
            for j, node in enumerate(self.nodes):
                label = node.labels.get(key)
                if label is not None:
                    index.setdefault(label, []).append(j)
            self.domains[key] = index
        return self.domains[key].get(value, [])

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
    for i in range(len(state.nodes)):
        if pod.pinned is not None and state.nodes[i].name != pod.pinned:
            continue
        reasons[state.reason(pod, i) or "?"] += 1
    total = len(state.nodes) if pod.pinned is None else 1
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
    assignment: dict[SimPod, str] = {}
    for pod, name in (fixed or {}).items():
        if name in index:
            state.add(pod, index[name])
            assignment[pod] = name
    todo = list(pods)
    pinned = [p for p in todo if p.pinned is not None]
    free = sorted((p for p in todo if p.pinned is None), key=_size_key(ordered_nodes))
    unplaced: list[tuple[SimPod, str]] = []
    for pod in pinned:
        i = index.get(pod.pinned or "")
        if i is not None and state.reason(pod, i) is None:
            state.add(pod, i)
            assignment[pod] = ordered_nodes[i].name
        else:
            unplaced.append((pod, why_nowhere(state, pod)))
    greedy_failed: list[tuple[SimPod, str]] = []
    for pod in free:
        best = _best_node(state, pod)
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
            assignment[pod] = ordered_nodes[i].name
        return Placement(assignment, unplaced, searched=True)
    # No placement exists (or the search gave up): report the greedy pass, which is what the
    # scheduler would do, with the first pod that failed.
    for pod in free:
        best = _best_node(state, pod)
        if best is not None:
            state.add(pod, best)
            assignment[pod] = ordered_nodes[best].name
    return Placement(assignment, unplaced + greedy_failed, exact=finished, searched=True)


def _cannot_fit(state: _State, pods: list[SimPod]) -> bool:
    """Cheap proofs that no placement exists: a pod no node accepts even now, or more requested in
    total than is free in total (cpu, memory or pod slots)."""
    nodes = state.nodes
    free_cpu = sum(max(0, n.cpu - state.cpu[i]) for i, n in enumerate(nodes))
    free_mem = sum(max(0, n.memory - state.mem[i]) for i, n in enumerate(nodes))
    free_slots = sum(max(0, n.pods - state.count[i]) for i, n in enumerate(nodes))
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
        if all(state.reason(pod, i) is not None for i in range(len(nodes))):
            return True
    return False


def _best_node(state: _State, pod: SimPod) -> int | None:
    best: int | None = None
    best_score = -1.0
    for i in range(len(state.nodes)):
        if state.reason(pod, i) is None:
            score = state.score(pod, i)
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
        share = max(pod.cpu / total_cpu, pod.memory / total_mem)
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
    key = _size_key(state.nodes)
    eligible = {
        id(p.constraints): sum(1 for i in range(len(state.nodes)) if state.static_reason(p, i) is None)
        for p in pods
    }
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
            if state.reason(pod, i) is not None:
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
