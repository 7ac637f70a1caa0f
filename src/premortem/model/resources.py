"""Requests, limits and QoS, computed the way the API server, kubelet and scheduler do.

Sources (see docs/k8s-facts in the README):
- request defaulting: pkg/apis/core/v1/defaults.go ``SetDefaults_Pod`` (a limit with no request gives
  request = limit, per container and resource; PodTemplates are stored undefaulted, so we apply it);
- QoS: pkg/apis/core/helper/qos/qos.go (cpu and memory only, zero quantities ignored, init and sidecar
  containers counted, ephemeral containers not);
- LimitRange defaults (model/limitrange.py): after that decode-time defaulting, the LimitRanges of
  the namespace and input unit give what a container still leaves unset;
- effective pod request: component-helpers resource/helpers.go ``AggregateContainerRequests``
  (max(sum of app containers + sidecars, each init container + the sidecars started before it)
  plus ``spec.overhead``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.load.document import Document
from premortem.model.limitrange import ContainerDefaults, defaults_of
from premortem.model.podspec import (
    EPHEMERAL,
    SIDECAR,
    ContainerView,
    InjectedContainer,
    PodSpecView,
    pod_spec_of,
)
from premortem.model.quantity import QuantityError, to_bytes, to_millicores

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"
QOS_RESOURCES = ("cpu", "memory")


@dataclass(frozen=True, slots=True)
class BadQuantity:
    path: tuple[str | int, ...]
    value: Any
    container: str | None


@dataclass(slots=True)
class ContainerResources:
    """cpu in millicores, memory in bytes; None = not set. ``requests`` are after API defaulting."""

    container: ContainerView
    requests: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    declared_requests: dict[str, int] = field(default_factory=dict)
    # "requests.memory" / "limits.cpu"... -> the LimitRange that set it (model/limitrange.py)
    defaulted: dict[str, str] = field(default_factory=dict)

    def request(self, resource: str) -> int:
        return self.requests.get(resource, 0)

    def limit(self, resource: str) -> int | None:
        value = self.limits.get(resource)
        return value if value else None


_CONVERT = {"cpu": to_millicores, "memory": to_bytes}


def _read(container: ContainerView, section: str, bad: list[BadQuantity]) -> dict[str, int]:
    values = container.field("resources", section)
    out: dict[str, int] = {}
    if not isinstance(values, dict):
        return out
    for resource in QOS_RESOURCES:
        if resource in values:
            try:
                out[resource] = _CONVERT[resource](values[resource])
            except QuantityError:
                bad.append(
                    BadQuantity(
                        (*container.path, "resources", section, resource), values[resource], container.name
                    )
                )
    return out


def container_resources(
    container: ContainerView,
    bad: list[BadQuantity] | None = None,
    defaults: Iterable[ContainerDefaults] = (),
) -> ContainerResources:
    """A container's requests and limits as admitted: its own, request := limit where it has no request
    (decode-time defaulting), then the LimitRange ``defaults`` for what it still leaves unset."""
    problems = bad if bad is not None else []
    declared = _read(container, "requests", problems)
    limits = _read(container, "limits", problems)
    requests = dict(declared)
    for resource, value in limits.items():
        requests.setdefault(resource, value)  # SetDefaults_Pod: request := limit when absent
    defaulted: dict[str, str] = {}
    for given in defaults:  # LimitRanger admission, after decoding
        for resource, value in given.limits.items():
            if resource not in limits:
                limits[resource] = value
                defaulted[f"limits.{resource}"] = given.source
        for resource, value in given.requests.items():
            if resource not in requests:
                requests[resource] = value
                defaulted[f"requests.{resource}"] = given.source
    return ContainerResources(container, requests, limits, declared, defaulted)


@dataclass(slots=True)
class PodResources:
    qos: str
    requests: dict[str, int]  # effective, as the scheduler sees the pod (overhead included)
    limits: dict[str, int | None]  # summed; None when some container has no limit (unbounded)
    containers: list[ContainerResources]
    bad_quantities: list[BadQuantity]
    pod_level: bool = False


def pod_resources(pod: PodSpecView, defaults: Iterable[ContainerDefaults] = ()) -> PodResources:
    bad: list[BadQuantity] = []
    given = list(defaults)
    containers = [container_resources(c, bad, given) for c in pod.containers() if c.role != EPHEMERAL]
    # Containers the controller adds (Knative's queue-proxy...) count for QoS and requests, but are not
    # in ``PodResources.containers``: no rule reports on what the manifest does not contain.
    every = containers + [_injected(pod, c) for c in pod.injected]
    pod_level = _pod_level(pod, bad)
    qos = _qos_pod_level(*pod_level) if pod_level is not None else qos_class(every)
    requests = aggregate(every, "requests")
    limits_sum = aggregate(every, "limits")
    limits: dict[str, int | None] = {}
    for resource in QOS_RESOURCES:
        app = [c for c in every if c.container.role in ("container", SIDECAR)]
        unbounded = not app or any(c.limit(resource) is None for c in app)
        limits[resource] = None if unbounded else limits_sum[resource]
    if pod_level is not None:
        pod_requests, pod_limits = pod_level
        for resource in QOS_RESOURCES:
            if resource in pod_requests:
                requests[resource] = pod_requests[resource]
            if resource in pod_limits:
                limits[resource] = pod_limits[resource]
    overhead = _overhead(pod, bad)
    for resource, value in overhead.items():
        requests[resource] = requests.get(resource, 0) + value
        if limits.get(resource):
            limits[resource] = (limits[resource] or 0) + value
    return PodResources(qos, requests, limits, containers, bad, pod_level is not None)


def _injected(pod: PodSpecView, injected: InjectedContainer) -> ContainerResources:
    view = ContainerView(injected.name, injected.role, -1, pod.path, {})
    requests, limits = dict(injected.requests), dict(injected.limits)
    return ContainerResources(view, {**limits, **requests}, limits, requests)


def qos_class(containers: list[ContainerResources]) -> str:
    """qos.go ``ComputePodQOS`` for container-level resources."""
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for c in containers:
        for resource, value in c.requests.items():
            if value > 0:
                requests[resource] = requests.get(resource, 0) + value
        found = set()
        for resource, value in c.limits.items():
            if value > 0:
                limits[resource] = limits.get(resource, 0) + value
                found.add(resource)
        if not found.issuperset(QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and len(requests) == len(limits) and all(limits.get(r) == v for r, v in requests.items()):
        return GUARANTEED
    return BURSTABLE


def _qos_pod_level(requests: dict[str, int], limits: dict[str, int]) -> str:
    req = {r: v for r, v in requests.items() if v > 0}
    lim = {r: v for r, v in limits.items() if v > 0}
    if not req and not lim:
        return BEST_EFFORT
    if set(lim) >= set(QOS_RESOURCES) and all(req.get(r, lim[r]) == lim[r] for r in QOS_RESOURCES):
        return GUARANTEED
    return BURSTABLE


def aggregate(containers: list[ContainerResources], section: str) -> dict[str, int]:
    """AggregateContainerRequests (or limits): max(app + sidecars, init_i + sidecars before i)."""
    out: dict[str, int] = {}
    for resource in QOS_RESOURCES:
        total = 0
        sidecars_so_far = 0
        init_peak = 0
        for c in containers:
            values = c.requests if section == "requests" else c.limits
            value = values.get(resource, 0)
            role = c.container.role
            if role == "container":
                total += value
            elif role == SIDECAR:
                total += value
                sidecars_so_far += value
                init_peak = max(init_peak, sidecars_so_far)
            else:  # regular init container: runs alone, beside the sidecars already started
                init_peak = max(init_peak, value + sidecars_so_far)
        out[resource] = max(total, init_peak)
    return out


def _pod_level(pod: PodSpecView, bad: list[BadQuantity]) -> tuple[dict[str, int], dict[str, int]] | None:
    resources = pod.spec.get("resources")
    if not isinstance(resources, dict):
        return None
    out: list[dict[str, int]] = []
    for section in ("requests", "limits"):
        values = resources.get(section)
        parsed: dict[str, int] = {}
        if isinstance(values, dict):
            for resource in QOS_RESOURCES:
                if resource in values:
                    try:
                        parsed[resource] = _CONVERT[resource](values[resource])
                    except QuantityError:
                        bad.append(
                            BadQuantity((*pod.path, "resources", section, resource), values[resource], None)
                        )
        out.append(parsed)
    requests, limits = out
    if not requests and not limits:
        return None
    for resource, value in limits.items():
        requests.setdefault(resource, value)
    return requests, limits


def _overhead(pod: PodSpecView, bad: list[BadQuantity]) -> dict[str, int]:
    values = pod.spec.get("overhead")
    out: dict[str, int] = {}
    if isinstance(values, dict):
        for resource in QOS_RESOURCES:
            if resource in values:
                try:
                    out[resource] = _CONVERT[resource](values[resource])
                except QuantityError:
                    bad.append(BadQuantity((*pod.path, "overhead", resource), values[resource], None))
    return out


def oom_score_adj(qos: str, memory_request: int, node_memory: int, critical: bool = False) -> int:
    """pkg/kubelet/qos/policy.go ``GetContainerOOMScoreAdjust``."""
    if critical or qos == GUARANTEED:
        return -997
    if qos == BEST_EFFORT:
        return 1000
    adj = 1000 - (1000 * memory_request) // node_memory
    if adj < 3:
        return 3
    if adj >= 1000:
        return 999
    return adj


def resources_of(doc: Document) -> PodResources | None:
    """Pod resources of a pod-bearing object (None for other kinds), computed once per document."""
    if "resources" not in doc.cache:
        pod = pod_spec_of(doc)
        doc.cache["resources"] = pod_resources(pod, defaults_of(doc)) if pod is not None else None
    result: PodResources | None = doc.cache["resources"]
    return result
