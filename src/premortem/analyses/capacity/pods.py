"""Workloads expanded to the pods the scheduler will have to place, with what decides where they fit.

- Deployment, StatefulSet, ReplicaSet, ReplicationController: ``spec.replicas`` (default 1); when a
  HorizontalPodAutoscaler targets one, its ``minReplicas`` (default 1) in the base scenario and its
  ``maxReplicas`` in the peak scenario;
- DaemonSet: one pod per eligible node (node selector, required node affinity, taints against its
  tolerations plus the ones the DaemonSet controller adds), pinned to that node;
- Job: ``parallelism`` (default 1, at most ``completions``), none when suspended; CronJob: its job
  template's parallelism, none when suspended;
- bare Pod: once (pinned when ``spec.nodeName`` is set); Succeeded and Failed pods are done.

Objects whose controller is also in the input (a cluster dump lists the Deployment, its ReplicaSets
and its pods) are counted through the controller only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from premortem.analyses.capacity.nodes import BLOCKING_EFFECTS, SimNode, Taint
from premortem.load.document import Document
from premortem.model.index import ObjectIndex, namespace_key
from premortem.model.pdb import hpa_for
from premortem.model.podspec import (
    SCALABLE_KINDS,
    PodSpecView,
    TemplateUnit,
    pod_spec_of,
    replicas_of,
    template_labels,
)
from premortem.model.resources import resources_of
from premortem.model.selectors import Selector, SelectorError, parse_selector

# Kinds whose pods we count (PodTemplate creates none).
COUNTED_KINDS = (
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
)
_CONTROLLER_KINDS = frozenset(COUNTED_KINDS) - {"Pod"}
# pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations.
DAEMONSET_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, taint: Taint) -> bool:
        """k8s.io/api core/v1 ``Toleration.ToleratesTaint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


@dataclass(frozen=True, slots=True)
class NodeRequirement:
    key: str
    operator: str
    values: tuple[str, ...]
    field: bool = False  # matchFields (metadata.name) instead of matchExpressions

    def matches(self, node: SimNode) -> bool:
        if self.field:
            value: str | None = node.name if self.key == "metadata.name" else None
        else:
            value = node.labels.get(self.key)
        op = self.operator
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if op in ("Gt", "Lt"):
            try:
                have, want = int(value or ""), int(self.values[0])
            except (ValueError, IndexError):
                return False
            return have > want if op == "Gt" else have < want
        return False


@dataclass(frozen=True, slots=True)
class AntiAffinityTerm:
    selector: Selector
    namespaces: frozenset[str] | None  # None: every namespace
    topology_key: str


@dataclass(slots=True)
class Constraints:
    """Everything about a pod that decides which nodes it may land on (shared by a workload's pods)."""

    node_selector: dict[str, str] = field(default_factory=dict)
    # OR of terms, each an AND of requirements; None = no required node affinity.
    affinity: tuple[tuple[NodeRequirement, ...], ...] | None = None
    tolerations: tuple[Toleration, ...] = ()
    anti_affinity: tuple[AntiAffinityTerm, ...] = ()

    def selector_matches(self, node: SimNode) -> bool:
        return all(node.labels.get(k) == v for k, v in self.node_selector.items())

    def affinity_matches(self, node: SimNode) -> bool:
        if self.affinity is None:
            return True
        return any(term and all(r.matches(node) for r in term) for term in self.affinity)

    def untolerated(self, node: SimNode) -> Taint | None:
        for taint in node.taints:
            if taint.effect in BLOCKING_EFFECTS and not any(t.tolerates(taint) for t in self.tolerations):
                return taint
        return None


@dataclass(eq=False, slots=True)
class SimPod:
    name: str
    workload: Document
    namespace: str
    labels: Mapping[str, str]
    cpu: int
    memory: int
    memory_limit: int | None  # None: unbounded
    cpu_limit: int | None
    constraints: Constraints
    pinned: str | None = None  # node name: DaemonSet pods, pods with spec.nodeName
    daemon: bool = False
    owner: str = ""  # the workload's namespace/name

    @property
    def group(self) -> int:
        return id(self.workload)

    def __repr__(self) -> str:
        return f"SimPod({self.name})"


