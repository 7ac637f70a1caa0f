"""Capacity rules CAP001-CAP004: the simulation's failed scenarios as findings.

They run whenever the nodes are known: ``Node`` objects in the input or ``--nodes`` (passed by the CLI
as ``options["nodes"]``). The simulation runs once per scan and is shared by the four rules and by
``premortem capacity``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from premortem.analyses.capacity.colocation import colocated_hits
from premortem.analyses.capacity.nodes import NodeSpecError
from premortem.analyses.capacity.pods import SimPod
from premortem.analyses.capacity.simulate import (
    OVERCOMMIT_THRESHOLD,
    CapacityReport,
    Gap,
    analyse,
    gaps,
    nodeset_for,
)
from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.quantity import format_bytes, format_millicores
from premortem.rules.registry import ClusterContext, Hit, Param, Rule, cluster_rule

_CACHE = "_premortem_capacity_report"


def report_for(index: ObjectIndex, nodes_option: str | None) -> CapacityReport | None:
    """The capacity report for this index (computed once), None when no nodes are known.

    Raises ``NodeSpecError`` for a bad ``--nodes``.
    """
    cache: dict[Any, Any] = vars(index).setdefault(_CACHE, {})
    if nodes_option not in cache:
        nodeset = nodeset_for(index, nodes_option)
        cache[nodes_option] = analyse(index, nodeset) if nodeset is not None and nodeset.nodes else None
    result: CapacityReport | None = cache[nodes_option]
    return result


def _report(context: ClusterContext) -> CapacityReport | None:
    option = context.options.get("nodes")
    try:
        return report_for(context.index, str(option) if option else None)
    except NodeSpecError:
        return None  # CAP001 reports it


def pod_size(cpu: int, memory: int) -> str:
    return f"{format_millicores(cpu)} cpu / {format_bytes(memory)} memory"


def _first_doc(context: ClusterContext) -> Document | None:
    return context.index.documents[0] if context.index.documents else None


def hits(rule_id: str, report: CapacityReport) -> Iterator[Hit]:
    """The findings of one capacity rule for a report (used by the rules and by ``premortem capacity``)."""
    if rule_id == "CAP001":
        yield from _steady(report)
    elif rule_id == "CAP002":
        yield from _n_minus_1(report)
    elif rule_id == "CAP003":
        yield from _drain(report)
    elif rule_id == "CAP004":
        yield from _overcommit(report)
    elif rule_id == "CAP005":
        yield from colocated_hits(report)


def _steady(report: CapacityReport) -> Iterator[Hit]:
    for scenario in (report.base, report.peak):
        if scenario is None or scenario.fits:
            continue
        first = scenario.placement.first_failure
        assert first is not None
        pod, why = first
        pending = len(scenario.placement.unplaced)
        peak = scenario.name == "peak"
        when = "At peak (every HPA at maxReplicas)" if peak else "In the steady state"
        verdict = (
            ""
            if scenario.placement.exact
            else " (the packing search gave up; this is the heuristic's verdict)"
        )
        yield Hit(
            message=(
                f"{when}, {pending} of {len(scenario.pods)} pods cannot be scheduled on the "
                f"{_nodes(len(report.nodeset.nodes))}{verdict}: the first is {pod.name}, requesting "
                f"{pod_size(pod.cpu, pod.memory)}: {why}.{_pending_owners(scenario.placement.unplaced)} They stay Pending"
                + (", so the autoscaler hits a ceiling during the very spike it scales for." if peak else ".")
                + f" Nodes: {report.source}."
                + (
                    " Nodes from a --nodes spec carry only the standard labels (hostname, os, arch): describe "
                    "labelled and tainted pools in an inventory file (docs/capacity.md)."
                    if report.nodeset.kind == "spec" and "didn't match node" in why
                    else ""
                )
            ),
            fix=(
                f"Add capacity (N+1 needs {report.headroom.describe()}), lower the requests of the pending workloads, "
                "or relax their node selectors, affinity and tolerations."
            ),
            doc=pod.workload,
            severity=Severity.MEDIUM if peak else None,
            extra={
                "scenario": scenario.name,
                "pending": pending,
                "pods": len(scenario.pods),
                "nodes_source": report.source,
            },
        )


def _nodes(n: int) -> str:
    return "1 node" if n == 1 else f"{n} nodes"


def _pending_owners(unplaced: list[tuple[SimPod, str]]) -> str:
    """`` Pending by workload: a (3), b (1).`` when more than one pod is pending."""
    if len(unplaced) < 2:
        return ""
    counts = Counter(p.owner for p, _ in unplaced)
    shown = ", ".join(f"{owner} ({n})" for owner, n in counts.most_common(5))
    more = f" and {len(counts) - 5} more workloads" if len(counts) > 5 else ""
    return f" Pending by workload: {shown}{more}."


def _n_minus_1(report: CapacityReport) -> Iterator[Hit]:
    worst = report.worst_loss
    if worst is None or not report.base.fits:
        return
    failing = [loss for loss in report.losses if not loss.fits]
    pod, why = worst.pending[0]
    others = [loss.node.name for loss in failing if loss is not worst]
    down = [f"{d.kind} {d.ref.name}" for d in worst.down]
    anti = "anti-affinity" in why
    message = (
        f"If node {worst.node.name} fails, {len(worst.displaced)} of its pods must move and "
        f"{len(worst.pending)} cannot be placed on the other {len(report.nodeset.nodes) - 1} nodes: the first is "
        f"{pod.name} ({pod_size(pod.cpu, pod.memory)}): {why}."
    )
    if down:
        message += f" {', '.join(down)} would have no running pod at all: an outage, not a degradation."
    if others:
        message += f" Losing {', '.join(others)} strands pods too."
    if len(worst.displaced) > len(worst.pending):
        message += " The pods that do move land on the survivors at once (the thundering herd); the rest"
    else:
        message += " They"
    message += f" stay Pending until the node returns. Nodes: {report.source}."
    fix = f"Keep N+1 capacity: {report.headroom.describe()}."
    if anti:
        fix += (
            " Required anti-affinity needs more eligible nodes than replicas; or use preferred anti-affinity"
            " or topologySpreadConstraints with whenUnsatisfiable: ScheduleAnyway."
        )
    yield Hit(
        message=message,
        fix=fix,
        doc=worst.node.doc or pod.workload,
        severity=Severity.HIGH if down else None,
        extra={
            "node": worst.node.name,
            "displaced": len(worst.displaced),
            "pending": len(worst.pending),
            "failing_nodes": [loss.node.name for loss in failing],
            "nodes_needed_n_plus_1": report.headroom.needed_n_plus_1,
            "nodes_source": report.source,
        },
    )


def _drain(report: CapacityReport) -> Iterator[Hit]:
    groups: dict[int, tuple[Document, list[str], list[str], set[int]]] = {}
    for drain in report.drains:
        if drain.ok:
            continue
        reasons = []
        for b in drain.blockers:
            pods = ", ".join(p.name for p in b.pods[:3]) + (
                f" and {len(b.pods) - 3} more" if len(b.pods) > 3 else ""
            )
            reasons.append(f"{pods}: {b.reason}")
        doc = drain.node.doc or drain.blockers[0].pdb or drain.blockers[0].pods[0].workload
        entry = groups.setdefault(id(doc), (doc, [], [], set()))
        entry[1].append(drain.node.name)
        entry[3].update(b.status for b in drain.blockers)
        for r in reasons:
            if r not in entry[2]:
                entry[2].append(r)
    for doc, node_names, reasons, statuses in groups.values():
        nodes = ", ".join(node_names)
        how = []
        if 429 in statuses:
            how.append("retries a refused eviction (429) every 5s, forever with the default --timeout")
        if 500 in statuses:
            how.append("fails on a pod selected by two budgets (500) and leaves the node cordoned")
        yield Hit(
            message=(
                f"kubectl drain {nodes} cannot complete: it evicts through the Eviction API, which refuses "
                f"{'; '.join(reasons)}. kubectl drain {'; it '.join(how)}: node upgrades, autoscaler "
                f"scale-down and maintenance stall there. Nodes: {report.source}."
            ),
            fix=(
                "Let each budget allow at least one disruption (maxUnavailable: 1, or minAvailable below the "
                "replicas) and run at least two replicas; one PodDisruptionBudget per pod."
            ),
            doc=doc,
            extra={"nodes": node_names, "nodes_source": report.source},
        )


def _culprits(found: list[Gap]) -> str:
    names = ", ".join(f"{g.owner} ({format_bytes(g.excess)} x {g.pods} pods)" for g in found[:3])
    return f" Limits exceed requests most in: {names}." if names else ""


def _overcommit(report: CapacityReport) -> Iterator[Hit]:
    """One finding per overcommitted Node object; else one for the cluster, on the worst workload."""
    over = report.overcommit
    fix = (
        "Raise memory requests to the limits of those workloads (requests = limits makes them Guaranteed and "
        "the scheduler reserves what the kernel may be asked for), or add memory."
    )
    cluster = f"cluster-wide {format_bytes(over.limits)} against {format_bytes(over.allocatable)} ({over.ratio:.1f}x)"
    on_nodes = [u for u in over.nodes if u.node.doc is not None]
    for u in on_nodes:
        found = gaps(report.base.placement.pods_on(u.node.name))
        unbounded = f"; {u.unbounded} pod(s) there have no memory limit at all" if u.unbounded else ""
        yield Hit(
            message=(
                f"Memory limits of the pods on node {u.node.name} add up to {format_bytes(u.memory_limits)} "
                f"against {format_bytes(u.node.memory)} allocatable ({u.memory_ratio:.1f}x{unbounded}; {cluster}): "
                "when they grow toward their limits together the kernel is asked for memory the node does not "
                f"have; the kubelet evicts and the OOM killer kills.{_culprits(found)} Nodes: {report.source}."
            ),
            fix=fix,
            doc=u.node.doc,
            extra={
                "node": u.node.name,
                "ratio": round(u.memory_ratio, 2),
                "cluster_ratio": round(over.ratio, 2),
                "nodes_source": report.source,
            },
        )
    if on_nodes or not over.top or (over.ratio <= over.threshold and not over.nodes):
        return
    per_node = ", ".join(f"{u.node.name} {u.memory_ratio:.1f}x" for u in over.nodes)
    yield Hit(
        message=(
            f"Memory limits add up to {cluster}"
            + (f"; per node above {over.threshold}x: {per_node}" if per_node else "")
            + ". When pods grow toward their limits together the kernel is asked for memory the nodes do not "
            f"have; the kubelet evicts and the OOM killer kills.{_culprits(over.top)} Nodes: {report.source}."
        ),
        fix=fix,
        doc=over.top[0].doc,
        extra={"ratio": round(over.ratio, 2), "nodes_source": report.source},
    )


def _run(rule_id: str, context: ClusterContext) -> Iterator[Hit]:
    report = _report(context)
    if report is not None:
        yield from hits(rule_id, report)


@cluster_rule(
    "CAP001",
    "steady-state-does-not-fit",
    "capacity",
    Severity.HIGH,
    "The workloads do not fit on the nodes: pods stay Pending",
)
def steady_state_does_not_fit(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Whether every pod of every workload can be scheduled on the known nodes (Node objects in the
    input, or `--nodes`), packing by requests the way the scheduler's filters do: cpu, memory, pod
    slots, node selectors, required node affinity, taints and tolerations, required pod anti-affinity;
    DaemonSet pods first, one per eligible node. With a HorizontalPodAutoscaler it checks both
    `minReplicas` (high) and `maxReplicas` (medium).

    ## Why it breaks clusters
    The scheduler places a pod only on a node whose allocatable, minus the requests of the pods
    already there, covers its request; actual usage is never consulted. A pod that fits nowhere stays
    Pending with `0/N nodes are available: ...`, and a rollout waiting for it never completes.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status:
      allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search}
    spec:
      replicas: 3
      selector: {matchLabels: {app: search}}
      template:
        metadata: {labels: {app: search}}
        spec:
          containers:
            - name: search
              image: registry.example.com/search:2.1.0
              resources:
                limits: {cpu: "1", memory: 3Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status:
      allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search}
    spec:
      replicas: 2
      selector: {matchLabels: {app: search}}
      template:
        metadata: {labels: {app: search}}
        spec:
          containers:
            - name: search
              image: registry.example.com/search:2.1.0
              resources:
                limits: {cpu: "1", memory: 3Gi}
    ```

    ## Fix
    Add nodes (the finding says how many N+1 needs), lower requests that are larger than the
    workload uses, or relax node selectors and affinity that confine pods to a full pool.

    ## Source
    kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/fit.go (`fitsRequest`),
    nodeaffinity, tainttoleration and interpodaffinity plugins; component-helpers resource/helpers.go
    (effective pod request); K8s docs concepts/scheduling-eviction/kube-scheduler.md.
    """
    option = context.options.get("nodes")
    try:
        report_for(context.index, str(option) if option else None)
    except NodeSpecError as exc:
        doc = _first_doc(context)
        if doc is not None:
            yield Hit(
                message=f"capacity was not checked: {exc}.",
                fix="Pass --nodes like 3x16cpu/64Gi, or the path of a node inventory file.",
                doc=doc,
            )
        return
    yield from _run("CAP001", context)


