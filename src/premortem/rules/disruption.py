"""Disruption budgets: what a PodDisruptionBudget lets a drain do, computed the way the controller does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.delivery import BUILTIN_GROUPS, delivery_of
from premortem.model.index import ObjectIndex, namespace_key
from premortem.model.pdb import PdbVerdict, analyse_pdbs, hpa_min_replicas, workload_key
from premortem.model.units import same_unit
from premortem.rules.registry import ClusterContext, Hit, cluster_rule

_DRAIN = (
    "`kubectl drain` of any node running one of these pods retries the eviction every 5 s (HTTP 429 "
    '"Cannot evict pod as it would violate the pod\'s disruption budget") and, with the default '
    "--timeout=0, never completes; node upgrades and cluster-autoscaler scale-down stall the same way"
)
_SINGLE_REPLICA_ADVICE = (
    "For a single-replica workload Kubernetes documents two honest choices: no PDB at all (accept the "
    "downtime of a restart during maintenance), or maxUnavailable: 0 together with an explicit agreement "
    "that an operator deletes the PDB before draining. Otherwise run 2+ replicas with maxUnavailable: 1."
)


def _loc(doc: Document) -> str:
    return f"{doc.file}:{doc.line}"


def _workload_text(verdict: PdbVerdict, workload: Document) -> str:
    kind = workload.kind or "object"
    name = workload.ref.name or "<unnamed>"
    hpa = verdict.hpas.get(id(workload))
    if hpa is not None:
        return f"{kind} {name} (HPA {hpa.ref.name} minReplicas {hpa_min_replicas(hpa)})"
    if kind == "Pod":
        return f"Pod {name}"
    spec = workload.obj.get("spec") if isinstance(workload.obj, dict) else None
    replicas = spec.get("replicas", 1) if isinstance(spec, dict) else 1
    return f"{kind} {name} ({replicas} replica{'' if replicas == 1 else 's'})"


def _selects(verdict: PdbVerdict) -> str:
    names = [_workload_text(verdict, w) for w in verdict.workloads[:4]]
    more = len(verdict.workloads) - len(names)
    text = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return text or "no workload in the files read"


def _only_daemonsets(verdict: PdbVerdict) -> bool:
    return bool(verdict.workloads) and all(w.kind == "DaemonSet" for w in verdict.workloads)


def _structural_zero(verdict: PdbVerdict) -> str | None:
    """Why this budget allows nothing whatever the replicas, or None."""
    value = verdict.value
    if verdict.setting is None:
        return (
            "it sets neither minAvailable nor maxUnavailable, so the disruption controller computes 0 "
            "expected pods and publishes disruptionsAllowed 0"
        )
    if verdict.setting == "maxUnavailable" and value in (0, "0%"):
        return f"maxUnavailable: {value} allows no pod to be unavailable"
    if verdict.setting == "minAvailable" and value == "100%":
        return "minAvailable: 100% requires every pod to stay available"
    return None


@cluster_rule(
    "PDB001",
    "pdb-allows-no-disruption",
    "disruption",
    Severity.HIGH,
    "PodDisruptionBudget allows zero disruptions at normal scale: drains never finish",
)
def pdb_allows_no_disruption(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    PodDisruptionBudgets whose `disruptionsAllowed`, computed the way the disruption controller does
    when every selected pod is Ready, is 0: `maxUnavailable: 0`, `minAvailable: 100%`,
    `minAvailable` at or above the number of pods, a percentage that rounds up to every replica (50%
    of 1 replica is 1), or a budget that sets neither field. Percentages round **up** for both
    fields; the denominator is the replicas of the matched Deployments, StatefulSets, ReplicaSets and
    ReplicationControllers (omitted replicas = 1), an HPA's `minReplicas` (default 1) as the worst
    case; integer `minAvailable` counts the selected pods. A budget the API server would reject
    (both fields set, a non-percentage string, a percentage above 100%) is reported at medium.

    ## Why it breaks clusters
    `kubectl drain` evicts pods through the Eviction API. When a budget has no disruption left the
    API server answers HTTP 429 and kubectl retries every 5 seconds; `--timeout` defaults to 0, which
    means wait forever. The node never empties, so a node upgrade, a kernel patch roll-out or a
    cluster-autoscaler scale-down stops at the first node hosting one of these pods. Kubernetes calls
    this "permitted as per the semantics": it is what the budget asks for.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 1
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      minAvailable: 50%
      selector: {matchLabels: {app: api}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: api}}
    ```

    ## Fix
    Use `maxUnavailable: 1` (or a `minAvailable` below the replica count) on a workload with at least
    2 replicas. For a single-replica workload either delete the PDB and accept the restart during
    maintenance, or keep `maxUnavailable: 0` only with an explicit agreement that an operator deletes
    the PDB before draining.

    ## Source
    kubernetes/kubernetes pkg/controller/disruption/disruption.go (`getExpectedPodCount`,
    `updatePdbStatus`), pkg/registry/core/pod/storage/eviction.go (429), kubernetes/kubectl
    pkg/drain/drain.go (retry every 5 s, timeout 0); K8s docs tasks/run-application/configure-pdb.md
    ("Rounding logic", "Think about how your application reacts to disruptions").
    """
    for verdict in analyse_pdbs(ctx.index):
        if verdict.problem is not None:
            yield Hit(
                message=(
                    f"PodDisruptionBudget {verdict.name} is invalid: {verdict.problem}. `kubectl apply` fails "
                    f"and the pods it meant to protect ({_selects(verdict)}) have no disruption budget at all."
                ),
                fix="Set exactly one of minAvailable / maxUnavailable, as an integer or a percentage like '50%'.",
                path=verdict.field_path,
                severity=Severity.MEDIUM,
                doc=verdict.pdb,
            )
            continue
        if verdict.selector.matches_nothing or _only_daemonsets(verdict):
            continue  # selects nothing (PDB004), or only DaemonSet pods, which drains skip
        why = _structural_zero(verdict)
        if why is None:
            if not verdict.counted or verdict.selected_pods == 0 or verdict.allowed_disruptions > 0:
                continue
            why = (
                f"{verdict.setting}: {verdict.value} over {verdict.expected_pods} expected pod"
                f"{'' if verdict.expected_pods == 1 else 's'} leaves {verdict.desired_healthy} that must stay "
                f"healthy (percentages round up) out of {verdict.selected_pods}, so none may be evicted"
            )
            threshold = verdict.pods_for_one_disruption()
            if threshold is not None:
                why += f"; this budget first allows a disruption at {threshold} pods"
            if verdict.setting == "maxUnavailable" and verdict.expected_pods == 0:
                why = (
                    f"maxUnavailable is computed against the replicas of the pods' controllers, and these "
                    f"pods ({_selects(verdict)}) have none, so expected pods is 0 and nothing may be evicted"
                )
        single = verdict.counted and verdict.selected_pods == 1
        if single:
            fix = _SINGLE_REPLICA_ADVICE
        else:
            fix = "Use maxUnavailable: 1 (or a minAvailable below the replica count) so one pod at a time can move."
        message = (
            f"PodDisruptionBudget {verdict.name} allows 0 disruptions: {why}. It selects {_selects(verdict)}. "
            f"{_DRAIN}."
        )
        yield Hit(
            message=message,
            fix=fix,
            path=verdict.field_path,
            doc=verdict.pdb,
            extra={
                "expected_pods": verdict.expected_pods,
                "desired_healthy": verdict.desired_healthy,
                "allowed_disruptions": 0,
            },
        )