@dataclass(slots=True)
class Workload:
    doc: Document
    kind: str
    name: str  # namespace/name for display
    namespace: str
    labels: dict[str, str]
    requests: dict[str, int]
    limits: dict[str, int | None]
    constraints: Constraints
    replicas_base: int
    replicas_peak: int
    hpa: Document | None = None
    node_name: str | None = None

    @property
    def daemon(self) -> bool:
        return self.kind == "DaemonSet"


def workloads_of(index: ObjectIndex, notes: list[str]) -> list[Workload]:
    """Every workload in the input that creates pods, once, with its replicas in both scenarios."""
    namespace_labels = _namespace_labels(index)
    out: list[Workload] = []
    seen: set[tuple[str, str, str]] = set()
    unsupported: dict[str, list[str]] = {}
    static: list[str] = []
    for kind in COUNTED_KINDS:
        for doc in index.of_kind(kind):
            pod = pod_spec_of(doc)
            if pod is None:
                continue
            key = (kind, namespace_key(doc), doc.ref.name or f"@{doc.file}:{doc.line}")
            if key in seen or _counted_by_owner(doc, index):
                continue
            if _static_control_plane(doc):
                static.append(doc.ref.name or "?")
                continue
            seen.add(key)
            res = resources_of(doc)
            if res is None:
                continue
            base = peak = _pod_count(doc)
            hpa = hpa_for(doc, index)
            if hpa is not None and kind in SCALABLE_KINDS:
                base, peak = _hpa_range(hpa)
            spec = pod.spec
            constraints = _constraints(spec, doc, namespace_labels, unsupported)
            _unmodelled(pod, f"{kind} {doc.ref.name}", unsupported)
            node_name = spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else None
            name = doc.ref.name or "<unnamed>"
            out.append(
                Workload(
                    doc=doc,
                    kind=kind,
                    name=f"{doc.ref.namespace}/{name}" if doc.ref.namespace else name,
                    namespace=namespace_key(doc),
                    labels=template_labels(doc),
                    requests={"cpu": res.requests.get("cpu", 0), "memory": res.requests.get("memory", 0)},
                    limits={"cpu": res.limits.get("cpu"), "memory": res.limits.get("memory")},
                    constraints=constraints,
                    replicas_base=base,
                    replicas_peak=peak,
                    hpa=hpa,
                    node_name=node_name,
                )
            )
    if static:
        notes.append(
            f"Static control-plane pods ({', '.join(sorted(static))}: kube-system, tier: control-plane) are run by "
            "the kubelet of each control-plane node, not scheduled: left out."
        )
    custom = sorted({f"{u.kind} {u.ref.name}" for u in index.workloads() if isinstance(u, TemplateUnit)})
    if custom:  # their controllers decide how many pods run (Ray autoscaling, LeaderWorkerSet groups)
        unsupported["pods of custom resources (their controller decides how many run)"] = custom
    for what, names in sorted(unsupported.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.append(f"Not simulated (treated as absent): {what}, used by {shown}.")
    return out


def daemon_eligible(workload: Workload, node: SimNode) -> bool:
    """Would the DaemonSet controller create a pod for this node (nodeShouldRunDaemonPod)?"""
    c = workload.constraints
    if not (c.selector_matches(node) and c.affinity_matches(node)):
        return False
    return c.untolerated(node) is None


def expand(workloads: list[Workload], nodes: list[SimNode], peak: bool = False) -> list[SimPod]:
    """The pods of every workload in a scenario: DaemonSet pods first (pinned), then the rest."""
    daemons: list[SimPod] = []
    others: list[SimPod] = []
    for w in workloads:
        if w.daemon:
            for node in nodes:
                if daemon_eligible(w, node):
                    daemons.append(_pod(w, f"{w.name}@{node.name}", pinned=node.name, daemon=True))
            continue
        count = w.replicas_peak if peak else w.replicas_base
        for i in range(count):
            label = f"{w.name}-{i}" if count > 1 or w.kind != "Pod" else w.name
            others.append(_pod(w, label, pinned=w.node_name))
    return daemons + others


def _pod(w: Workload, name: str, pinned: str | None, daemon: bool = False) -> SimPod:
    return SimPod(
        name=name,
        workload=w.doc,
        namespace=w.namespace,
        labels=w.labels,
        cpu=w.requests["cpu"],
        memory=w.requests["memory"],
        memory_limit=w.limits["memory"],
        cpu_limit=w.limits["cpu"],
        constraints=w.constraints,
        pinned=pinned,
        daemon=daemon,
        owner=w.name,
    )


# ---------------------------------------------------------------------------------------- counting
def _static_control_plane(doc: Document) -> bool:
    """kubeadm's static pod manifests (/etc/kubernetes/manifests): never scheduled, so not packed."""
    if doc.kind != "Pod" or doc.ref.namespace != "kube-system":
        return False
    meta = _map(doc.obj.get("metadata"))
    return _map(meta.get("labels")).get("tier") == "control-plane" and not meta.get("ownerReferences")


def _pod_count(doc: Document) -> int:
    kind = doc.kind
    spec = _map(doc.obj.get("spec"))
    if kind in SCALABLE_KINDS:
        replicas = replicas_of(doc)
        return max(0, replicas if replicas is not None else 1)
    if kind == "Job":
        return _job_pods(spec)
    if kind == "CronJob":
        if spec.get("suspend") is True:
            return 0
        job = spec.get("jobTemplate", {}).get("spec") if isinstance(spec.get("jobTemplate"), dict) else None
        return _job_pods(job if isinstance(job, dict) else {})
    if kind == "Pod":
        status = _map(doc.obj.get("status"))
        return 0 if status.get("phase") in ("Succeeded", "Failed") else 1
    return 1


def _job_pods(spec: dict[str, Any]) -> int:
    if spec.get("suspend") is True:
        return 0
    parallelism = _int(spec.get("parallelism"), 1)
    completions = spec.get("completions")
    if isinstance(completions, int) and not isinstance(completions, bool):
        parallelism = min(parallelism, completions)
    return max(0, parallelism)


def _hpa_range(hpa: Document) -> tuple[int, int]:
    spec = _map(hpa.obj.get("spec"))
    low = _int(spec.get("minReplicas"), 1)
    high = _int(spec.get("maxReplicas"), low)
    return low, max(low, high)


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def _counted_by_owner(doc: Document, index: ObjectIndex) -> bool:
    """True when the object's controller (or, for a pod, its ReplicaSet's Deployment) is in the input."""
    meta = _map(doc.obj.get("metadata"))
    refs = meta.get("ownerReferences")
    if not isinstance(refs, list):
        return False
    for ref in refs:
        if not isinstance(ref, dict) or ref.get("controller") is not True:
            continue
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        if kind not in _CONTROLLER_KINDS or not name:
            continue
        if index.get(kind, doc.ref.namespace, name) is not None:
            return True
        # A ReplicaSet is named <deployment>-<hash>, a CronJob's Job <cronjob>-<time>.
        parent = {"ReplicaSet": "Deployment", "Job": "CronJob"}.get(kind)
        if parent and "-" in name and index.get(parent, doc.ref.namespace, name.rsplit("-", 1)[0]):
            return True
    return False


# ---------------------------------------------------------------------------------------- constraints
def _constraints(
    spec: dict[str, Any],
    doc: Document,
    namespace_labels: dict[str, dict[str, str]],
    unsupported: dict[str, list[str]],
) -> Constraints:
    name = f"{doc.kind} {doc.ref.name}"
    selector = spec.get("nodeSelector")
    node_selector = {str(k): _text(v) for k, v in selector.items()} if isinstance(selector, dict) else {}
    tolerations = tuple(_tolerations(spec.get("tolerations")))
    if doc.kind == "DaemonSet":
        extra = list(DAEMONSET_TOLERATIONS)
        if spec.get("hostNetwork") is True:
            extra.append(NETWORK_UNAVAILABLE)
        tolerations += tuple(Toleration(k, "Exists", "", e) for k, e in extra)
    affinity = _map(spec.get("affinity"))
    node_aff = _map(affinity.get("nodeAffinity"))
    required = node_aff.get("requiredDuringSchedulingIgnoredDuringExecution")
    terms = None
    if isinstance(required, dict):
        terms = tuple(_node_term(t) for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict))
    anti: list[AntiAffinityTerm] = []
    pod_anti = _map(affinity.get("podAntiAffinity"))
    own_ns = namespace_key(doc)
    for term in pod_anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        if not isinstance(term, dict) or not term.get("topologyKey"):
            continue
        try:
            label_selector = parse_selector(term.get("labelSelector"))
        except SelectorError:
            unsupported.setdefault("a malformed pod anti-affinity labelSelector", []).append(name)
            continue
        anti.append(
            AntiAffinityTerm(
                label_selector,
                _term_namespaces(term, own_ns, namespace_labels),
                str(term["topologyKey"]),
            )
        )
    pod_aff = _map(affinity.get("podAffinity"))
    if pod_aff.get("requiredDuringSchedulingIgnoredDuringExecution"):
        unsupported.setdefault("Required pod affinity", []).append(name)
    spread = spec.get("topologySpreadConstraints")
    if isinstance(spread, list) and any(
        isinstance(c, dict) and c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule" for c in spread
    ):
        unsupported.setdefault("topologySpreadConstraints with whenUnsatisfiable DoNotSchedule", []).append(
            name
        )
    return Constraints(node_selector, terms, tolerations, tuple(anti))


