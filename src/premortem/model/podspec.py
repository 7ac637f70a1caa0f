"""The pod-spec walker: where every workload kind keeps its pod spec, and its containers.

Every rule that looks at containers goes through ``pod_spec_of`` and ``containers_of`` so that the
path to a field (for the finding's line and JSON pointer) is computed in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from premortem.load.document import Document, Path

# kind -> (accepted API groups, path from the object to its pod spec)
_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS: dict[str, tuple[frozenset[str], Path]] = {
    "Pod": (frozenset({""}), ("spec",)),
    "PodTemplate": (frozenset({""}), ("template", "spec")),
    "ReplicationController": (frozenset({""}), _TEMPLATE),
    "Deployment": (frozenset({"apps", "extensions"}), _TEMPLATE),
    "StatefulSet": (frozenset({"apps"}), _TEMPLATE),
    "DaemonSet": (frozenset({"apps", "extensions"}), _TEMPLATE),
    "ReplicaSet": (frozenset({"apps", "extensions"}), _TEMPLATE),
    "Job": (frozenset({"batch"}), _TEMPLATE),
    "CronJob": (frozenset({"batch"}), ("spec", "jobTemplate", "spec", "template", "spec")),
}
POD_BEARING_KINDS = frozenset(POD_SPEC_PATHS)
# Kinds whose pods are meant to run until stopped (probes matter); Jobs and CronJobs finish.
LONG_RUNNING_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "PodTemplate"}
)
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})
# Kinds whose pods run to completion: a pod lost is retried by the Job controller (a delayed or failed
# run), not a serving outage. Rules lower their severity for them where the consequence is smaller.
ONE_SHOT_KINDS = frozenset({"Job", "CronJob"})

CONTAINER = "container"
INIT = "init"
SIDECAR = "sidecar"  # an init container with restartPolicy: Always (KEP-753)
EPHEMERAL = "ephemeral"


@dataclass(frozen=True, slots=True)
class ContainerView:
    name: str | None
    role: str  # CONTAINER, INIT, SIDECAR or EPHEMERAL
    index: int
    path: Path  # from the object root to this container
    data: dict[str, Any]

    @property
    def is_init_like(self) -> bool:
        return self.role in (INIT, SIDECAR)

    def field(self, *keys: str) -> Any:
        value: Any = self.data
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value


@dataclass(frozen=True, slots=True)
class PodSpecView:
    doc: Document
    path: Path  # from the object root to the pod spec
    spec: dict[str, Any]

    @property
    def kind(self) -> str | None:
        return self.doc.kind

    def containers(self, include_ephemeral: bool = False) -> Iterator[ContainerView]:
        """App containers, then init containers (sidecars marked), then ephemeral ones if asked."""
        yield from self._list("containers", CONTAINER)
        yield from self._list("initContainers", INIT)
        if include_ephemeral:
            yield from self._list("ephemeralContainers", EPHEMERAL)

    def _list(self, key: str, role: str) -> Iterator[ContainerView]:
        items = self.spec.get(key)
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            actual_role = role
            if role == INIT and item.get("restartPolicy") == "Always":
                actual_role = SIDECAR
            name = item.get("name")
            yield ContainerView(
                name=name if isinstance(name, str) else None,
                role=actual_role,
                index=index,
                path=(*self.path, key, index),
                data=item,
            )


def pod_spec_path(doc: Document) -> Path | None:
    entry = POD_SPEC_PATHS.get(doc.kind or "")
    if entry is None or doc.api_group not in entry[0]:
        return None
    return entry[1]


def pod_spec_of(doc: Document) -> PodSpecView | None:
    """The pod spec of a pod-bearing object, or None (also when the object is malformed)."""
    path = pod_spec_path(doc)
    if path is None:
        return None
    value: Any = doc.obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if not isinstance(value, dict):
        return None
    return PodSpecView(doc, path, value)


def template_labels(doc: Document) -> dict[str, str]:
    """Labels of the pods this object creates (its own labels for a bare Pod)."""
    path = pod_spec_path(doc)
    if path is None:
        return {}
    meta_path = (*path[:-1], "metadata", "labels")
    value: Any = doc.obj
    for key in meta_path:
        if not isinstance(value, dict):
            return {}
        value = value.get(key)
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def replicas_of(doc: Document) -> int | None:
    """Declared replicas of a scalable kind; omitted means 1 (the API default). None for other kinds."""
    if doc.kind not in SCALABLE_KINDS:
        return None
    spec = doc.obj.get("spec")
    if not isinstance(spec, dict):
        return 1
    value = spec.get("replicas", 1)
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
