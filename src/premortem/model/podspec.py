"""The pod-spec walker: where every workload kind keeps its pod spec, and its containers.

Every rule that looks at containers goes through ``pod_spec_of`` and ``PodSpecView.containers`` so
that the path to a field (for the finding's line and JSON pointer) is computed in one place.

Custom resources carry ordinary pod templates too (Argo Rollouts, Knative, LeaderWorkerSet, KubeRay,
Kubeflow training jobs, JobSet, KEDA ScaledJobs, Argo Workflows), some of them several (a RayCluster's
head and each worker group). ``CUSTOM_POD_SOURCES`` says where each kind keeps them, and
``pod_units`` turns such an object into one ``TemplateUnit`` per template: a Document of the same
object, file and line that stands for the pods of that template alone. The engine hands pod rules
those units and ``ObjectIndex.workloads`` lists them, so every pod rule applies to custom resources
unchanged; ``pod_spec_of`` of the custom resource itself is None (it is not one pod).
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
# Kinds whose pods are meant to run until stopped (probes matter); Jobs and CronJobs finish.
_BUILTIN_LONG_RUNNING = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "PodTemplate"}
)
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Rollout"})
# Kinds whose pods run to completion: a pod lost is retried by the Job controller (a delayed or failed
# run), not a serving outage. Rules lower their severity for them where the consequence is smaller.
_BUILTIN_ONE_SHOT = frozenset({"Job", "CronJob"})

CONTAINER = "container"
INIT = "init"
SIDECAR = "sidecar"  # an init container with restartPolicy: Always (KEP-753)
EPHEMERAL = "ephemeral"

ANY = "*"  # in a template path: every item of a list, every value of a map


@dataclass(frozen=True, slots=True)
class ContainerSource:
    """Where a pod-spec-like object keeps containers: ``key`` is a list, or one container if ``single``."""

    key: tuple[str, ...]
    role: str
    single: bool = False
    default_name: str | None = None


POD_SHAPE = (ContainerSource(("containers",), CONTAINER), ContainerSource(("initContainers",), INIT))
# An Argo Workflows template: one `container` or `script` (named "main"), or a `containerSet`, plus
# its own initContainers and sidecars (fields: argoproj/argo-workflows pkg/apis/workflow/v1alpha1).
ARGO_TEMPLATE_SHAPE = (
    ContainerSource(("container",), CONTAINER, single=True, default_name="main"),
    ContainerSource(("script",), CONTAINER, single=True, default_name="main"),
    ContainerSource(("containerSet", "containers"), CONTAINER),
    ContainerSource(("sidecars",), CONTAINER),
    ContainerSource(("initContainers",), INIT),
)


@dataclass(frozen=True, slots=True)
class InjectedContainer:
    """A container the controller adds to every pod of the template (cpu in millicores, memory in
    bytes, as its default configuration sets them): it counts for the pod's QoS class and requests."""

    name: str
    role: str
    requests: tuple[tuple[str, int], ...] = ()
    limits: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PodSource:
    """Where one custom resource kind keeps its pod templates."""

    groups: frozenset[str]
    paths: tuple[Path, ...]  # to each pod spec; ANY expands over list items and map values
    long_running: bool  # its pods run until stopped (probes matter), or run to completion
    shape: tuple[ContainerSource, ...] = POD_SHAPE
    injected: tuple[InjectedContainer, ...] = ()


def _ray(prefix: Path) -> tuple[Path, ...]:
    return (
        (*prefix, "headGroupSpec", "template", "spec"),
        (*prefix, "workerGroupSpecs", ANY, "template", "spec"),
    )


def _kubeflow(field_name: str) -> PodSource:
    return PodSource(frozenset({"kubeflow.org"}), (("spec", field_name, ANY, "template", "spec"),), False)


def _argo(prefix: Path) -> PodSource:
    # The executor adds an `init` init container and a `wait` sidecar, without resources unless the
    # controller's config sets them (workflow/controller/workflowpod.go newExecContainer).
    executor = (InjectedContainer("init", INIT), InjectedContainer("wait", CONTAINER))
    return PodSource(
        frozenset({"argoproj.io"}), ((*prefix, "templates", ANY),), False, ARGO_TEMPLATE_SHAPE, executor
    )


_KNATIVE = frozenset({"serving.knative.dev"})
# Knative adds the queue-proxy container: requests.cpu 25m unless config-deployment says otherwise
# (knative/serving config/core/configmaps/deployment.yaml queue-sidecar-cpu-request).
_QUEUE_PROXY = (InjectedContainer("queue-proxy", CONTAINER, requests=(("cpu", 25),)),)

