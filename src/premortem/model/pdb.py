"""PodDisruptionBudgets as the disruption controller sees them: who they select, and what they allow.

``analyse_pdbs`` computes, for every PodDisruptionBudget read, the numbers the disruption controller
(kubernetes/kubernetes pkg/controller/disruption/disruption.go) would publish in its status once every
selected pod is Ready, the workloads are at their normal scale, and any HorizontalPodAutoscaler sits
at its ``minReplicas`` (the worst case):

- ``maxUnavailable`` (int or percent) and percentage ``minAvailable``: the denominator ("expected
  pods") is the sum of ``scale`` of the controllers owning the selected pods (Deployment,
  StatefulSet, ReplicaSet, ReplicationController); bare pods have no controller and add nothing.
  Percentages round **up** for both fields (``GetScaledValueFromIntOrPercent(..., true)``).
- integer ``minAvailable``: expected pods = the number of selected pods (bare pods count 1 each).
- ``disruptionsAllowed = currentHealthy - desiredHealthy``, floored at 0, and 0 whenever expected
  pods is 0 (so a PDB that sets neither field allows nothing).
- policy/v1 selector: null matches no pod, ``{}`` every pod of the namespace (policy/v1beta1: ``{}``
  matched nothing).

PDBs without a namespace are matched only with namespace-less workloads in the same directory tree
(the same input unit, see model/units.py); a PDB that matches nothing in its namespace also matches workloads of
related files that omit the namespace the other one states (``kubectl apply -n`` joins them). Pods of DaemonSets, Jobs and CronJobs cannot be counted from manifests
(one per eligible node, or ``parallelism`` pods that finish); such workloads are listed in
``uncounted`` and callers should not draw count-based conclusions when it is not empty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.load.document import Document, Path
from premortem.model.index import ObjectIndex, namespace_key, per_index
from premortem.model.podspec import SCALABLE_KINDS, replicas_of, template_labels
from premortem.model.selectors import NOTHING, Selector, SelectorError, parse_selector
from premortem.model.units import proximity
from premortem.model.units import same_unit as related_files

PDB_KIND = "PodDisruptionBudget"
HPA_KIND = "HorizontalPodAutoscaler"
# Pod-bearing kinds whose pod count a manifest cannot tell.
UNCOUNTED_KINDS = frozenset({"DaemonSet", "Job", "CronJob"})
# Pod-bearing kinds that create no pods of their own.
NO_POD_KINDS = frozenset({"PodTemplate"})
ALWAYS_ALLOW = "AlwaysAllow"
IF_HEALTHY_BUDGET = "IfHealthyBudget"

_PERCENT = re.compile(r"^(\d+)%$")


@dataclass
class PdbVerdict:
    pdb: Document
    selector: Selector  # policy/v1: null selector matches nothing, {} matches every pod of the namespace
    workloads: list[Document]  # pod-bearing objects in the PDB's namespace whose template labels match
    expected_pods: int  # denominator as the disruption controller computes it; HPA minReplicas as worst case
    desired_healthy: int
    allowed_disruptions: int  # at normal scale; 0 when expected is 0
    unhealthy_policy: str | None
    # Which budget field is set ("minAvailable", "maxUnavailable" or None) and its raw value.
    setting: str | None = None
    value: int | str | None = None
    # Pods selected at normal scale (what currentHealthy is when every pod is Ready).
    selected_pods: int = 0
    # Matched workloads whose pod count cannot be known from manifests (DaemonSet, Job, CronJob).
    uncounted: list[Document] = field(default_factory=list)
    # Workload -> the HPA whose minReplicas was used for it (keyed by id(workload)).
    hpas: dict[int, Document] = field(default_factory=dict)
    # Why the numbers mean nothing (invalid selector or value): the API server rejects the object.
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.pdb.ref.name or "<unnamed>"

    @property
    def counted(self) -> bool:
        """True when the numbers describe every selected pod (nothing uncounted, no problem)."""
        return self.problem is None and not self.uncounted

    @property
    def field_path(self) -> Path:
        return ("spec", self.setting) if self.setting else ("spec",)

    def pods_for_one_disruption(self) -> int | None:
        """The smallest number of selected (controller-managed) pods at which this budget allows one
        disruption, or None when no number of pods does."""
        value = self.value
        for n in range(1, 1001):
            try:
                if self.setting == "maxUnavailable" and value is not None:
                    desired = max(0, n - scaled_value(value, n))
                elif self.setting == "minAvailable" and value is not None:
                    desired = scaled_value(value, n)
                else:
                    return None
            except ValueError:
                return None
            if n - desired >= 1:
                return n
        return None

    def covers(self, workload: Document) -> bool:
        """True for a selected workload, or another copy of it (same kind, namespace and name)."""
        key = workload_key(workload)
        return any(w is workload or workload_key(w) == key for w in self.workloads)


def analyse_pdbs(index: ObjectIndex) -> list[PdbVerdict]:
    """A verdict for every PodDisruptionBudget in the index (computed once per index)."""
    return list(_verdicts(index))


@per_index
def _verdicts(index: ObjectIndex) -> list[PdbVerdict]:
    return [_analyse(doc, index) for doc in index.of_kind(PDB_KIND) if _is_pdb(doc)]


def analyse_pdb(doc: Document, index: ObjectIndex) -> PdbVerdict:
    """The verdict for one PodDisruptionBudget against the workloads of ``index`` (which need not
    hold this PDB: ``premortem fix`` checks an edited copy against the objects as they are)."""
    return _analyse(doc, index)


def pdbs_covering(workload: Document, index: ObjectIndex) -> list[PdbVerdict]:
    """The PDBs whose selector matches the pods ``workload`` creates (``PdbVerdict.covers``), looked
    up by the workload's identity instead of asking every PDB (capacity asks for every pod)."""
    return list(_covering(index).get(workload_key(workload), ()))


