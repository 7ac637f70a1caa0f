"""Critical pods: which pods the kubelet never evicts and which the OOM killer spares.

One notion for every rule that speaks of eviction or OOM order (RES001, RES003, ETC001/ETC002,
capacity):

- The kubelet's eviction manager refuses to evict a **critical** pod: a static pod, a mirror pod,
  or a pod whose priority is at least ``SystemCriticalPriority`` (2 000 000 000), which is what the
  built-in classes ``system-cluster-critical`` (2e9) and ``system-node-critical`` (2e9 + 1000)
  give. User-defined PriorityClasses are capped at 1e9, so only the two built-in names count.
  (kubernetes/kubernetes pkg/kubelet/eviction/eviction_manager.go ``evictPod``;
  pkg/kubelet/types/pod_update.go ``IsCriticalPod``.)
- The kubelet gives ``oom_score_adj`` -997 (as to a Guaranteed pod) to **node-critical** pods only:
  critical *and* ``priorityClassName: system-node-critical``. A ``system-cluster-critical`` or a
  static pod without that class keeps the score of its QoS class (a BestEffort one gets 1000).
  (pkg/kubelet/qos/policy.go ``GetContainerOOMScoreAdjust``, pod_update.go ``IsNodeCriticalPod``.)
- A static pod is read by the kubelet from its manifest directory (``/etc/kubernetes/manifests``):
  it is not scheduled, and it cannot be evicted or re-admitted. In a manifest we recognise it by
  the kubelet's own annotations (``kubernetes.io/config.source``, ``config.mirror``, ``config.hash``
  in a dump of a mirror pod), a ``Node`` owner (mirror pods), kubeadm's ``tier: control-plane``
  label, or ``hostNetwork: true`` on a Pod that names no namespace (a node manifest, not an app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from premortem.load.document import Document
from premortem.model.podspec import pod_spec_of

NODE_CRITICAL = "system-node-critical"
CLUSTER_CRITICAL = "system-cluster-critical"
CRITICAL_PRIORITY_CLASSES = frozenset({NODE_CRITICAL, CLUSTER_CRITICAL})
_KUBELET_ANNOTATIONS = (
    "kubernetes.io/config.source",
    "kubernetes.io/config.mirror",
    "kubernetes.io/config.hash",
)


@dataclass(frozen=True, slots=True)
class Criticality:
    priority_class: str | None  # as written (None: unset)
    static: bool

    @property
    def critical(self) -> bool:
        """The kubelet's eviction manager never evicts this pod."""
        return self.static or self.priority_class in CRITICAL_PRIORITY_CLASSES

    @property
    def node_critical(self) -> bool:
        """The kubelet gives it oom_score_adj -997 whatever its QoS class."""
        return self.priority_class == NODE_CRITICAL

    def reason(self) -> str:
        """Why it is critical, in words ('' when it is not)."""
        parts = []
        if self.priority_class in CRITICAL_PRIORITY_CLASSES:
            parts.append(f"priorityClassName {self.priority_class}")
        if self.static:
            parts.append("a static pod")
        return " and ".join(parts)


def criticality_of(doc: Document) -> Criticality:
    """The criticality of the pods ``doc`` creates (computed once per document)."""
    cached = doc.cache.get("criticality")
    if isinstance(cached, Criticality):
        return cached
    pod = pod_spec_of(doc)
    value = pod.spec.get("priorityClassName") if pod is not None else None
    result = Criticality(value if isinstance(value, str) else None, is_static_pod(doc))
    doc.cache["criticality"] = result
    return result


def is_static_pod(doc: Document) -> bool:
    """A Pod the kubelet runs from its manifest directory (see the module documentation)."""
    if doc.kind != "Pod" or doc.api_group != "" or not isinstance(doc.obj, dict):
        return False
    meta = _mapping(doc.obj.get("metadata"))
    annotations = _mapping(meta.get("annotations"))
    if any(key in annotations for key in _KUBELET_ANNOTATIONS):
        return True
    owners = meta.get("ownerReferences")
    if isinstance(owners, list) and any(isinstance(o, dict) and o.get("kind") == "Node" for o in owners):
        return True
    if _mapping(meta.get("labels")).get("tier") == "control-plane":
        return True
    spec = _mapping(doc.obj.get("spec"))
    return spec.get("hostNetwork") is True and not meta.get("namespace")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
