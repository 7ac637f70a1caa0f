"""Replicas and failure domains: can one node loss or one drain take every replica of a workload?"""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.pdb import effective_replicas, hpa_for, pdbs_covering, related_files
from premortem.model.podspec import SCALABLE_KINDS, template_labels
from premortem.model.selectors import parse_map_selector
from premortem.model.spread import HOSTNAME, spreads_of
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule

_DEFAULTS = (
    "the scheduler's default spreading (PodTopologySpread system defaults: maxSkew 3 per node and 5 per "
    "zone, ScheduleAnyway) only scores nodes"
)


def replicated_workloads(index: ObjectIndex) -> Iterator[tuple[Document, int]]:
    """Workloads that run 2+ interchangeable replicas at normal scale (an HPA's minReplicas as the
    worst case), skipping objects owned by a controller (a dump's ReplicaSets of a Deployment)."""
    for doc in index.workloads():
        if doc.kind not in SCALABLE_KINDS or not template_labels(doc) or _owned(doc):
            continue
        replicas = effective_replicas(doc, index)
        if replicas is not None and replicas >= 2:
            yield doc, replicas


def _owned(doc: Document) -> bool:
    meta = doc.obj.get("metadata") if isinstance(doc.obj, dict) else None
    return isinstance(meta, dict) and bool(meta.get("ownerReferences"))


def _count(doc: Document, replicas: int, index: ObjectIndex) -> str:
    hpa = hpa_for(doc, index)
    scale = (
        f"HPA minReplicas {replicas}"
        if hpa is not None
        else f"{replicas} replica{'' if replicas == 1 else 's'}"
    )
    return f"{doc.kind} {doc.ref.name or '<unnamed>'} ({scale})"


def _covered(doc: Document, index: ObjectIndex) -> bool:
    return any(v.problem is None for v in pdbs_covering(doc, index))