CUSTOM_POD_SOURCES: dict[str, PodSource] = {
    "Rollout": PodSource(frozenset({"argoproj.io"}), (_TEMPLATE,), True),
    "Service": PodSource(_KNATIVE, (_TEMPLATE,), True, injected=_QUEUE_PROXY),
    "Configuration": PodSource(_KNATIVE, (_TEMPLATE,), True, injected=_QUEUE_PROXY),
    "Revision": PodSource(_KNATIVE, (("spec",),), True, injected=_QUEUE_PROXY),
    "LeaderWorkerSet": PodSource(
        frozenset({"leaderworkerset.x-k8s.io"}),
        (
            ("spec", "leaderWorkerTemplate", "leaderTemplate", "spec"),
            ("spec", "leaderWorkerTemplate", "workerTemplate", "spec"),
        ),
        True,
    ),
    "RayCluster": PodSource(frozenset({"ray.io"}), _ray(("spec",)), True),
    "RayService": PodSource(frozenset({"ray.io"}), _ray(("spec", "rayClusterConfig")), True),
    "RayJob": PodSource(
        frozenset({"ray.io"}),
        (*_ray(("spec", "rayClusterSpec")), ("spec", "submitterPodTemplate", "spec")),
        False,
    ),
    "JobSet": PodSource(
        frozenset({"jobset.x-k8s.io"}),
        (("spec", "replicatedJobs", ANY, "template", "spec", "template", "spec"),),
        False,
    ),
    "ScaledJob": PodSource(frozenset({"keda.sh"}), (("spec", "jobTargetRef", "template", "spec"),), False),
    "PyTorchJob": _kubeflow("pytorchReplicaSpecs"),
    "TFJob": _kubeflow("tfReplicaSpecs"),
    "MPIJob": _kubeflow("mpiReplicaSpecs"),
    "XGBoostJob": _kubeflow("xgbReplicaSpecs"),
    "PaddleJob": _kubeflow("paddleReplicaSpecs"),
    "MXJob": _kubeflow("mxReplicaSpecs"),
    "JAXJob": _kubeflow("jaxReplicaSpecs"),
    "Workflow": _argo(("spec",)),
    "WorkflowTemplate": _argo(("spec",)),
    "ClusterWorkflowTemplate": _argo(("spec",)),
    "CronWorkflow": _argo(("spec", "workflowSpec")),
}
POD_BEARING_KINDS = frozenset(POD_SPEC_PATHS) | frozenset(CUSTOM_POD_SOURCES)
LONG_RUNNING_KINDS = _BUILTIN_LONG_RUNNING | frozenset(
    k for k, s in CUSTOM_POD_SOURCES.items() if s.long_running
)
ONE_SHOT_KINDS = _BUILTIN_ONE_SHOT | frozenset(k for k, s in CUSTOM_POD_SOURCES.items() if not s.long_running)


def is_one_shot(doc: Document) -> bool:
    """Pods that run to completion: a Job, a CronJob (or a custom kind like them), or a bare Pod with
    ``restartPolicy: Never`` or ``OnFailure`` (a Helm test hook, a migration, a debugging client)."""
    if doc.kind in ONE_SHOT_KINDS:
        return True
    spec = doc.obj.get("spec") if doc.kind == "Pod" and isinstance(doc.obj, dict) else None
    return isinstance(spec, dict) and spec.get("restartPolicy") in ("Never", "OnFailure")


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
    shape: tuple[ContainerSource, ...] = POD_SHAPE
    # Containers the controller adds to every pod (Knative's queue-proxy, Argo's executor): they are
    # not in the manifest, so rules never report on them, but they change the pod's QoS and requests.
    injected: tuple[InjectedContainer, ...] = ()

    @property
    def kind(self) -> str | None:
        return self.doc.kind

    def containers(self, include_ephemeral: bool = False) -> Iterator[ContainerView]:
        """App containers, then init containers (sidecars marked), then ephemeral ones if asked.
        Listed once per document (most rules ask; the views are frozen and share the manifest's
        dicts, so what LimitRange defaults add to a container is seen through them)."""
        key = "containers+ephemeral" if include_ephemeral else "containers"
        views = self.doc.cache.get(key)
        if views is None:
            views = self.doc.cache[key] = tuple(self._list(include_ephemeral))
        return iter(views)

    def _list(self, include_ephemeral: bool) -> Iterator[ContainerView]:
        for source in self.shape:
            yield from self._from(source)
        if include_ephemeral:
            yield from self._from(ContainerSource(("ephemeralContainers",), EPHEMERAL))

    def _from(self, source: ContainerSource) -> Iterator[ContainerView]:
        value: Any = self.spec
        for key in source.key:
            value = value.get(key) if isinstance(value, dict) else None
        if source.single:
            if isinstance(value, dict):
                yield self._view(source, value, 0, (*self.path, *source.key))
            return
        if not isinstance(value, list):
            return
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield self._view(source, item, index, (*self.path, *source.key, index))

    @staticmethod
    def _view(source: ContainerSource, item: dict[str, Any], index: int, path: Path) -> ContainerView:
        role = source.role
        if role == INIT and item.get("restartPolicy") == "Always":
            role = SIDECAR
        name = item.get("name")
        return ContainerView(
            name=name if isinstance(name, str) else source.default_name,
            role=role,
            index=index,
            path=path,
            data=item,
        )


