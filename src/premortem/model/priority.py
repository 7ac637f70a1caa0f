"""Pod priority as the Priority admission plugin resolves it, from the PriorityClasses read.

A pod's ``spec.priority`` is set at admission from its ``priorityClassName`` (the class's ``value``),
else from the one PriorityClass with ``globalDefault: true``, else 0; its ``preemptionPolicy`` comes
from the class (default ``PreemptLowerPriority``). User classes may not exceed 1,000,000,000; the
two built-in classes sit above: ``system-cluster-critical`` 2,000,000,000 and
``system-node-critical`` 2,000,001,000 (kubernetes/kubernetes plugin/pkg/admission/priority,
pkg/apis/scheduling). Pods at or above 2,000,000,000 are critical: the kubelet never evicts them
for node pressure (pkg/kubelet/types ``IsCriticalPod``).

A ``globalDefault`` class applies to the whole cluster; here only to objects read in a related folder
(``model.pdb.related_files``), because unrelated projects scanned together are not one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from premortem.load.document import Document
from premortem.model.criticality import CLUSTER_CRITICAL, NODE_CRITICAL
from premortem.model.index import ObjectIndex, per_index
from premortem.model.pdb import proximity, related_files
from premortem.model.podspec import pod_spec_of

HIGHEST_USER_DEFINABLE = 1_000_000_000
SYSTEM_CRITICAL = 2 * HIGHEST_USER_DEFINABLE
SYSTEM_CLASSES = {CLUSTER_CRITICAL: SYSTEM_CRITICAL, NODE_CRITICAL: SYSTEM_CRITICAL + 1000}
PREEMPT = "PreemptLowerPriority"
NEVER = "Never"


@dataclass(frozen=True, slots=True)
class PriorityClass:
    name: str
    value: int
    global_default: bool
    preemption_policy: str
    doc: Document | None  # None for the built-in classes


@dataclass(frozen=True, slots=True)
class PodPriority:
    value: int
    source: str  # "PriorityClass NAME", "globalDefault PriorityClass NAME" or "no priority class"
    preemption_policy: str
    known: bool  # False when the class named is neither read nor built in

    @property
    def critical(self) -> bool:
        return self.value >= SYSTEM_CRITICAL


@per_index
def priority_classes(index: ObjectIndex) -> dict[str, PriorityClass]:
    """Every PriorityClass read, plus the built-in ones, by name (computed once per index)."""
    found = {name: PriorityClass(name, value, False, PREEMPT, None) for name, value in SYSTEM_CLASSES.items()}
    for doc in index.of_kind("PriorityClass"):
        parsed = parse_priority_class(doc)
        if parsed is not None and parsed.name not in SYSTEM_CLASSES:
            found.setdefault(parsed.name, parsed)
    return found


def global_default(index: ObjectIndex, near: Document) -> PriorityClass | None:
    """The globalDefault class that applies to ``near``: one read in a related folder (unrelated
    projects scanned together are not one cluster), the nearest if several."""
    defaults = [
        pc
        for pc in priority_classes(index).values()
        if pc.global_default and pc.doc is not None and related_files(pc.doc.file, near.file)
    ]
    if not defaults:
        return None
    return min(defaults, key=lambda pc: (proximity(near.file, pc.doc.file if pc.doc else ""), pc.name))


def pod_priority(doc: Document, index: ObjectIndex) -> PodPriority | None:
    """The priority the pods of ``doc`` are admitted with; None for objects without a pod spec."""
    pod = pod_spec_of(doc)
    if pod is None:
        return None
    classes = priority_classes(index)
    name = pod.spec.get("priorityClassName")
    if isinstance(name, str) and name:
        pc = classes.get(name)
        if pc is None:
            return PodPriority(0, f"PriorityClass {name} (not among the files read)", PREEMPT, False)
        policy = pod.spec.get("preemptionPolicy") or pc.preemption_policy
        return PodPriority(pc.value, f"PriorityClass {name}", str(policy), True)
    default = global_default(index, doc)
    if default is not None:
        return PodPriority(
            default.value, f"globalDefault PriorityClass {default.name}", default.preemption_policy, True
        )
    return PodPriority(0, "no priority class", PREEMPT, True)


def parse_priority_class(doc: Document) -> PriorityClass | None:
    if doc.api_group != "scheduling.k8s.io" or not isinstance(doc.obj, dict):
        return None
    value = doc.obj.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or not doc.ref.name:
        return None
    policy = doc.obj.get("preemptionPolicy") or PREEMPT
    return PriorityClass(doc.ref.name, value, doc.obj.get("globalDefault") is True, str(policy), doc)
