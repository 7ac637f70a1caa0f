"""Laws of the placement: it agrees with brute force on small clusters, adding a node never turns a
fitting scenario into one that does not fit, and neither does removing a pod.

The scenarios have no DaemonSet pods on purpose: a DaemonSet puts a pod on every node added, and a
node too small for its own DaemonSet pods really does leave one Pending (the controller creates it
regardless of resources), so "adding a node never hurts" is only a law for the other pods.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from premortem.analyses.capacity.nodes import SimNode, Taint
from premortem.analyses.capacity.placement import NodeLosses, _State, place
from premortem.analyses.capacity.pods import AntiAffinityTerm, Constraints, SimPod, Toleration
from premortem.load.document import Document
from premortem.model.selectors import Requirement, Selector

GI = 2**30
TAINT = Taint("dedicated", "db", "NoSchedule")


@st.composite
def sim_node(draw: st.DrawFn, name: str) -> SimNode:
    pool = draw(st.sampled_from(["a", "b"]))
    return SimNode(
        name=name,
        cpu=draw(st.sampled_from([1000, 2000, 4000])),
        memory=draw(st.sampled_from([1, 2, 4])) * GI,
        pods=draw(st.integers(1, 4)),
        labels={"pool": pool, "kubernetes.io/hostname": name},
        taints=(TAINT,) if draw(st.booleans()) and draw(st.booleans()) else (),
    )


@st.composite
def workload_pods(draw: st.DrawFn, number: int) -> list[SimPod]:
    doc = Document({"kind": "Deployment", "metadata": {"name": f"w{number}"}}, "p.yaml", number + 1)
    labels = {"app": f"w{number}"}
    anti = ()
    if draw(st.booleans()) and draw(st.booleans()):
        selector = Selector((Requirement("app", "In", frozenset({f"w{number}"})),))
        anti = (AntiAffinityTerm(selector, None, "kubernetes.io/hostname"),)
    constraints = Constraints(
        node_selector={"pool": draw(st.sampled_from(["a", "b"]))} if draw(st.booleans()) else {},
        tolerations=(Toleration("dedicated", "Equal", "db", "NoSchedule"),) if draw(st.booleans()) else (),
        anti_affinity=anti,
    )
    cpu = draw(st.sampled_from([0, 250, 500, 1000, 1500]))
    memory = draw(st.sampled_from([0, GI // 4, GI // 2, GI, 3 * GI // 2]))
    count = draw(st.integers(1, 3))
    return [
        SimPod(
            f"w{number}-{i}", doc, "default", labels, cpu, memory, None, None, constraints, owner=f"w{number}"
        )
        for i in range(count)
    ]


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[SimNode], list[SimPod]]:
    nodes = [draw(sim_node(f"n{i}")) for i in range(draw(st.integers(1, 3)))]
    pods = [p for i in range(draw(st.integers(1, 3))) for p in draw(workload_pods(i))]
    return nodes, pods


def brute_force_fits(nodes: list[SimNode], pods: list[SimPod]) -> bool:
    ordered = sorted(nodes, key=lambda n: n.name)
    for choice in itertools.product(range(len(ordered)), repeat=len(pods)):
        state = _State(ordered)
        ok = True
        for pod, i in zip(pods, choice, strict=True):
            if state.reason(pod, i) is not None:
                ok = False
                break
            state.add(pod, i)
        if ok:
            return True
    return False


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenario())
def test_placement_agrees_with_brute_force(case):
    nodes, pods = case
    if len(nodes) ** len(pods) > 5000:
        pods = pods[:6]
    result = place(nodes, pods)
    assert result.exact
    assert result.fits == brute_force_fits(nodes, pods)
    if result.fits:
        assert set(result.assignment) == set(pods)


@FAST
@given(scenario(), st.data())
def test_adding_a_node_never_breaks_a_fitting_scenario(case, data):
    nodes, pods = case
    before = place(nodes, pods)
    extra = data.draw(sim_node("n9"))
    after = place([*nodes, extra], pods)
    assert before.exact and after.exact
    if before.fits:
        assert after.fits


@FAST
@given(scenario(), st.data())
def test_removing_a_pod_never_breaks_a_fitting_scenario(case, data):
    nodes, pods = case
    before = place(nodes, pods)
    gone = data.draw(st.integers(0, len(pods) - 1))
    after = place(nodes, pods[:gone] + pods[gone + 1 :])
    assert before.exact and after.exact
    if before.fits:
        assert after.fits


@st.composite
def bigger_scenario(draw: st.DrawFn) -> tuple[list[SimNode], list[SimPod]]:
    nodes = [draw(sim_node(f"n{i}")) for i in range(draw(st.integers(2, 6)))]
    pods = [p for i in range(draw(st.integers(1, 6))) for p in draw(workload_pods(i))]
    return nodes, pods


@FAST
@given(bigger_scenario())
def test_node_losses_on_one_state_equal_placing_on_the_survivors(case):
    """NodeLosses answers each N-1 question on one state; it must say what a fresh placement on the
    other nodes says (same pods moved, same places, same Pending pods and reasons)."""
    nodes, pods = case
    base = place(nodes, pods)
    losses = NodeLosses(nodes, base)
    for lost in sorted(nodes, key=lambda n: n.name):
        result = losses.lose(lost.name)
        displaced = [p for p, n in base.assignment.items() if n == lost.name and not p.daemon]
        assert result.displaced == displaced
        if not displaced:
            assert result.placement is None
            continue
        survivors = [n for n in nodes if n.name != lost.name]
        fixed = {p: n for p, n in base.assignment.items() if n != lost.name}
        fresh = place(survivors, displaced, fixed=fixed)
        assert result.placement is not None
        moved = {p: n for p, n in fresh.assignment.items() if p not in fixed}
        assert result.placement.assignment == moved
        assert result.placement.unplaced == fresh.unplaced
        assert result.placement.exact == fresh.exact
    # Nothing is left behind: the state is the base placement again.
    assert sorted(losses.state.where.values()) == sorted(losses.index[n] for n in base.assignment.values())