@per_index
def _covering(index: ObjectIndex) -> dict[tuple[str, str, str] | int, list[PdbVerdict]]:
    covering: dict[tuple[str, str, str] | int, list[PdbVerdict]] = {}
    for verdict in _verdicts(index):
        for key in dict.fromkeys(workload_key(w) for w in verdict.workloads):
            covering.setdefault(key, []).append(verdict)
    return covering


def effective_replicas(workload: Document, index: ObjectIndex) -> int | None:
    """Replicas at normal scale, with an HPA's minReplicas as the worst case; None if not scalable."""
    hpa = hpa_for(workload, index)
    if hpa is not None and workload.kind in SCALABLE_KINDS:
        return hpa_min_replicas(hpa)
    return replicas_of(workload)


def peak_replicas(workload: Document, index: ObjectIndex) -> tuple[int | None, Document | None]:
    """Replicas at peak: an HPA's ``maxReplicas`` where one targets the workload (with that HPA),
    else its declared replicas; None for kinds without replicas (DaemonSet, Job, Pod)."""
    hpa = hpa_for(workload, index) if workload.kind in SCALABLE_KINDS else None
    if hpa is not None:
        return hpa_max_replicas(hpa), hpa
    return replicas_of(workload), None


def hpa_max_replicas(hpa: Document) -> int:
    spec = hpa.obj.get("spec") if isinstance(hpa.obj, dict) else None
    value = spec.get("maxReplicas") if isinstance(spec, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return hpa_min_replicas(hpa)  # required by the API; a missing one is refused
    return max(value, hpa_min_replicas(hpa))


def hpa_min_replicas(hpa: Document) -> int:
    spec = hpa.obj.get("spec") if isinstance(hpa.obj, dict) else None
    value = spec.get("minReplicas") if isinstance(spec, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return 1  # API default
    return value


def scaled_value(value: int | str, total: int, round_up: bool = True) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int as is, a percentage of ``total``.

    Raises ValueError for strings that are not percentages (the API server rejects them).
    """
    if isinstance(value, int):
        return value
    match = _PERCENT.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is neither an integer nor a percentage")
    percent = int(match.group(1))
    if round_up:
        return math.ceil(percent * total / 100)
    return percent * total // 100


def _is_pdb(doc: Document) -> bool:
    return doc.api_group == "policy" and isinstance(doc.obj, dict)


def _target_key(doc: Document) -> tuple[str, str, str]:
    return (doc.kind or "", namespace_key(doc), doc.ref.name or "")


def workload_key(doc: Document) -> tuple[str, str, str] | int:
    """Identity of the object in a cluster: kind, namespace and name (the document itself if unnamed)."""
    return _target_key(doc) if doc.ref.name else id(doc)


@per_index
def hpa_targets(index: ObjectIndex) -> dict[tuple[str, str, str], list[Document]]:
    """The autoscaling HPAs by the (kind, namespace, name) they scale."""
    targets: dict[tuple[str, str, str], list[Document]] = {}
    for hpa in index.of_kind(HPA_KIND):
        if hpa.api_group != "autoscaling" or not isinstance(hpa.obj, dict):
            continue
        spec = hpa.obj.get("spec")
        ref = spec.get("scaleTargetRef") if isinstance(spec, dict) else None
        if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
            continue
        targets.setdefault((str(ref["kind"]), namespace_key(hpa), str(ref["name"])), []).append(hpa)
    return targets


def hpa_for(workload: Document, index: ObjectIndex) -> Document | None:
    """The HorizontalPodAutoscaler targeting ``workload`` (the one read nearest to it if several)."""
    candidates = hpa_targets(index).get(_target_key(workload))
    if not candidates:
        return None
    return min(candidates, key=lambda hpa: proximity(workload.file, hpa.file))


def _intorstr(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    return str(value)


def _controller_owner(doc: Document) -> tuple[str, str] | None:
    meta = doc.obj.get("metadata") if isinstance(doc.obj, dict) else None
    refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True and ref.get("kind") and ref.get("name"):
            return str(ref["kind"]), str(ref["name"])
    return None


def _top_level(workloads: Iterable[Document], index: ObjectIndex, near: str) -> list[Document]:
    """Drop objects whose controller is also in the index (a dump lists Deployment, ReplicaSet and
    pods): the controller's replicas already count them. Same-named duplicates (one object rendered
    in several files) count once, as the copy read nearest to ``near``."""
    out: list[Document] = []
    seen: set[tuple[str, str, str]] = set()
    for doc in sorted(workloads, key=lambda w: proximity(near, w.file)):
        if doc.kind in NO_POD_KINDS:
            continue
        owner = _controller_owner(doc)
        if owner is not None and index.get(owner[0], doc.ref.namespace, owner[1]) is not None:
            continue
        key = _target_key(doc)
        if doc.ref.name:
            if key in seen:
                continue
            seen.add(key)
        out.append(doc)
    return out


def _across_namespace_omission(doc: Document, selector: Selector, index: ObjectIndex) -> list[Document]:
    """Workloads of the same file that ``kubectl apply -n`` would put next to this PDB although one of
    the two omits its namespace (charts rendered without --namespace often mix both). Only the same
    file: across files the pair is as likely to be two renderings of different things."""
    own = doc.ref.namespace
    return [
        w
        for w in index.workloads_in_file(doc.file)
        if bool(w.ref.namespace) != bool(own) and selector.matches(template_labels(w))
    ]


def _analyse(doc: Document, index: ObjectIndex) -> PdbVerdict:
    spec = doc.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    policy = spec.get("unhealthyPodEvictionPolicy")
    verdict = PdbVerdict(
        pdb=doc,
        selector=NOTHING,
        workloads=[],
        expected_pods=0,
        desired_healthy=0,
        allowed_disruptions=0,
        unhealthy_policy=str(policy) if policy is not None else None,
    )
    raw_selector = spec.get("selector")
    try:
        selector = parse_selector(raw_selector, null_matches=False)
    except SelectorError as exc:
        verdict.problem = f"invalid selector: {exc}"
        return verdict
    if (doc.ref.api_version or "") == "policy/v1beta1" and selector.is_empty:
        selector = NOTHING  # v1beta1: an empty selector matched no pod
    verdict.selector = selector

    min_available = _intorstr(spec.get("minAvailable"))
    max_unavailable = _intorstr(spec.get("maxUnavailable"))
    if min_available is not None and max_unavailable is not None:
        verdict.problem = "minAvailable and maxUnavailable are both set (the API server rejects this)"
        verdict.setting = "maxUnavailable"
        verdict.value = max_unavailable
        return verdict
    if max_unavailable is not None:
        verdict.setting, verdict.value = "maxUnavailable", max_unavailable
    elif min_available is not None:
        verdict.setting, verdict.value = "minAvailable", min_available

    if not selector.matches_nothing:
        matched = index.workloads_matching(selector, doc.ref.namespace)
        if not doc.ref.namespace:
            matched = [w for w in matched if related_files(doc.file, w.file)]
        if not matched:
            matched = _across_namespace_omission(doc, selector, index)
        verdict.workloads = _top_level(matched, index, doc.file)

    scale = 0  # sum of controller scale (denominator for percentages and maxUnavailable)
    pods = 0  # selected pods at normal scale
    for workload in verdict.workloads:
        kind = workload.kind or ""
        if kind in UNCOUNTED_KINDS:
            verdict.uncounted.append(workload)
            continue
        if kind in SCALABLE_KINDS:
            hpa = hpa_for(workload, index)
            if hpa is not None:
                count: int | None = hpa_min_replicas(hpa)
                verdict.hpas[id(workload)] = hpa
            else:
                count = replicas_of(workload)
            if count is None:  # replicas is not a number (a template placeholder)
                verdict.uncounted.append(workload)
                continue
            scale += count
            pods += count
        elif kind == "Pod":
            pods += 1
            owner = _controller_owner(workload)
            if owner is not None and owner[0] in UNCOUNTED_KINDS:
                verdict.uncounted.append(workload)
            elif owner is not None:
                scale += 1  # owned by a controller not in the files: count the pods we see
        else:  # a custom resource's pods (Ray workers, LeaderWorkerSet groups): its controller's count
            verdict.uncounted.append(workload)
    verdict.selected_pods = pods

    value = verdict.value
    try:
        if verdict.setting == "maxUnavailable" and value is not None:
            expected = scale
            desired = max(0, expected - scaled_value(value, expected))
        elif verdict.setting == "minAvailable" and isinstance(value, int):
            expected = pods
            desired = value
        elif verdict.setting == "minAvailable" and value is not None:
            expected = scale
            desired = scaled_value(value, expected)
        else:
            expected, desired = 0, 0  # neither field: the controller computes nothing and allows nothing
    except ValueError as exc:
        verdict.problem = f"invalid {verdict.setting}: {exc} (the API server rejects this)"
        return verdict
    if isinstance(value, str):
        match = _PERCENT.match(value.strip())
        if match and int(match.group(1)) > 100:
            verdict.problem = f"{verdict.setting} {value} is above 100% (the API server rejects this)"
    if isinstance(value, int) and value < 0:
        verdict.problem = f"{verdict.setting} {value} is negative (the API server rejects this)"
    verdict.expected_pods = expected
    verdict.desired_healthy = desired
    verdict.allowed_disruptions = max(0, pods - desired) if expected > 0 else 0
    return verdict
