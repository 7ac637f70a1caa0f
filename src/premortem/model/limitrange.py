"""LimitRange defaults: the requests and limits the API server adds to containers that set none.

The LimitRanger admission plugin (kubernetes/kubernetes plugin/pkg/admission/limitranger) gives every
container of a Pod created in the namespace, for each resource the container does not mention, the
LimitRange's ``default`` as its limit and ``defaultRequest`` as its request. Two steps come first:

- the LimitRange itself is defaulted when it is created (pkg/apis/core/v1/defaults.go
  ``SetDefaults_LimitRangeItem``, ``type: Container`` items only): no ``default`` limit -> ``max``;
  no ``defaultRequest`` -> the ``default`` limit, else ``min``;
- the Pod is defaulted when it is decoded, before admission (``SetDefaults_Pod``): a container with a
  limit and no request already has request = limit, so a ``defaultRequest`` never replaces a request
  copied from the container's own limit (K8s docs memory-default-namespace.md: limit 1Gi with a
  namespace default request of 256Mi gives a request of 1Gi).

Pods of a Deployment, StatefulSet, Job... are created by their controllers and go through the same
admission, so the defaults apply to every pod-bearing object. premortem applies the LimitRanges of
the same namespace and the same input unit (model/units.py), in the order they were read; when
several set the same resource the first wins, as each LimitRange is applied in turn to what the
previous ones left unset. Only cpu and memory matter here (QoS and scheduling).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from premortem.load.document import Document
from premortem.model.index import namespace_key
from premortem.model.podspec import POD_BEARING_KINDS
from premortem.model.quantity import QuantityError, to_bytes, to_millicores
from premortem.model.units import same_unit

CACHE_KEY = "limit_ranges"
_CONVERT = {"cpu": to_millicores, "memory": to_bytes}


@dataclass(frozen=True, slots=True)
class ContainerDefaults:
    """What one LimitRange gives a container for the resources it leaves unset."""

    source: str  # "LimitRange NAME" for messages
    limits: dict[str, int]  # cpu millicores, memory bytes
    requests: dict[str, int]


def limit_range_defaults(doc: Document) -> ContainerDefaults | None:
    """The container defaults of a LimitRange after ``SetDefaults_LimitRangeItem`` (None if it sets none)."""
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    items = spec.get("limits") if isinstance(spec, dict) else None
    limits: dict[str, int] = {}
    requests: dict[str, int] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        default = _quantities(item.get("default")) or {}
        for resource, value in (_quantities(item.get("max")) or {}).items():
            default.setdefault(resource, value)
        default_request = _quantities(item.get("defaultRequest")) or {}
        for source in (default, _quantities(item.get("min")) or {}):
            for resource, value in source.items():
                default_request.setdefault(resource, value)
        for resource, value in default.items():
            limits.setdefault(resource, value)
        for resource, value in default_request.items():
            requests.setdefault(resource, value)
    if not limits and not requests:
        return None
    return ContainerDefaults(f"LimitRange {doc.ref.name or '<unnamed>'}", limits, requests)


def _quantities(values: Any) -> dict[str, int] | None:
    if not isinstance(values, dict):
        return None
    out: dict[str, int] = {}
    for resource, convert in _CONVERT.items():
        if resource in values:
            try:
                out[resource] = convert(values[resource])
            except QuantityError:
                continue  # the API server refuses the LimitRange; it gives nothing
    return out


def apply_limit_ranges(documents: Iterable[Document]) -> None:
    """Record on every pod-bearing document the LimitRange defaults its pods get (``doc.cache``), so
    ``resources_of`` computes requests, limits and QoS with them. Idempotent."""
    docs = list(documents)
    ranges = [
        (doc, defaults)
        for doc in docs
        if doc.kind == "LimitRange" and doc.api_group == ""
        for defaults in [limit_range_defaults(doc)]
        if defaults is not None
    ]
    if not ranges:
        return
    for doc in docs:
        if doc.kind not in POD_BEARING_KINDS:
            continue
        applicable = [
            defaults
            for limit_range, defaults in ranges
            if namespace_key(limit_range) == namespace_key(doc) and same_unit(limit_range.file, doc.file)
        ]
        if applicable or CACHE_KEY in doc.cache:
            doc.cache[CACHE_KEY] = applicable
            doc.cache.pop("resources", None)  # computed without them: compute again


def defaults_of(doc: Document) -> list[ContainerDefaults]:
    found = doc.cache.get(CACHE_KEY)
    return found if isinstance(found, list) else []
