"""The control-plane node role kubeadm renamed: selectors and tolerations written for ``master``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document, Path
from premortem.model.kubeversion import KubeVersion, target_is_default, target_version
from premortem.model.podspec import pod_spec_of
from premortem.rules.registry import Hit, object_rule

MASTER = "node-role.kubernetes.io/master"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
LABEL_GONE = KubeVersion(1, 24)  # kubeadm stops labelling, and removes the label on upgrade
TAINT_GONE = KubeVersion(1, 25)  # kubeadm stops tainting, and removes the taint on upgrade

# Calico chooses BGP peers, route reflectors and IP pools with selector expressions over node labels.
_CALICO_GROUPS = ("crd.projectcalico.org/", "projectcalico.org/")
_CALICO_SELECTORS = {"BGPPeer": ("nodeSelector", "peerSelector"), "IPPool": ("nodeSelector",)}
_MASTER_IN_EXPRESSION = re.compile(re.escape(MASTER) + r"(?![\w./-])")


def _required_terms(spec: dict[str, Any]) -> list[Any] | None:
    affinity = spec.get("affinity")
    node = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(node, dict) else None
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    return terms if isinstance(terms, list) and terms else None


def _term_needs_master(term: Any) -> bool:
    """A node selector term only a node with the master label satisfies."""
    if not isinstance(term, dict):
        return False
    for expr in term.get("matchExpressions") or ():
        if isinstance(expr, dict) and expr.get("key") == MASTER and expr.get("operator") in ("In", "Exists"):
            return True
    return False


def _pod_selections(spec: dict[str, Any], base: Path) -> Iterator[tuple[Path, str]]:
    """Where a pod spec requires the master label to schedule (nodeSelector, or every required
    node-affinity term: the terms are ORed)."""
    selector = spec.get("nodeSelector")
    if isinstance(selector, dict) and MASTER in selector:
        yield (*base, "nodeSelector", MASTER), "nodeSelector"
    terms = _required_terms(spec)
    if terms is not None and all(_term_needs_master(t) for t in terms):
        yield (*base, "affinity", "nodeAffinity"), "required node affinity"


def _master_only_tolerations(spec: dict[str, Any], base: Path) -> Path | None:
    """The toleration of the master taint, when nothing tolerates the control-plane taint."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        return None
    keys = [t.get("key") if isinstance(t, dict) else None for t in tolerations]
    tolerates_all = any(
        isinstance(t, dict) and t.get("key") in (None, "") and t.get("operator") == "Exists"
        for t in tolerations
    )
    if MASTER not in keys or CONTROL_PLANE in keys or tolerates_all:
        return None
    return (*base, "tolerations", keys.index(MASTER))


def _calico_selections(doc: Document) -> Iterator[tuple[Path, str]]:
    fields = _CALICO_SELECTORS.get(doc.kind or "", ())
    if not fields or not str(doc.ref.api_version or "").startswith(_CALICO_GROUPS):
        return
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    if not isinstance(spec, dict):
        return
    named = [
        (name, value)
        for name in fields
        if isinstance(value := spec.get(name), str)
        and _MASTER_IN_EXPRESSION.search(value)
        and CONTROL_PLANE not in value
    ]
    if named:
        yield ("spec", named[0][0]), " and ".join(f"{name} {value!r}" for name, value in named)


def _nothing_runs(doc: Document, is_calico: bool) -> str:
    if is_calico and doc.kind == "IPPool":
        return "Calico assigns no address from the pool, and new pods that need it get no IP"
    if is_calico:
        return "Calico drops the BGP peerings it configures (route reflectors included) and pod traffic between nodes stops"
    if doc.kind == "DaemonSet":
        return "the DaemonSet runs no pod at all"
    return "its pods stay Pending"


def _require(how: str) -> str:
    return "require" if " and " in how else "requires"