def _unmodelled(pod: PodSpecView, name: str, unsupported: dict[str, list[str]]) -> None:
    """Note what decides feasibility but is not simulated: extended resources (GPUs...), hostPorts."""
    extended = hostports = False
    for c in pod.containers():
        for section in ("requests", "limits"):
            values = c.field("resources", section)
            if isinstance(values, dict) and any(
                k not in ("cpu", "memory", "ephemeral-storage") and not str(k).startswith("hugepages-")
                for k in values
            ):
                extended = True
        ports = c.field("ports")
        if isinstance(ports, list) and any(isinstance(p, dict) and p.get("hostPort") for p in ports):
            hostports = True
    if extended:
        unsupported.setdefault("Extended resources (GPUs and other device requests)", []).append(name)
    if hostports:
        unsupported.setdefault("hostPort (one pod per port and node)", []).append(name)


def _node_term(term: dict[str, Any]) -> tuple[NodeRequirement, ...]:
    out = []
    for key, is_field in (("matchExpressions", False), ("matchFields", True)):
        for expr in term.get(key) or []:
            if isinstance(expr, dict) and expr.get("key") and expr.get("operator"):
                values = tuple(_text(v) for v in expr.get("values") or [])
                out.append(NodeRequirement(str(expr["key"]), str(expr["operator"]), values, is_field))
    return tuple(out)