@cluster_rule(
    "SCH001",
    "replicas-may-share-a-node",
    "scheduling",
    Severity.MEDIUM,
    "All replicas may land on one node: nothing hard spreads them, so one node loss takes them all",
    params={
        "few_replicas": Param(
            3,
            "up to this many replicas the finding is medium (a few replicas share a node easily), above it low",
        )
    },
)
def replicas_may_share_a_node(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Deployments, StatefulSets, ReplicaSets, ReplicationControllers and Argo Rollouts with 2 or more
    replicas (an HPA's `minReplicas` counts as the worst case) whose pod template has no *hard*
    constraint that keeps its own replicas apart:
    - a required `podAntiAffinity` term selecting the pods' own labels (any topology key);
    - a `topologySpreadConstraint` with `whenUnsatisfiable: DoNotSchedule` selecting them, with a
      `maxSkew` below the replica count (with `maxSkew` 3, three replicas may still share a node);
    - a `hostPort` (two pods cannot bind the same port of one node).
    Medium up to `few_replicas` (3) replicas, low above: the more replicas, the less likely the
    scheduler ever has room for all of them on one node only.

    ## Why it breaks clusters
    Soft constraints only rank nodes. Preferred anti-affinity, `ScheduleAnyway` constraints and the
    scheduler's system default spreading (hostname maxSkew 3, zone maxSkew 5, `ScheduleAnyway`, used
    only when the pod sets no constraint of its own) add score points; they lose to resource fit
    and are ignored when only one node has room. That is exactly the situation of a drain, a node
    pool upgrade or a cluster just scaled up: the replacements of evicted pods go wherever there is
    space, often all to the same fresh node. From then on every replica shares that node's fate: a
    kernel panic, a spot reclaim, a full disk or a NotReady kubelet takes the whole workload down,
    and `kubectl drain` of that node (which evicts everything on it at once unless a
    PodDisruptionBudget refuses) does the same on a normal working day.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          containers:
            - name: checkout
              image: registry.example.com/checkout:4.2.0
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: kubernetes.io/hostname
              whenUnsatisfiable: DoNotSchedule
              nodeTaintsPolicy: Honor
              labelSelector: {matchLabels: {app: checkout}}
          containers:
            - name: checkout
              image: registry.example.com/checkout:4.2.0
    ```

    ## Fix
    Add a `topologySpreadConstraint` on `kubernetes.io/hostname` with `maxSkew: 1`,
    `whenUnsatisfiable: DoNotSchedule` and a `labelSelector` matching the pod labels (add a second
    one on `topology.kubernetes.io/zone` for zone failures). `nodeTaintsPolicy: Honor` (beta, on by
    default from v1.26) keeps cordoned and tainted nodes out of the skew count, so a drain does not
    leave replacements Pending. Required anti-affinity works too, but leaves replicas beyond the
    node count Pending. And cover the pods with a PodDisruptionBudget (`maxUnavailable: 1`).

    ## Source
    kubernetes/kubernetes pkg/scheduler/framework/plugins/podtopologyspread/plugin.go
    (`systemDefaultConstraints`), filtering.go and scoring.go, plugins/interpodaffinity/filtering.go,
    plugins/nodeports; K8s docs concepts/scheduling-eviction/topology-spread-constraints.md
    ("Cluster-level default constraints", "Known limitations") and assign-pod-node.md
    (inter-pod anti-affinity); kubernetes/kubectl pkg/drain/drain.go (evictions are sent in parallel).
    """
    index = ctx.index
    for doc, replicas in replicated_workloads(index):
        spreads = spreads_of(doc)
        if any(s.keeps_apart(replicas) for s in spreads):
            continue
        covered = _covered(doc, index)
        few = replicas <= replicas_may_share_a_node.param("few_replicas")
        soft = [s for s in spreads if not s.keeps_apart(replicas)]
        if soft:
            present = (
                "; "
                + ", ".join(s.describe() for s in soft[:3])
                + (" only scores nodes" if all(not s.hard for s in soft) else " still lets them share a node")
            )
        else:
            present = ""
        consequence = (
            "A PodDisruptionBudget covers them, so a drain evicts them one at a time, but a node failure still "
            "takes the whole workload down."
            if covered
            else "No PodDisruptionBudget covers them either, so `kubectl drain` of that node evicts them all at once."
        )
        yield Hit(
            message=(
                f"{_count(doc, replicas, index)} has no hard constraint that keeps its replicas apart{present}; "
                f"{_DEFAULTS}, so when other nodes are full, cordoned or tainted (a drain, a node-pool upgrade) "
                f"all {replicas} can land on one node, and losing that node takes every replica. {consequence}"
            ),
            fix=(
                f"Add topologySpreadConstraints: [{{maxSkew: 1, topologyKey: {HOSTNAME}, whenUnsatisfiable: "
                f"DoNotSchedule, nodeTaintsPolicy: Honor, labelSelector: {{matchLabels: {_labels(doc)}}}}}]"
                + ("" if covered else " and a PodDisruptionBudget with maxUnavailable: 1")
                + "."
            ),
            path=("spec", "template", "spec"),
            severity=None if few else Severity.LOW,
            doc=doc,
            extra={"replicas": replicas, "pdb": covered},
        )


@cluster_rule(
    "SCH002",
    "replicated-workload-without-pdb",
    "scheduling",
    Severity.MEDIUM,
    "Replicated workload without a PodDisruptionBudget: drains and node upgrades do not wait for it",
)
def replicated_workload_without_pdb(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Deployments, StatefulSets, ReplicaSets, ReplicationControllers and Argo Rollouts with 2 or more
    replicas (an HPA's `minReplicas` as the worst case) whose pods no PodDisruptionBudget in the
    files read selects. Medium for StatefulSets (members of a quorum or a primary/replica pair), low for the
    others.

    ## Why it breaks clusters
    A drain only waits for the pods it evicts to be deleted, never for their replacements to be
    Ready. A node pool upgrade or a cluster-autoscaler scale-down drains node after node, so without
    a budget the second node can be emptied while the first node's evicted replica is still being
    scheduled, pulling its image, attaching its volume or joining its cluster. For a StatefulSet the
    replacement keeps its name and volume and is recreated only after the old pod is gone, which
    takes longest; two members of a three-member quorum (etcd, ZooKeeper, Kafka controllers, a
    database with its replicas) down at once is an outage. A PodDisruptionBudget makes the
    eviction API refuse (HTTP 429, retried by the drain) until enough pods are Ready again.
    Node-pressure evictions and the pod's own rollouts are not constrained by a budget either way.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: zk, namespace: data}
    spec:
      replicas: 3
      serviceName: zk
      selector: {matchLabels: {app: zk}}
      template:
        metadata: {labels: {app: zk}}
        spec:
          containers:
            - name: zk
              image: registry.example.com/zookeeper:3.9.2
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: zk, namespace: data}
    spec:
      replicas: 3
      serviceName: zk
      selector: {matchLabels: {app: zk}}
      template:
        metadata: {labels: {app: zk}}
        spec:
          containers:
            - name: zk
              image: registry.example.com/zookeeper:3.9.2
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: zk, namespace: data}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: zk}}
    ```

    ## Fix
    Add a PodDisruptionBudget selecting the pod labels with `maxUnavailable: 1` (and
    `unhealthyPodEvictionPolicy: AlwaysAllow`, so a crash-looping pod does not block drains). If the
    budget lives in other files, scan them together.

    ## Source
    kubernetes/kubectl pkg/drain/drain.go (waits for deletion, not for replacements);
    kubernetes/kubernetes pkg/registry/core/pod/storage/eviction.go; K8s docs
    concepts/workloads/pods/disruptions.md ("How disruption budgets work", node pool upgrade
    example) and tasks/run-application/configure-pdb.md.
    """
    index = ctx.index
    for doc, replicas in replicated_workloads(index):
        if _covered(doc, index):
            continue
        stateful = doc.kind == "StatefulSet"
        if stateful:
            majority = replicas // 2 + 1
            wait = (
                "a StatefulSet recreates a member under the same name only after the old pod is gone, so "
                f"{replicas - majority + 1} members down at once lose the quorum of {majority} of {replicas}"
                if replicas >= 3
                else "a StatefulSet recreates a member under the same name only after the old pod is gone, so "
                "both members (a primary and its replica) can be down at once"
            )
        else:
            wait = "two of its nodes drained in quick succession can take several replicas down together"
        yield Hit(
            message=(
                f"No PodDisruptionBudget in the files read selects the pods of {_count(doc, replicas, index)}: "
                "a drain waits only for evicted pods to be deleted, not for their replacements to be Ready, so "
                f"a node-pool upgrade or autoscaler scale-down that drains node after node does not wait for it; "
                f"{wait}."
            ),
            fix=(
                f"Add a PodDisruptionBudget with maxUnavailable: 1 and selector matchLabels {_labels(doc)} "
                "(unhealthyPodEvictionPolicy: AlwaysAllow)."
            ),
            path=("metadata", "name"),
            severity=None if stateful else Severity.LOW,
            doc=doc,
            extra={"replicas": replicas},
        )


def _labels(doc: Document) -> str:
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    selector = spec.get("selector") if isinstance(spec, dict) else None
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    if not isinstance(labels, dict) or not labels:
        labels = template_labels(doc)
    return "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}"


@cluster_rule(
    "SCH003",
    "local-traffic-policy-few-replicas",
    "scheduling",
    Severity.MEDIUM,
    "LoadBalancer with externalTrafficPolicy Local served by one pod, or by replicas that may share a node",
)
def local_traffic_policy_few_replicas(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Services of `type: LoadBalancer` with `externalTrafficPolicy: Local` whose pods come from
    Deployments, StatefulSets, ReplicaSets, ReplicationControllers or Argo Rollouts in the scan (not DaemonSets,
    which run a pod on every node and are the usual, safe pairing):
    - one pod in total (an HPA's `minReplicas` as the worst case): medium;
    - several pods of one workload with no hard constraint keeping them on different nodes (see
      SCH001): low.

    ## Why it breaks clusters
    With `Local`, kube-proxy forwards load-balancer traffic only to endpoints on the node it
    arrived at, and answers the load balancer's health check on `healthCheckNodePort` with success
    only on nodes that have a Ready local endpoint; the cloud load balancer sends traffic only to
    nodes it has seen pass several consecutive checks. When the only pod is replaced (a rollout, a
    drain, an eviction), its successor starts on another node, and the load balancer keeps that
    node out of rotation for those several check intervals while the old node already fails its
    check: incoming connections have no healthy backend and are dropped, though a Ready pod
    exists. Replicas that share one node behave like one pod when that node is drained.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: gateway, namespace: edge}
    spec:
      replicas: 1
      selector: {matchLabels: {app: gateway}}
      template:
        metadata: {labels: {app: gateway}}
        spec:
          containers:
            - name: gateway
              image: registry.example.com/gateway:2.0.0
              ports: [{containerPort: 8443}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: gateway, namespace: edge}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: gateway}
      ports: [{port: 443, targetPort: 8443}]
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: gateway, namespace: edge}
    spec:
      replicas: 3
      selector: {matchLabels: {app: gateway}}
      template:
        metadata: {labels: {app: gateway}}
        spec:
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: kubernetes.io/hostname
              whenUnsatisfiable: DoNotSchedule
              labelSelector: {matchLabels: {app: gateway}}
          containers:
            - name: gateway
              image: registry.example.com/gateway:2.0.0
              ports: [{containerPort: 8443}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: gateway, namespace: edge}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: gateway}
      ports: [{port: 443, targetPort: 8443}]
    ```

    ## Fix
    Run at least 2 replicas kept on different nodes (a `DoNotSchedule` topology spread on
    `kubernetes.io/hostname`), or a DaemonSet; or use `externalTrafficPolicy: Cluster` when the
    application does not need the client's source IP.

    ## Source
    K8s docs concepts/services-networking/service.md ("Traffic policies"),
    tasks/access-application-cluster/create-external-load-balancer.md ("Preserving the client
    source IP": health checks on healthCheckNodePort), reference/networking/virtual-ips.md
    ("Traffic to terminating endpoints"); kubernetes/kubernetes pkg/proxy/healthcheck.
    """
    index = ctx.index
    for svc in index.of_kind("Service"):
        spec = svc.obj.get("spec") if isinstance(svc.obj, dict) else None
        if not isinstance(spec, dict) or spec.get("type") != "LoadBalancer":
            continue
        if spec.get("externalTrafficPolicy") != "Local":
            continue
        selector = parse_map_selector(spec.get("selector"))
        matched = [
            w
            for w in index.workloads_matching(selector, svc.ref.namespace)
            if not _owned(w) and (svc.ref.namespace or related_files(svc.file, w.file))
        ]
        if not matched or any(w.kind in ("DaemonSet", "Pod") for w in matched):
            continue
        counts = [(w, effective_replicas(w, index)) for w in matched if w.kind in SCALABLE_KINDS]
        if not counts or any(n is None for _, n in counts):
            continue
        total = sum(n or 0 for _, n in counts)
        if total == 0:
            continue
        names = ", ".join(_count(w, n or 0, index) for w, n in counts)
        if total == 1:
            yield Hit(
                message=(
                    f"Service {svc.ref.name} (LoadBalancer, externalTrafficPolicy Local) is served by one pod "
                    f"({names}): when it is replaced (rollout, drain, eviction) the new pod starts on another node, which "
                    "the load balancer keeps out of rotation until it passes several health checks on "
                    "healthCheckNodePort, while the old node already fails them: connections are dropped although a "
                    "Ready pod exists."
                ),
                fix="Run at least 2 replicas spread over nodes (or a DaemonSet), or use externalTrafficPolicy: Cluster.",
                path=("spec", "externalTrafficPolicy"),
                doc=svc,
                extra={"pods": total},
            )
            continue
        apart = all(any(s.keeps_apart(n or 0) for s in spreads_of(w)) for w, n in counts)
        if len(counts) == 1 and not apart:
            yield Hit(
                message=(
                    f"Service {svc.ref.name} (LoadBalancer, externalTrafficPolicy Local) is served by {names}, whose "
                    "replicas may share one node (no hard spread): a drain of that node leaves the load balancer no "
                    "healthy node until the replacements' nodes pass its health checks, and connections are dropped "
                    "meanwhile."
                ),
                fix=(
                    f"Keep the replicas on different nodes: topologySpreadConstraints maxSkew 1 on {HOSTNAME}, "
                    "whenUnsatisfiable: DoNotSchedule."
                ),
                path=("spec", "externalTrafficPolicy"),
                severity=Severity.LOW,
                doc=svc,
                extra={"pods": total},
            )