@cluster_rule(
    "CAP002",
    "node-loss-strands-pods",
    "capacity",
    Severity.MEDIUM,
    "Losing one node leaves pods Pending (no N+1 capacity)",
)
def node_loss_strands_pods(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    For each node in turn: if it fails, can its pods (DaemonSet pods excepted) be re-placed on the
    other nodes, whose pods stay where they are? The worst node decides. High when some workload
    would have no running pod at all, medium when it is only degraded.

    ## Why it breaks clusters
    When a node dies (or is drained), the node lifecycle controller evicts its pods after the
    `not-ready`/`unreachable` toleration (300s by default) and their controllers recreate them all at
    once: the thundering herd. The scheduler does not move running pods to make room, so what does
    not fit in the survivors' free allocatable stays Pending until the node returns, and the
    survivors now carry the whole load.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
      - apiVersion: v1
        kind: Node
        metadata: {name: node-b}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search}
    spec:
      replicas: 2
      selector: {matchLabels: {app: search}}
      template:
        metadata: {labels: {app: search}}
        spec:
          containers:
            - name: search
              image: registry.example.com/search:2.1.0
              resources:
                limits: {cpu: "1", memory: 6Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
      - apiVersion: v1
        kind: Node
        metadata: {name: node-b}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
      - apiVersion: v1
        kind: Node
        metadata: {name: node-c}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search}
    spec:
      replicas: 2
      selector: {matchLabels: {app: search}}
      template:
        metadata: {labels: {app: search}}
        spec:
          containers:
            - name: search
              image: registry.example.com/search:2.1.0
              resources:
                limits: {cpu: "1", memory: 6Gi}
    ```

    ## Fix
    Keep N+1 capacity (the finding gives the node count), and with required anti-affinity on
    `kubernetes.io/hostname` keep more eligible nodes than replicas, or use preferred anti-affinity or
    `topologySpreadConstraints` with `whenUnsatisfiable: ScheduleAnyway`.

    ## Source
    kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/fit.go,
    pkg/controller/nodelifecycle (taint-based eviction), pkg/apis/core/v1/defaults.go (300s
    not-ready/unreachable tolerations via the DefaultTolerationSeconds admission plugin); K8s docs
    concepts/scheduling-eviction/taint-and-toleration.md.
    """
    yield from _run("CAP002", context)


@cluster_rule(
    "CAP003",
    "drain-blocked",
    "capacity",
    Severity.HIGH,
    "kubectl drain of a node never finishes: a PodDisruptionBudget blocks it",
)
def drain_blocked(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    For each node: cordon it and evict its pods (DaemonSet pods excepted) the way `kubectl drain`
    does. A pod blocks the drain when its PodDisruptionBudget allows no disruption, when two budgets
    select it, or when its evicted siblings cannot be re-placed and use up the budget's allowed
    disruptions (they never become Ready again).

    ## Why it breaks clusters
    `kubectl drain` uses the Eviction API: a refused eviction (HTTP 429) is retried every 5 seconds
    and `--timeout` defaults to forever; a pod selected by two budgets is refused outright (HTTP 500).
    Node upgrades, the cluster autoscaler's scale-down and every maintenance window stall on that
    node. Budgets do not protect against node failure or node-pressure eviction, only against this.
    A drain is an ordinary event and this one never ends: `high`, as PDB001 and PDB003 are for the
    same outcome (docs/severity.md).

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: billing}
    spec:
      replicas: 1
      selector: {matchLabels: {app: billing}}
      template:
        metadata: {labels: {app: billing}}
        spec:
          containers:
            - name: billing
              image: registry.example.com/billing:1.0.0
              resources:
                limits: {cpu: 500m, memory: 1Gi}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: billing}
    spec:
      minAvailable: 1
      selector: {matchLabels: {app: billing}}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
      - apiVersion: v1
        kind: Node
        metadata: {name: node-b}
        status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: billing}
    spec:
      replicas: 2
      selector: {matchLabels: {app: billing}}
      template:
        metadata: {labels: {app: billing}}
        spec:
          containers:
            - name: billing
              image: registry.example.com/billing:1.0.0
              resources:
                limits: {cpu: 500m, memory: 1Gi}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: billing}
    spec:
      maxUnavailable: 1
      selector: {matchLabels: {app: billing}}
    ```

    ## Fix
    Let every budget allow at least one disruption (`maxUnavailable: 1`, or `minAvailable` below the
    replicas), run at least two replicas, and select each pod with one budget only.

    ## Source
    kubernetes/kubernetes pkg/registry/core/pod/storage/eviction.go (429, 500 for two budgets),
    pkg/controller/disruption/disruption.go; kubernetes/kubectl pkg/drain/drain.go (retry every 5s);
    K8s docs tasks/administer-cluster/safely-drain-node.md, tasks/run-application/configure-pdb.md.
    """
    yield from _run("CAP003", context)


@cluster_rule(
    "CAP004",
    "memory-overcommit",
    "capacity",
    Severity.MEDIUM,
    f"Memory limits exceed allocatable memory more than {OVERCOMMIT_THRESHOLD}x",
    params={
        "overcommit_ratio": Param(
            OVERCOMMIT_THRESHOLD,
            "memory limits / allocatable memory (per node or cluster) above which to report",
        )
    },
)
def memory_overcommit(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Per node (with the pods where the simulation places them) and across the cluster: the sum of
    memory limits against allocatable memory, above 1.5x. A container without a memory limit counts
    its request here (it can in fact take the whole node; RES003 reports it). Names the workloads
    whose limits exceed their requests most.

    ## Why it breaks clusters
    The scheduler packs by requests; the kernel lets each container grow to its limit. When pods grow
    toward their limits together, the node runs out of memory it promised: the kubelet evicts pods
    using more than their request (every 10s housekeeping interval), and a fast spike reaches the
    kernel OOM killer first, which kills by `oom_score_adj`, not by who caused it.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reports}
    spec:
      replicas: 3
      selector: {matchLabels: {app: reports}}
      template:
        metadata: {labels: {app: reports}}
        spec:
          containers:
            - name: reports
              image: registry.example.com/reports:3.0.0
              resources:
                requests: {cpu: 250m, memory: 1Gi}
                limits: {memory: 6Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reports}
    spec:
      replicas: 3
      selector: {matchLabels: {app: reports}}
      template:
        metadata: {labels: {app: reports}}
        spec:
          containers:
            - name: reports
              image: registry.example.com/reports:3.0.0
              resources:
                requests: {cpu: 250m, memory: 2Gi}
                limits: {memory: 2Gi}
    ```

    ## Fix
    Raise memory requests toward the limits of the named workloads (requests = limits makes them
    Guaranteed, and the scheduler then reserves what the kernel may be asked for), or add memory.

    ## Source
    K8s docs concepts/configuration/manage-resources-containers.md (limits are not scheduled),
    concepts/scheduling-eviction/node-pressure-eviction.md; kubernetes/kubernetes
    pkg/kubelet/eviction/helpers.go (`rankMemoryPressure`), pkg/kubelet/qos/policy.go.
    """
    yield from _run("CAP004", context)


