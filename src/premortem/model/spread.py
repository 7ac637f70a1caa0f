"""Where the replicas of one workload may land: the scheduler constraints that keep them apart.

A constraint is *hard* when the scheduler filters nodes with it (a pod stays Pending rather than
break it); *soft* when it only scores nodes. For one workload's own pods:

- required ``podAntiAffinity`` whose selector matches the pod's own labels: at most one such pod per
  topology domain (kubernetes/kubernetes pkg/scheduler/framework/plugins/interpodaffinity);
- ``topologySpreadConstraints`` with ``whenUnsatisfiable: DoNotSchedule`` selecting its own pods: a
  domain holds at most ``global minimum + maxSkew`` of them, so one domain can hold all of N
  replicas only when N <= maxSkew (plugins/podtopologyspread, filtering.go);
- a ``hostPort``: two pods asking for the same host port cannot share a node (plugins/nodeports).

Everything else only scores: preferred anti-affinity, ``ScheduleAnyway`` constraints, and the
scheduler's system default constraints (hostname maxSkew 3, zone maxSkew 5, ``ScheduleAnyway``),
which apply only to pods that set no constraints of their own (plugins/podtopologyspread/plugin.go
``systemDefaultConstraints``). A domain of any topology key contains whole nodes, so a hard spread
over zones also keeps the replicas off a single node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from premortem.load.document import Document, Path
from premortem.model.podspec import pod_spec_of, template_labels
from premortem.model.selectors import SelectorError, parse_selector

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"


@dataclass(frozen=True, slots=True)
class Spread:
    """One constraint that applies to a workload's own pods."""

    mechanism: str  # "required podAntiAffinity", "topologySpreadConstraint", "hostPort"
    topology_key: str
    hard: bool
    max_skew: int | None = None  # for topology spread constraints
    path: Path = ()

    def keeps_apart(self, replicas: int) -> bool:
        """True when ``replicas`` pods of the workload can never all sit in one domain (one node)."""
        if not self.hard or replicas < 2:
            return False
        if self.max_skew is None:
            return True
        return replicas > self.max_skew

    def describe(self) -> str:
        if self.mechanism == "hostPort":
            return f"hostPort {self.topology_key}"
        skew = f" maxSkew {self.max_skew}" if self.max_skew is not None else ""
        mode = (
            ""
            if self.mechanism.startswith(("required", "preferred"))
            else (f" {DO_NOT_SCHEDULE if self.hard else SCHEDULE_ANYWAY}")
        )
        return f"{self.mechanism} on {self.topology_key}{skew}{mode}"


def spreads_of(doc: Document) -> list[Spread]:
    """The constraints of ``doc``'s pod template that concern its own pods, hard and soft."""
    pod = pod_spec_of(doc)
    if pod is None:
        return []
    labels = template_labels(doc)
    out: list[Spread] = []
    affinity = _mapping(pod.spec.get("affinity"))
    anti = _mapping(affinity.get("podAntiAffinity"))
    for key, hard in (
        ("requiredDuringSchedulingIgnoredDuringExecution", True),
        ("preferredDuringSchedulingIgnoredDuringExecution", False),
    ):
        terms = anti.get(key)
        if not isinstance(terms, list):
            continue
        for i, term in enumerate(terms):
            if not hard:
                term = _mapping(term).get("podAffinityTerm")
            term = _mapping(term)
            if _selects_own(term.get("labelSelector"), labels) and _own_namespace(term, doc):
                mechanism = "required podAntiAffinity" if hard else "preferred podAntiAffinity"
                topology = str(term.get("topologyKey") or "")
                out.append(
                    Spread(mechanism, topology, hard, path=(*pod.path, "affinity", "podAntiAffinity", key, i))
                )
    constraints = pod.spec.get("topologySpreadConstraints")
    if isinstance(constraints, list):
        for i, raw in enumerate(constraints):
            c = _mapping(raw)
            skew = c.get("maxSkew")
            if (
                not _selects_own(c.get("labelSelector"), labels)
                or isinstance(skew, bool)
                or not isinstance(skew, int)
            ):
                continue
            out.append(
                Spread(
                    "topologySpreadConstraint",
                    str(c.get("topologyKey") or ""),
                    c.get("whenUnsatisfiable") == DO_NOT_SCHEDULE,
                    max_skew=skew,
                    path=(*pod.path, "topologySpreadConstraints", i),
                )
            )
    for container in pod.containers():
        ports = container.data.get("ports")
        for j, port in enumerate(ports if isinstance(ports, list) else []):
            host_port = _mapping(port).get("hostPort")
            if isinstance(host_port, int) and not isinstance(host_port, bool) and host_port > 0:
                out.append(Spread("hostPort", str(host_port), True, path=(*container.path, "ports", j)))
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _selects_own(raw: Any, labels: dict[str, str]) -> bool:
    """A term or constraint selector that matches the pods' own labels (a null selector matches none)."""
    if raw is None or not labels:
        return False
    try:
        return parse_selector(raw).matches(labels)
    except SelectorError:
        return False


def _own_namespace(term: dict[str, Any], doc: Document) -> bool:
    """Anti-affinity terms apply to the pod's own namespace unless they list others only."""
    namespaces = term.get("namespaces")
    if not isinstance(namespaces, list) or not namespaces or term.get("namespaceSelector") is not None:
        return True
    return doc.ref.namespace is None or doc.ref.namespace in namespaces