def _tolerations(value: Any) -> list[Toleration]:
    out = []
    for tol in value if isinstance(value, list) else []:
        if isinstance(tol, dict):
            out.append(
                Toleration(
                    _text(tol.get("key")),
                    _text(tol.get("operator")) or "Equal",
                    _text(tol.get("value")),
                    _text(tol.get("effect")),
                )
            )
    return out


def _term_namespaces(
    term: dict[str, Any], own: str, namespace_labels: dict[str, dict[str, str]]
) -> frozenset[str] | None:
    """Namespaces a pod (anti-)affinity term looks at: listed ones, the selector's, or the pod's own."""
    listed = {str(n) for n in term.get("namespaces") or []}
    ns_selector = term.get("namespaceSelector")
    if ns_selector is None:
        return frozenset(listed or {own})
    try:
        selector = parse_selector(ns_selector)
    except SelectorError:
        return frozenset(listed or {own})
    if selector.is_empty:
        return None
    known = {ns: {**labels, "kubernetes.io/metadata.name": ns} for ns, labels in namespace_labels.items()}
    return frozenset(listed | {ns for ns, labels in known.items() if selector.matches(labels)})


def _namespace_labels(index: ObjectIndex) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for doc in index.of_kind("Namespace"):
        meta = _map(doc.obj.get("metadata"))
        labels = _map(meta.get("labels"))
        if doc.ref.name:
            out[doc.ref.name] = {str(k): _text(v) for k, v in labels.items()}
    for doc in index.documents:
        ns = doc.ref.namespace
        if ns:
            out.setdefault(ns, {})
    return out


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