@cluster_rule(
    "CAP005",
    "node-holds-every-replica",
    "capacity",
    Severity.HIGH,
    "Only one node can run a workload's replicas: losing it takes them all, with nowhere to go",
)
def node_holds_every_replica(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    For every node, Deployments, StatefulSets, ReplicaSets, ReplicationControllers and Argo
    Rollouts with 2 or more pods that the simulated steady state places all on that node because no
    other node may run them (untolerated taints, node selectors, required node affinity) or has
    room for even one more. CAP002 reports the node whose loss strands the most pods and names the
    workloads it leaves down; this names them for every node, except those CAP002 already names.
    Replicas that merely share a node in the simulation while another node has room are not
    reported: the scheduler scores spreading (PodTopologySpread's system defaults), which the
    packing heuristic does not model.

    ## Why it breaks clusters
    Replicas exist so that one failure does not take the service down. When only one node can run
    them, a kernel panic, a spot reclaim, a NotReady kubelet or a drain of that node removes every
    replica at the same moment, and the replacements stay Pending (`0/N nodes are available: ...
    didn't match node selector` or `Insufficient memory`) until the node is back: an outage, not a
    degradation. The default spreading cannot help; it only ranks nodes the pods may use and that
    have room.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a, labels: {pool: web}}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: v1
    kind: Node
    metadata: {name: node-b, labels: {pool: api}}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          nodeSelector: {pool: web}
          containers:
            - name: web
              image: registry.example.com/web:2.0.0
              resources:
                requests: {cpu: 500m, memory: 1Gi}
                limits: {memory: 1Gi}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          nodeSelector: {pool: api}
          containers:
            - name: api
              image: registry.example.com/api:2.0.0
              resources:
                requests: {cpu: 500m, memory: 1Gi}
                limits: {memory: 1Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Node
    metadata: {name: node-a, labels: {pool: web}}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: v1
    kind: Node
    metadata: {name: node-b, labels: {pool: web}}
    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          nodeSelector: {pool: web}
          containers:
            - name: web
              image: registry.example.com/web:2.0.0
              resources:
                requests: {cpu: 500m, memory: 1Gi}
                limits: {memory: 1Gi}
    ```

    ## Fix
    Let the pods run on at least two nodes (widen the node selector or affinity, tolerate the other
    pool's taints, add nodes to the pool or room on them), then keep them apart with a
    `DoNotSchedule` topology spread on `kubernetes.io/hostname`.

    ## Source
    kubernetes/kubernetes pkg/scheduler/framework/plugins/nodeaffinity, tainttoleration,
    noderesources/fit.go, podtopologyspread/scoring.go; K8s docs concepts/scheduling-eviction/
    assign-pod-node.md and topology-spread-constraints.md.
    """
    yield from _run("CAP005", context)


CAPACITY_RULES: tuple[Rule, ...] = (
    steady_state_does_not_fit,
    node_loss_strands_pods,
    drain_blocked,
    memory_overcommit,
    node_holds_every_replica,
)