@object_rule(
    "API002",
    "legacy-master-node-role",
    "api-versions",
    Severity.HIGH,
    "Selects nodes by node-role.kubernetes.io/master, which kubeadm no longer sets from v1.24",
)
def legacy_master_node_role(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Objects that choose control-plane nodes by the label `node-role.kubernetes.io/master` alone: a
    pod template's `nodeSelector`, or required node affinity every term of which needs that label;
    Calico `BGPPeer` `nodeSelector`/`peerSelector` and `IPPool` `nodeSelector` expressions that name
    it without also accepting `node-role.kubernetes.io/control-plane`. And pod templates that tolerate
    the `node-role.kubernetes.io/master` taint but not `node-role.kubernetes.io/control-plane`.

    The release judged is `--kubernetes-version`. A selection is `high` from v1.24 (before that
    release `low`: it works until the upgrade). A toleration is `low`: the pods lose only the
    control-plane nodes, which managed clusters (GKE, EKS, AKS) do not show at all.

    ## Why it breaks clusters
    kubeadm renamed its control-plane role (KEP-2067). From v1.24 `kubeadm init` and `join` label
    control-plane nodes only with `node-role.kubernetes.io/control-plane`, and `kubeadm upgrade apply`
    removes the old `master` label from existing nodes; from v1.25 it no longer applies the
    `node-role.kubernetes.io/master:NoSchedule` taint and removes it on upgrade, tainting with
    `node-role.kubernetes.io/control-plane:NoSchedule` instead. After the upgrade a `nodeSelector` on
    the old label matches no node: the pods it places stay Pending, and a DaemonSet has no pod at all.
    A Calico selector on it selects no node: route reflectors and BGP peers silently disappear and
    pod traffic between nodes stops, the way Reddit lost its site for 314 minutes on Pi Day 2023.
    Pods that tolerate only the old taint can no longer run on control-plane nodes.
    Distributions other than kubeadm decide their own labels (k3s still sets both): on such a cluster,
    suppress the finding with that reason.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: cp-agent, namespace: kube-system}
    spec:
      selector: {matchLabels: {app: cp-agent}}
      template:
        metadata: {labels: {app: cp-agent}}
        spec:
          priorityClassName: system-node-critical
          nodeSelector: {node-role.kubernetes.io/master: ""}
          tolerations:
            - {key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}
          containers:
            - name: agent
              image: registry.example.com/cp-agent:1.2.0
              resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 32Mi}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: cp-agent, namespace: kube-system}
    spec:
      selector: {matchLabels: {app: cp-agent}}
      template:
        metadata: {labels: {app: cp-agent}}
        spec:
          priorityClassName: system-node-critical
          nodeSelector: {node-role.kubernetes.io/control-plane: ""}
          tolerations:
            - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
            - {key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}
          containers:
            - name: agent
              image: registry.example.com/cp-agent:1.2.0
              resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 32Mi}}
    ```

    ## Fix
    Select `node-role.kubernetes.io/control-plane` (or, while some nodes are older than v1.20, a
    required node-affinity with one term for each label: the terms are ORed), write Calico selectors
    as `has(node-role.kubernetes.io/control-plane)`, and tolerate both taints.

    ## Source
    kubernetes/enhancements keps/sig-cluster-lifecycle/kubeadm/2067-rename-master-label-taint;
    kubernetes/kubernetes pull 107533 (kubeadm 1.24: label only control-plane, remove the old label on
    upgrade) and pull 110095 (kubeadm 1.25: stop applying the old taint, remove it on upgrade);
    K8s docs concepts/scheduling-eviction/assign-pod-node.md (nodeSelectorTerms are ORed,
    matchExpressions ANDed); Calico docs reference/resources/bgppeer (selector syntax); Reddit,
    "You Broke Reddit: The Pi-Day Outage" (2023).
    """
    target = target_version()
    assumed = " (the newest release premortem knows; set --kubernetes-version)" if target_is_default() else ""
    pod = pod_spec_of(doc)
    pod_selections = list(_pod_selections(pod.spec, pod.path)) if pod is not None else []
    calico = [(path, how, True) for path, how in _calico_selections(doc)]
    for path, how, is_calico in [*calico, *((path, how, False) for path, how in pod_selections)]:
        if target >= LABEL_GONE:
            message = (
                f"{how} {_require(how)} the label {MASTER}, which kubeadm stopped setting in v1.24 and removes from "
                f"control-plane nodes on upgrade; this scan targets {target}{assumed}: it selects no node, so "
                f"{_nothing_runs(doc, is_calico)}."
            )
            severity = Severity.HIGH
        else:
            message = (
                f"{how} {_require(how)} the label {MASTER}: it works on {target}, but kubeadm removes that label "
                "from control-plane nodes when the cluster is upgraded to v1.24; from then on it selects no node, "
                f"so {_nothing_runs(doc, is_calico)}."
            )
            severity = Severity.LOW
        yield Hit(
            message=message,
            fix=(
                f"Write the selector as has({CONTROL_PLANE})."
                if is_calico
                else f"Select {CONTROL_PLANE} instead, and tolerate the {CONTROL_PLANE} taint beside the old one."
            ),
            path=path,
            severity=severity,
            extra={"target_version": str(target)},
        )
    if pod is None:
        return
    toleration = _master_only_tolerations(pod.spec, pod.path)
    if toleration is None or pod_selections:
        return  # one cause, one finding: the selection's fix covers the toleration
    late = target >= TAINT_GONE
    yield Hit(
        message=(
            f"the pods tolerate the taint {MASTER} but not {CONTROL_PLANE}, the only one kubeadm puts on "
            + (
                f"control-plane nodes from v1.25; this scan targets {target}{assumed}: they can no longer run on them."
                if late
                else f"control-plane nodes from v1.25: once this {target} cluster is upgraded to v1.25 they can no longer run on them."
            )
        ),
        fix=f"Add a toleration {{key: {CONTROL_PLANE}, operator: Exists, effect: NoSchedule}} beside the old one.",
        path=toleration,
        severity=Severity.LOW,
        extra={"target_version": str(target)},
    )
