"""Priority and preemption: whose pods the scheduler evicts to make room, and who the kubelet spares."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.criticality import CLUSTER_CRITICAL, NODE_CRITICAL
from premortem.model.delivery import delivery_of
from premortem.model.dns import is_cluster_dns
from premortem.model.pdb import related_files
from premortem.model.podspec import ONE_SHOT_KINDS
from premortem.model.priority import (
    HIGHEST_USER_DEFINABLE,
    NEVER,
    SYSTEM_CLASSES,
    PodPriority,
    parse_priority_class,
    pod_priority,
)
from premortem.rules.registry import ClusterContext, Hit, cluster_rule

SERVING_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})


@cluster_rule(
    "SCH004",
    "priority-class-refused",
    "scheduling",
    Severity.HIGH,
    "PriorityClass the API server refuses: value above 1000000000, a reserved system- name, or a second globalDefault",
)
def priority_class_refused(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    PriorityClasses (`scheduling.k8s.io`) that validation or the Priority admission plugin refuses:
    a `value` above 1,000,000,000 (the highest user-definable priority), a name starting with
    `system-` that is not one of the built-in classes with its built-in value, or a second class
    with `globalDefault: true` (the one read later is the one refused).

    ## Why it breaks clusters
    The class is never created, so every pod that names it is refused at admission ("no
    PriorityClass with name ... was found"): the Deployment's ReplicaSet retries and reports
    FailedCreate while the workload runs no pod at all. A refused second `globalDefault` leaves the
    cluster default to whichever class was created first.

    ## Failing example
    ```yaml
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: platform-critical}
    value: 1500000000
    description: "platform add-ons"
    ```

    ## Passing example
    ```yaml
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: platform-critical}
    value: 1000000000
    description: "platform add-ons"
    ```

    ## Fix
    Keep user classes at or below 1000000000 and under names without the `system-` prefix; for
    cluster add-ons use the built-in `system-cluster-critical` / `system-node-critical` instead of
    defining them. Keep exactly one class with `globalDefault: true`, or none.

    ## Source
    kubernetes/kubernetes pkg/apis/scheduling/validation/validation.go (`ValidatePriorityClass`),
    plugin/pkg/admission/priority/admission.go (one globalDefault; "no PriorityClass with name"),
    pkg/apis/scheduling/types.go (`HighestUserDefinablePriority`, `SystemCriticalPriority`); K8s docs
    concepts/scheduling-eviction/pod-priority-preemption.md.
    """
    seen_default: Document | None = None
    for doc in ctx.index.of_kind("PriorityClass"):
        pc = parse_priority_class(doc)
        if pc is None or not delivery_of(doc).reaches_api_server:
            continue
        builtin = SYSTEM_CLASSES.get(pc.name)
        if pc.name.startswith("system-") and (builtin is None or builtin != pc.value or pc.global_default):
            yield Hit(
                message=(
                    f"PriorityClass {pc.name}: names starting with system- are reserved for the built-in classes "
                    f"({', '.join(f'{n} {v}' for n, v in SYSTEM_CLASSES.items())}); the API server refuses it and "
                    "every pod naming it is refused at admission."
                ),
                fix="Rename the class (no system- prefix), or use the built-in class of that name.",
                path=("metadata", "name"),
                doc=doc,
            )
        elif not pc.name.startswith("system-") and pc.value > HIGHEST_USER_DEFINABLE:
            yield Hit(
                message=(
                    f"PriorityClass {pc.name} has value {pc.value}, above the highest user-definable priority "
                    f"{HIGHEST_USER_DEFINABLE}: the API server refuses it and every pod naming it is refused at "
                    "admission, so those workloads run no pod."
                ),
                fix=(
                    f"Set value to at most {HIGHEST_USER_DEFINABLE}, or use {CLUSTER_CRITICAL} / {NODE_CRITICAL} for "
                    "cluster add-ons."
                ),
                path=("value",),
                doc=doc,
            )
        if pc.global_default:
            if seen_default is not None and seen_default.ref.name != pc.name:
                yield Hit(
                    message=(
                        f"PriorityClass {pc.name} sets globalDefault: true, as {seen_default.ref.name} "
                        f"({seen_default.file}:{seen_default.line}) already does: the admission plugin refuses a second "
                        "default class."
                    ),
                    fix="Keep globalDefault: true on one PriorityClass only.",
                    path=("globalDefault",),
                    doc=doc,
                )
            elif seen_default is None:
                seen_default = doc


