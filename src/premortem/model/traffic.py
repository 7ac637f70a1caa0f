"""Traffic: which Services send a workload's pods requests, and which container ports carry them.

A Service with a selector gets, from the EndpointSlice controller, an endpoint for every pod of its
namespace whose labels match; ExternalName Services and Services without a selector get none
(kubernetes/kubernetes pkg/controller/endpointslice). Objects without a namespace are matched only
within one folder: unrelated examples scanned together are not one application.
"""

from __future__ import annotations

import os
import re

from premortem.load.document import Document
from premortem.model.index import ObjectIndex, SelectorIndex, namespace_key, per_index
from premortem.model.podspec import ContainerView, template_labels
from premortem.model.selectors import Selector, parse_map_selector
from premortem.model.units import UnitMembers

# Port and Service names that say "monitoring, not client traffic".
# An "exporter" is Prometheus' word for a process that exposes metrics for scraping (node-exporter).
MONITORING_NAME = re.compile(
    r"metric|prometheus|prom\b|exporter|health|probe|liveness|readiness|pprof|debug|admin"
)
_SERVICE_SUFFIXES = ("-service", "-svc")

# (namespace, folder or None for any folder) -> the selectors of its Services, owned by the Service
_ServiceIndex = dict[tuple[str, str | None], SelectorIndex[Document]]


def services_selecting(doc: Document, index: ObjectIndex) -> list[Document]:
    """The Services (with a selector, not ExternalName) whose selector matches ``doc``'s pod labels:
    same namespace, and when the namespace is not written, the same folder."""
    labels = template_labels(doc)
    if not labels:
        return []
    folder = None if doc.ref.namespace else os.path.dirname(doc.file)
    candidates = services_index(index).get((namespace_key(doc), folder))
    return candidates.matching(labels) if candidates is not None else []


@per_index
def services_index(index: ObjectIndex) -> _ServiceIndex:
    """The selectors of every Service by (namespace, folder)."""
    entries: dict[tuple[str, str | None], list[tuple[Selector, Document]]] = {}
    for svc in index.of_kind("Service"):
        spec = svc.obj.get("spec") if isinstance(svc.obj, dict) else None
        if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
            continue
        selector = parse_map_selector(spec.get("selector"))
        if selector.matches_nothing:
            continue
        entry = (selector, svc)
        entries.setdefault((namespace_key(svc), None), []).append(entry)
        entries.setdefault((namespace_key(svc), os.path.dirname(svc.file)), []).append(entry)
    return {key: SelectorIndex(pairs) for key, pairs in entries.items()}


@per_index
def service_units(index: ObjectIndex) -> UnitMembers:
    """The input units (folders) that hold a Service."""
    return UnitMembers(svc.file for svc in index.of_kind("Service"))


def serving_ports(container: ContainerView) -> list[int]:
    """Container ports that may carry client traffic (unnamed, or not named for metrics/health/debug)."""
    ports = container.data.get("ports")
    if not isinstance(ports, list):
        return []
    return [
        p["containerPort"]
        for p in ports
        if isinstance(p, dict)
        and isinstance(p.get("containerPort"), int)
        and not MONITORING_NAME.search(str(p.get("name") or "").lower())
    ]


def is_monitoring_sidecar(container: ContainerView, pod_containers: list[ContainerView]) -> bool:
    """A container whose declared ports are all for metrics, health or debugging, in a pod where another
    container declares a port for client traffic: a scrape, reload or proxy helper, not the process the
    Service's clients reach (prometheus' configmap-reload beside prometheus)."""
    ports = container.data.get("ports")
    if not isinstance(ports, list) or not ports:
        return False
    if not all(
        isinstance(p, dict) and MONITORING_NAME.search(str(p.get("name") or "").lower()) for p in ports
    ):
        return False  # a port for clients, or one that is not a port at all
    return any(other is not container and serving_ports(other) for other in pod_containers)


def serves_traffic(service: Document) -> bool:
    """False for a Service that only exposes metrics (all its ports, or its name, say so). The name's
    last word decides, before a ``-service``/``-svc`` suffix (kubebuilder's ``...-metrics-service``)."""
    name = (service.ref.name or "").lower()
    for suffix in _SERVICE_SUFFIXES:
        name = name.removesuffix(suffix)
    if MONITORING_NAME.search(name.rsplit("-", 1)[-1]):
        return False
    spec = service.obj.get("spec") if isinstance(service.obj, dict) else None
    ports = spec.get("ports") if isinstance(spec, dict) else None
    if not isinstance(ports, list) or not ports:
        return True
    names = [str(p.get("name") or "") if isinstance(p, dict) else "" for p in ports]
    return not all(name and MONITORING_NAME.search(name.lower()) for name in names)