@dataclass(slots=True)
class TemplateUnit(Document):
    """One pod template of a custom resource: the same object, file and line, standing for the pods of
    the template at ``template`` alone (see ``pod_units``)."""

    template: Path = ()
    source: PodSource | None = None


def custom_pod_source(doc: Document) -> PodSource | None:
    """Where this custom resource keeps pod templates, or None (not one of the known kinds/groups)."""
    source = CUSTOM_POD_SOURCES.get(doc.kind or "")
    if source is None or doc.api_group not in source.groups:
        return None
    return source


def pod_units(doc: Document) -> list[Document]:
    """The documents pod rules look at for ``doc``: one ``TemplateUnit`` per pod template of a known
    custom resource (none when it has no template, e.g. a Rollout with a workloadRef), else ``doc``."""
    if isinstance(doc, TemplateUnit):
        return [doc]
    source = custom_pod_source(doc)
    if source is None:
        return [doc]
    cached = doc.cache.get("pod_units")
    if cached is None:
        cached = []
        for path in source.paths:
            for concrete, value in _expand(doc.obj, path, ()):
                if not isinstance(value, dict):
                    continue
                unit = TemplateUnit(
                    obj=doc.obj,
                    file=doc.file,
                    line=doc.line,
                    node=doc.node,
                    doc_index=doc.doc_index,
                    item_index=doc.item_index,
                    _ref=doc.ref,
                    template=concrete,
                    source=source,
                )
                spec = pod_spec_of(unit)
                if spec is not None and any(True for _ in spec.containers()):
                    cached.append(unit)
        doc.cache["pod_units"] = cached
    return list(cached)


def _expand(value: Any, pattern: Path, done: Path) -> Iterator[tuple[Path, Any]]:
    """Every concrete path matching ``pattern`` in ``value``, with the value found there."""
    if not pattern:
        yield done, value
        return
    head, rest = pattern[0], pattern[1:]
    if head == ANY:
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _expand(item, rest, (*done, index))
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from _expand(item, rest, (*done, str(key)))
    elif isinstance(value, dict) and head in value:
        yield from _expand(value[head], rest, (*done, head))


def pod_spec_path(doc: Document) -> Path | None:
    """Path to the pod spec of a built-in workload or of a ``TemplateUnit``; None otherwise."""
    if isinstance(doc, TemplateUnit):
        return doc.template
    entry = POD_SPEC_PATHS.get(doc.kind or "")
    if entry is None or doc.api_group not in entry[0]:
        return None
    return entry[1]


def pod_spec_of(doc: Document) -> PodSpecView | None:
    """The pod spec of a pod-bearing object or template unit, or None (also when malformed, and for a
    custom resource itself: its templates are its ``pod_units``). Computed once per document: every
    rule about pods asks for it."""
    cached = doc.cache.get("pod_spec", _UNSET)
    if cached is _UNSET:
        cached = doc.cache["pod_spec"] = _pod_spec_of(doc)
    return cached


_UNSET = object()


def _pod_spec_of(doc: Document) -> PodSpecView | None:
    path = pod_spec_path(doc)
    if path is None:
        return None
    value: Any = doc.obj
    for key in path:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return None
    if not isinstance(value, dict):
        return None
    source = doc.source if isinstance(doc, TemplateUnit) else None
    if source is None:
        return PodSpecView(doc, path, value)
    return PodSpecView(doc, path, value, source.shape, source.injected)


def pod_spec_at(doc: Document, path: Path) -> PodSpecView | None:
    """The pod spec of ``doc`` (or of one of its ``pod_units``) that ``path`` points into; the only one
    when ``path`` is empty or points elsewhere and there is exactly one."""
    specs = [spec for unit in pod_units(doc) if (spec := pod_spec_of(unit)) is not None]
    for spec in specs:
        if path[: len(spec.path)] == spec.path:
            return spec
    return specs[0] if len(specs) == 1 else None


def template_labels(doc: Document) -> dict[str, str]:
    """Labels of the pods this object creates (its own labels for a bare Pod). Computed once per
    document (selectors of Services, PDBs, HPAs and policies ask for them): do not change the dict."""
    cached: dict[str, str] | None = doc.cache.get("template_labels")
    if cached is None:
        cached = doc.cache["template_labels"] = _template_labels(doc)
    return cached


def _template_labels(doc: Document) -> dict[str, str]:
    path = pod_spec_path(doc)
    if path is None:
        return {}
    inside = (
        isinstance(doc, TemplateUnit) and doc.source is not None and doc.source.shape is ARGO_TEMPLATE_SHAPE
    )
    meta_path = (*path, "metadata", "labels") if inside else (*path[:-1], "metadata", "labels")
    value: Any = doc.obj
    for key in meta_path:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return {}
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