@cluster_rule(
    "PDB002",
    "pdb-one-disruption-default-unhealthy-policy",
    "disruption",
    Severity.LOW,
    "PodDisruptionBudget allows exactly one disruption and keeps the default unhealthyPodEvictionPolicy",
)
def pdb_one_disruption_default_policy(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    PodDisruptionBudgets that allow exactly one disruption at normal scale (all selected pods Ready,
    HPA at `minReplicas`) and leave `unhealthyPodEvictionPolicy` unset, i.e. the default
    `IfHealthyBudget`. An explicit `IfHealthyBudget` is taken as a deliberate choice. A
    `policy/v1beta1` budget is not checked: the field arrived in v1.26, after the last release that
    served policy/v1beta1 (v1.24), so no cluster that accepts the object can apply the fix (the
    removed API version is its own problem).

    ## Why it breaks clusters
    "Healthy" means the pod's Ready condition is True. With one disruption allowed, a single pod that
    is Running but not Ready (crash loop, failing readiness probe) already uses the whole budget:
    every eviction of the healthy pods is refused with HTTP 429 and a drain of their nodes waits until
    the broken pod recovers. Under `IfHealthyBudget` the not-Ready pods themselves may be evicted only
    while the healthy count is still at the budget, so once a second pod breaks, the misbehaving pods
    cannot be moved either and the drain waits on an application that is already down. With a
    single pod and `maxUnavailable: 1` (desiredHealthy 0) it is worse: the exception requires
    desiredHealthy above 0, so a not-Ready pod cannot be evicted at all.
    `AlwaysAllow` lets not-Ready pods be evicted at any time (healthy pods stay protected); the
    Kubernetes docs recommend it for node drains. The field is beta and on by default from v1.27,
    GA in v1.31.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      selector: {matchLabels: {app: api}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: api}}
    ```

    ## Fix
    Add `unhealthyPodEvictionPolicy: AlwaysAllow` to the PDB spec.

    ## Source
    kubernetes/api policy/v1/types.go (UnhealthyPodEvictionPolicyType), kubernetes/kubernetes
    pkg/registry/core/pod/storage/eviction.go; K8s docs concepts/workloads/pods/disruptions.md and
    tasks/run-application/configure-pdb.md ("Unhealthy Pod Eviction Policy").
    """
    for verdict in analyse_pdbs(ctx.index):
        if verdict.unhealthy_policy is not None or not verdict.counted or verdict.allowed_disruptions != 1:
            continue
        if verdict.pdb.ref.api_version == "policy/v1beta1":
            continue  # no cluster serving policy/v1beta1 (<= v1.24) has the field (v1.26+)
        if _only_daemonsets(verdict):
            continue
        if verdict.selected_pods == 1:
            consequence = (
                "once its single pod is Running but not Ready (crash loop, failing readiness probe) it cannot be "
                "evicted at all: desiredHealthy is 0, so the IfHealthyBudget exception does not apply, "
                "disruptionsAllowed is 0, and a drain of its node hangs until the pod recovers."
            )
        else:
            consequence = (
                "one pod that is Running but not Ready uses up the budget and blocks every drain of its healthy "
                "siblings' nodes, and when two are broken the broken pods cannot be evicted either."
            )
        yield Hit(
            message=(
                f"PodDisruptionBudget {verdict.name} allows exactly 1 disruption ({verdict.selected_pods} "
                f"pod{'' if verdict.selected_pods == 1 else 's'}, {verdict.desired_healthy} must stay Ready) with "
                f"the default unhealthyPodEvictionPolicy (IfHealthyBudget): {consequence}"
            ),
            fix="Add unhealthyPodEvictionPolicy: AlwaysAllow to the PDB spec.",
            path=("spec",),
            doc=verdict.pdb,
        )


@cluster_rule(
    "PDB003",
    "pod-in-several-pdbs",
    "disruption",
    Severity.HIGH,
    "Pods selected by two or more PodDisruptionBudgets: the eviction API refuses them",
)
def pod_in_several_pdbs(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Pod templates (and bare pods) whose labels are matched by the selectors of two or more distinct
    PodDisruptionBudgets in their namespace. Documents with the same namespace and name (a base and
    its overlay) count as one budget.

    ## Why it breaks clusters
    The eviction API does not combine budgets. For a pod covered by more than one it answers HTTP 500
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not
    support." whatever either budget allows. `kubectl drain` treats that as an error, not a retry: the
    drain fails on that pod and the node cannot be emptied without `--disable-eviction`, which
    deletes pods and ignores every budget. Cluster-autoscaler scale-down is refused the same way.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api, tier: web}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      selector: {matchLabels: {app: api}}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: web-tier, namespace: shop}
    spec:
      minAvailable: 50%
      selector: {matchLabels: {tier: web}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api, tier: web}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: api}}
    ```

    ## Fix
    Keep exactly one PodDisruptionBudget per set of pods: narrow the broader selector (add a label
    that only its own pods carry) or delete one of the budgets.

    ## Source
    kubernetes/kubernetes pkg/registry/core/pod/storage/eviction.go (multiple PDBs ⇒ 500),
    kubernetes/kubectl pkg/drain/drain.go (non-429 errors fail the pod); K8s docs
    concepts/workloads/pods/disruptions.md.
    """
    covering: dict[object, tuple[Document, dict[tuple[str, str], PdbVerdict]]] = {}
    for verdict in analyse_pdbs(ctx.index):
        if verdict.problem is not None:
            continue  # rejected by the API server: it will not exist
        key = (namespace_key(verdict.pdb), verdict.name)
        for workload in verdict.workloads:
            entry = covering.setdefault(workload_key(workload), (workload, {}))
            entry[1].setdefault(key, verdict)
    for workload, budgets in covering.values():
        if len(budgets) < 2:
            continue
        listed = ", ".join(f"{v.name} ({_loc(v.pdb)})" for v in budgets.values())
        yield Hit(
            message=(
                f"The pods of {workload.kind} {workload.ref.name or '<unnamed>'} are selected by "
                f"{len(budgets)} PodDisruptionBudgets: {listed}. The eviction API refuses every eviction of "
                'such a pod with HTTP 500 ("more than one PodDisruptionBudget"), whatever the budgets allow: '
                "`kubectl drain` fails on these pods and their nodes cannot be drained without "
                "--disable-eviction."
            ),
            fix="Keep one PodDisruptionBudget for these pods: narrow the broader selector or delete one budget.",
            path=("metadata", "name"),
            doc=workload,
            extra={"pdbs": [v.name for v in budgets.values()]},
        )


@cluster_rule(
    "PDB004",
    "pdb-selects-nothing",
    "disruption",
    Severity.LOW,
    "PodDisruptionBudget selects no workload in the files read",
)
def pdb_selects_nothing(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    PodDisruptionBudgets whose selector matches no pod template (Deployment, StatefulSet, ReplicaSet,
    ReplicationController, DaemonSet, Job, CronJob) or bare pod in their namespace among the files
    read, including a missing selector: in policy/v1 a null selector selects no pod (an empty `{}`
    selects every pod of the namespace).

    ## Why it breaks clusters
    A budget that selects nothing protects nothing: the controller reports 0 allowed disruptions and
    an event "NoPods", and every drain and node upgrade is free to evict the pods that were meant to
    be protected, all at once. The usual cause is a label typo or a chart that renamed its labels.
    The workload may also be deployed from other files than those read; then this is noise.

    Pods an operator creates from a custom resource are not in any pod template premortem reads: a
    PDB whose selector matches the labels a custom resource of the same namespace and input unit
    carries (its own, or a label map in its spec such as `podMetadata.labels`) is taken to protect
    the operator's pods (kube-prometheus' `Alertmanager` and `Prometheus` resources and their PDBs).

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: api-server}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers: [{name: api, image: registry.example.com/api:1.4.2}]
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: api, namespace: shop}
    spec:
      maxUnavailable: 1
      unhealthyPodEvictionPolicy: AlwaysAllow
      selector: {matchLabels: {app: api}}
    ```

    ## Fix
    Make the selector match the pod template labels of the workload it protects (and give it a
    selector at all). If the workload lives in other files, scan them together.

    ## Source
    kubernetes/api policy/v1/types.go (null vs empty selector), kubernetes/kubernetes
    pkg/controller/disruption/disruption.go ("NoPods"); K8s docs tasks/run-application/configure-pdb.md.
    """
    for verdict in analyse_pdbs(ctx.index):
        if verdict.problem is not None or verdict.workloads:
            continue
        if not verdict.selector.matches_nothing and _operator_made(verdict, ctx.index):
            continue
        ns = verdict.pdb.ref.namespace
        where = f"namespace {ns}" if ns else "the same (unspecified) namespace"
        if verdict.selector.matches_nothing:
            spec = verdict.pdb.obj.get("spec")
            has_selector = isinstance(spec, dict) and spec.get("selector") is not None
            message = (
                f"PodDisruptionBudget {verdict.name} "
                + (
                    "uses policy/v1beta1 with an empty selector, which selects no pod"
                    if has_selector
                    else "has no selector: in policy/v1 a null selector selects no pod"
                )
                + ", so it protects nothing and drains evict its intended pods freely."
            )
            fix = "Set spec.selector.matchLabels to the pod template labels of the workload it protects."
        else:
            message = (
                f"PodDisruptionBudget {verdict.name} selects no pod template or pod in {where} among the files "
                "read: if nothing in the cluster carries these labels it protects nothing and a drain may evict "
                "all of the intended pods at once. The workload may be deployed from other files; then scan "
                "them together."
            )
            fix = "Make spec.selector match the pod template labels of the workload it protects."
        yield Hit(message=message, fix=fix, path=("spec", "selector"), doc=verdict.pdb)


def _operator_made(verdict: PdbVerdict, index: ObjectIndex) -> bool:
    """A custom resource of the PDB's namespace and input unit carries labels its selector matches: an
    operator creates pods from it (model/delivery.py excludes tool inputs, which create nothing)."""
    pdb = verdict.pdb
    for doc in index.documents:
        if doc.api_group in BUILTIN_GROUPS or not delivery_of(doc).reaches_api_server:
            continue
        if namespace_key(doc) != namespace_key(pdb) or not same_unit(pdb.file, doc.file):
            continue
        if any(verdict.selector.matches(labels) for labels in _label_maps(doc.obj)):
            return True
    return False


def _label_maps(value: Any, depth: int = 0) -> Iterator[dict[str, str]]:
    """Every ``labels`` mapping in an object (metadata.labels, spec.podMetadata.labels, ...)."""
    if depth > 6 or not isinstance(value, dict):
        return
    for key, child in value.items():
        if key == "labels" and isinstance(child, dict):
            yield {str(k): str(v) for k, v in child.items()}
        elif isinstance(child, dict):
            yield from _label_maps(child, depth + 1)