@cluster_rule(
    "SCH005",
    "batch-preempts-serving",
    "scheduling",
    Severity.MEDIUM,
    "Jobs or CronJobs run at a higher priority than serving workloads and may preempt them",
)
def batch_preempts_serving(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Jobs and CronJobs whose pods are admitted with a higher priority than the pods of
    Deployments, StatefulSets, ReplicaSets or ReplicationControllers in the scan, with a
    `preemptionPolicy` other than `Never`. Priorities are resolved the way the Priority admission
    plugin does: the named PriorityClass, else the `globalDefault` class (one read in the same
    folder tree), else 0. Workloads naming a class that is not in the files read (nor built in) are
    left out: their priority is unknown. Preemption is cluster-wide, but a serving workload counts
    as a victim only in the batch workload's namespace or folder tree: unrelated projects scanned
    together are not one cluster.

    ## Why it breaks clusters
    When a pod does not fit on any node, the scheduler looks for a node where evicting pods of
    lower priority makes room, and deletes them (with their graceful termination period) to place
    the pending pod. A batch run (a nightly report, a backfill, a burst of Jobs) at a higher
    priority therefore takes nodes away from serving pods exactly when the cluster is full: the
    serving replicas are deleted, their replacements go Pending behind the batch pods, and the
    service loses capacity or goes down until the batch finishes. PodDisruptionBudgets are honoured
    only on a best-effort basis by preemption. A `globalDefault` class with a high value does the
    same for every pod that names no class, including batch pods nobody thought about.

    ## Failing example
    ```yaml
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: batch-high}
    value: 100000
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly-export, namespace: data}
    spec:
      schedule: "0 2 * * *"
      jobTemplate:
        spec:
          activeDeadlineSeconds: 3600
          template:
            spec:
              priorityClassName: batch-high
              restartPolicy: Never
              containers:
                - name: export
                  image: registry.example.com/export:1.2.0
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: data}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:4.0.0
    ```

    ## Passing example
    ```yaml
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: batch-high}
    value: 100000
    preemptionPolicy: Never
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly-export, namespace: data}
    spec:
      schedule: "0 2 * * *"
      jobTemplate:
        spec:
          activeDeadlineSeconds: 3600
          template:
            spec:
              priorityClassName: batch-high
              restartPolicy: Never
              containers:
                - name: export
                  image: registry.example.com/export:1.2.0
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: data}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:4.0.0
    ```

    ## Fix
    Give batch work a class at or below the serving workloads' priority, or keep its value (it
    still goes first in the scheduling queue) with `preemptionPolicy: Never`, so it waits for room
    instead of evicting pods. Give serving workloads a class of their own above batch.

    ## Source
    K8s docs concepts/scheduling-eviction/pod-priority-preemption.md ("Preemption", "Non-preempting
    PriorityClass", "Limitations of preemption": PDBs are best-effort); kubernetes/kubernetes
    pkg/scheduler/framework/plugins/defaultpreemption, plugin/pkg/admission/priority/admission.go.
    """
    index = ctx.index
    serving: list[tuple[Document, PodPriority]] = []
    batch: list[tuple[Document, PodPriority]] = []
    for doc in index.workloads():
        priority = pod_priority(doc, index)
        if priority is None or not priority.known:
            continue
        if doc.kind in SERVING_KINDS:
            serving.append((doc, priority))
        elif doc.kind in ONE_SHOT_KINDS:
            batch.append((doc, priority))
    lowest = min((p.value for _, p in serving), default=None)
    for doc, priority in batch:
        if priority.preemption_policy == NEVER or lowest is None or lowest >= priority.value:
            continue  # (no serving workload below it: not one pair to compare)
        victims = [(w, p) for w, p in serving if p.value < priority.value and _same_cluster(doc, w)]
        if not victims:
            continue
        shown = ", ".join(f"{w.kind} {w.ref.name} ({p.value}, {p.source})" for w, p in victims[:4])
        more = f" and {len(victims) - 4} more" if len(victims) > 4 else ""
        yield Hit(
            message=(
                f"pods of {doc.kind} {doc.ref.name} run at priority {priority.value} ({priority.source}, "
                f"preemptionPolicy {priority.preemption_policy}): when they do not fit, the scheduler deletes "
                f"lower-priority pods to make room, such as those of {shown}{more}; the serving replicas then wait "
                "Pending behind the batch run."
            ),
            fix=(
                "Lower the batch priority below the serving workloads', or set preemptionPolicy: Never on its "
                "PriorityClass so it waits for room instead of evicting pods."
            ),
            path=("spec",),
            doc=doc,
            extra={"priority": priority.value, "victims": [w.ref.name for w, _ in victims]},
        )


@cluster_rule(
    "SCH006",
    "kube-system-add-on-not-critical",
    "scheduling",
    Severity.MEDIUM,
    "kube-system DaemonSet or Deployment without system-node-critical / system-cluster-critical priority",
)
def kube_system_add_on_not_critical(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    DaemonSets and Deployments in namespace `kube-system` whose pods are not admitted at a critical
    priority (2,000,000,000 or more: `system-cluster-critical`, `system-node-critical`). Medium for
    DaemonSets (node agents) and the cluster DNS Deployment; low for other Deployments (a dashboard
    or a controller in kube-system is not something every pod depends on) and for a custom class
    below critical (it protects from preemption by lower classes, not from the kubelet's
    evictions).

    ## Why it breaks clusters
    `kube-system` holds the add-ons every other pod depends on: the CNI agent, kube-proxy, CSI
    node plugins, cluster DNS, metrics. Without a critical priority they are ordinary pods:
    - the kubelet's node-pressure eviction may evict them (it never evicts critical pods), taking
      networking, storage or DNS away from every pod of the node;
    - any pod with a positive priority can preempt them when the cluster is full;
    - a DaemonSet pod cannot preempt others to fit on a full or freshly added node, so that node
      runs without its agent, and every pod scheduled there fails (no network, no volumes).
    The built-in classes exist for exactly this; kubeadm and the upstream add-on manifests set them.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: cni-agent, namespace: kube-system}
    spec:
      selector: {matchLabels: {app: cni-agent}}
      template:
        metadata: {labels: {app: cni-agent}}
        spec:
          containers:
            - name: agent
              image: registry.example.com/cni-agent:1.15.2
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: cni-agent, namespace: kube-system}
    spec:
      selector: {matchLabels: {app: cni-agent}}
      template:
        metadata: {labels: {app: cni-agent}}
        spec:
          priorityClassName: system-node-critical
          containers:
            - name: agent
              image: registry.example.com/cni-agent:1.15.2
    ```

    ## Fix
    Set `priorityClassName: system-node-critical` on node agents (DaemonSets) and
    `system-cluster-critical` on cluster-wide add-ons (Deployments such as CoreDNS).
    `premortem fix` does this.

    ## Source
    K8s docs tasks/administer-cluster/guaranteed-scheduling-critical-addon-pods.md,
    concepts/scheduling-eviction/pod-priority-preemption.md, concepts/scheduling-eviction/
    node-pressure-eviction.md; kubernetes/kubernetes pkg/kubelet/types/pod_update.go
    (`IsCriticalPod`), pkg/kubelet/eviction/eviction_manager.go (critical pods are not evicted).
    """
    index = ctx.index
    for doc in index.of_kind("DaemonSet", "Deployment"):
        if doc.ref.namespace != "kube-system" or doc.api_group not in ("apps", "extensions"):
            continue
        priority = pod_priority(doc, index)
        if priority is None or priority.critical:
            continue
        wanted = NODE_CRITICAL if doc.kind == "DaemonSet" else CLUSTER_CRITICAL
        role = (
            "a node agent: on a full or new node its pod cannot preempt its way in, and the kubelet may evict it "
            "under node pressure, leaving every pod of that node without it"
            if doc.kind == "DaemonSet"
            else "a cluster add-on: the kubelet may evict its pods under node pressure and any pod with a positive "
            "priority can preempt them"
        )
        custom = priority.source.startswith("PriorityClass ") and priority.known
        essential = doc.kind == "DaemonSet" or is_cluster_dns(doc)
        yield Hit(
            message=(
                f"{doc.kind} {doc.ref.name} in kube-system runs at priority {priority.value} ({priority.source}), "
                f"not a critical priority: it is {role}."
            ),
            fix=f"Set spec.template.spec.priorityClassName: {wanted}.",
            path=("spec", "template", "spec"),
            severity=None if essential and not custom else Severity.LOW,
            doc=doc,
            extra={"priority": priority.value, "priority_class": wanted},
        )


def _same_cluster(a: Document, b: Document) -> bool:
    """Objects that plausibly run in one cluster: one namespace, or files of one folder tree
    (unrelated projects scanned together, a corpus or a monorepo of examples, are not one cluster)."""
    return (a.ref.namespace is not None and a.ref.namespace == b.ref.namespace) or related_files(
        a.file, b.file
    )
