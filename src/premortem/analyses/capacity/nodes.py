"""The nodes a capacity simulation packs pods onto, and where their numbers came from.

Three sources, in this order of precedence:

1. ``--nodes SPEC``: ``3x16cpu/64Gi``, ``2x8cpu/32Gi,1x4cpu/16Gi`` (optionally ``/58pods``), or the
   path of a small inventory YAML file (pools with count, cpu, memory, maxPods, labels, taints and an
   optional ``kubelet`` section); these give *capacity*, so allocatable is derived the kubelet's way;
2. ``Node`` objects read with the manifests: ``status.allocatable`` when present, else
   ``status.capacity`` with allocatable derived the kubelet's way;
3. nothing: no simulation (``premortem scan`` then raises no capacity findings).

Derivation (``premortem.model.kubelet.allocatable``): capacity - kubeReserved - systemReserved - hard
eviction threshold, with the settings of a ``KubeletConfiguration`` read (or the inventory's
``kubelet`` section), upstream defaults otherwise (nothing reserved, memory.available<100Mi,
maxPods 110).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from premortem.load import limits
from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.kubelet import (
    KubeletSettings,
    allocatable,
    default_kubelet_settings,
    is_kubelet_configuration,
    kubelet_settings,
)
from premortem.model.quantity import QuantityError, format_bytes, format_millicores, to_bytes, to_millicores

HOSTNAME_LABEL = "kubernetes.io/hostname"
# Labels the kubelet puts on every Linux node (k8s.io/api core/v1 well_known_labels.go); nodes from
# --nodes get them too, so that the ubiquitous `nodeSelector: {kubernetes.io/os: linux}` matches.
DEFAULT_NODE_LABELS = {
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": "amd64",
}
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
MAX_SPEC_NODES = 5000


class NodeSpecError(ValueError):
    """``--nodes`` could not be understood; the CLI prints it and exits 2."""


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str

    def display(self) -> str:
        value = f"={self.value}" if self.value else ""
        return f"{self.key}{value}:{self.effect}"


@dataclass(slots=True)
class SimNode:
    """A node as the scheduler sees it: allocatable cpu (millicores), memory (bytes) and pod slots."""

    name: str
    cpu: int
    memory: int
    pods: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    capacity: dict[str, int] = field(default_factory=dict)
    pool: str | None = None
    doc: Document | None = None
    unschedulable: bool = False

    def shape(self) -> str:
        return f"{format_millicores(self.cpu)}cpu/{format_bytes(self.memory)}/{self.pods}pods"


@dataclass(slots=True)
class NodeSet:
    nodes: list[SimNode]
    source: str  # one sentence for messages: where the numbers came from
    kind: str  # "spec", "inventory", "objects"
    notes: list[str] = field(default_factory=list)

    @property
    def has_node_objects(self) -> bool:
        return any(n.doc is not None for n in self.nodes)


# ---------------------------------------------------------------------------------------- --nodes
_SPEC_ITEM = re.compile(
    r"^(?:(?P<count>\d+)\s*[x×*]\s*)?"
    r"(?P<cpu>\d+(?:\.\d+)?m?)\s*(?:cpus?|cores?|c)?\s*/\s*"
    r"(?P<memory>\d+(?:\.\d+)?[A-Za-z]*)"
    r"(?:\s*/\s*(?P<pods>\d+)\s*pods?)?$",
    re.IGNORECASE,
)
SPEC_HELP = (
    "expected COUNTxCPU/MEMORY[/PODSpods], e.g. 3x16cpu/64Gi or 2x8cpu/32Gi,1x4cpu/16Gi/58pods, "
    "or the path of a node inventory YAML file (see docs/capacity.md)"
)


def nodes_from_option(value: str, index: ObjectIndex | None = None) -> NodeSet:
    """Nodes for ``--nodes VALUE``: an inventory file if VALUE is a file, else a spec string."""
    text = value.strip()
    if not text:
        raise NodeSpecError(f"--nodes is empty: {SPEC_HELP}")
    if os.path.isfile(text):
        return nodes_from_inventory(text, index)
    if text.endswith((".yaml", ".yml", ".json")):
        raise NodeSpecError(f"--nodes {text}: no such file")
    return nodes_from_spec(text, index)


def nodes_from_spec(spec: str, index: ObjectIndex | None = None) -> NodeSet:
    settings, settings_source, notes = _kubelet_from_index(index)
    nodes: list[SimNode] = []
    for raw in spec.split(","):
        item = raw.strip()
        match = _SPEC_ITEM.match(item)
        if not match:
            raise NodeSpecError(f"--nodes: cannot read {item!r}: {SPEC_HELP}")
        count = int(match.group("count") or 1)
        if count < 1 or count > MAX_SPEC_NODES:
            raise NodeSpecError(f"--nodes: {item!r}: the node count must be between 1 and {MAX_SPEC_NODES}")
        cpu_text = match.group("cpu")
        try:
            cpu = to_millicores(cpu_text)
            memory = to_bytes(match.group("memory"))
        except QuantityError as exc:
            raise NodeSpecError(f"--nodes: {item!r}: {exc}") from None
        if cpu <= 0 or memory <= 0:
            raise NodeSpecError(f"--nodes: {item!r}: cpu and memory must be positive")
        if memory < 2**20:
            raise NodeSpecError(
                f"--nodes: {item!r}: {match.group('memory')} is {memory} bytes; write the unit (e.g. 64Gi)"
            )
        capacity = {"cpu": cpu, "memory": memory}
        item_settings = settings
        if match.group("pods"):
            item_settings = _with_max_pods(settings, int(match.group("pods")))
        pool = f"{format_millicores(cpu)}cpu-{format_bytes(memory)}"
        for _ in range(count):
            name = f"node-{len(nodes) + 1}"
            nodes.append(_derived_node(name, capacity, item_settings, pool, {}, ()))
    return NodeSet(nodes, f"--nodes {spec}: capacity, allocatable {settings_source}", "spec", notes)


def nodes_from_inventory(path: str, index: ObjectIndex | None = None) -> NodeSet:
    try:
        with open(path, encoding="utf-8") as handle:
            data = limits.safe_load(handle.read())
    except OSError as exc:
        raise NodeSpecError(f"--nodes {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise NodeSpecError(
            f"--nodes {path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if isinstance(data, list):
        data = {"pools": data}
    if not isinstance(data, dict) or not isinstance(data.get("pools"), list) or not data["pools"]:
        raise NodeSpecError(
            f"--nodes {path}: an inventory is a mapping with a non-empty `pools:` list "
            "(each pool: name, count, cpu, memory; optional maxPods, labels, taints, allocatable)"
        )
    notes: list[str] = []
    kubelet = data.get("kubelet")
    if kubelet is not None:
        if not isinstance(kubelet, dict):
            raise NodeSpecError(
                f"--nodes {path}: `kubelet:` must be a mapping of KubeletConfiguration fields"
            )
        settings = kubelet_settings(Document(dict(kubelet), path, 1))
        for problem in settings.problems:
            raise NodeSpecError(f"--nodes {path}: kubelet: {problem.message}")
        settings_source = f"derived with the `kubelet:` settings of {path}"
    else:
        settings, settings_source, notes = _kubelet_from_index(index)
    nodes: list[SimNode] = []
    for number, pool in enumerate(data["pools"], start=1):
        nodes.extend(_pool_nodes(path, number, pool, settings))
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise NodeSpecError(f"--nodes {path}: two pools produce the same node names; give each pool a name")
    return NodeSet(
        nodes,
        f"--nodes {path}: inventory, allocatable {settings_source} where a pool does not give it",
        "inventory",
        notes,
    )


def _pool_nodes(path: str, number: int, pool: Any, settings: KubeletSettings) -> list[SimNode]:
    where = f"--nodes {path}: pool {number}"
    if not isinstance(pool, dict):
        raise NodeSpecError(f"{where}: each pool is a mapping (name, count, cpu, memory, ...)")
    name = str(pool.get("name") or f"pool{number}")
    where = f"--nodes {path}: pool {name!r}"
    count = pool.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SPEC_NODES:
        raise NodeSpecError(f"{where}: count must be a whole number from 1 to {MAX_SPEC_NODES}")
    for key in ("cpu", "memory"):
        if key not in pool and not (isinstance(pool.get("allocatable"), dict) and key in pool["allocatable"]):
            raise NodeSpecError(f"{where}: `{key}` is missing")
    try:
        capacity = {}
        if "cpu" in pool:
            capacity["cpu"] = to_millicores(pool["cpu"])
        if "memory" in pool:
            capacity["memory"] = to_bytes(pool["memory"])
    except QuantityError as exc:
        raise NodeSpecError(f"{where}: {exc}") from None
    labels = pool.get("labels") or {}
    if not isinstance(labels, dict):
        raise NodeSpecError(f"{where}: labels must be a mapping")
    taints = parse_taints(pool.get("taints"), where)
    item_settings = settings
    if "maxPods" in pool:
        max_pods = pool["maxPods"]
        if isinstance(max_pods, bool) or not isinstance(max_pods, int) or max_pods < 1:
            raise NodeSpecError(f"{where}: maxPods must be a positive whole number")
        item_settings = _with_max_pods(settings, max_pods)
    given = pool.get("allocatable")
    if given is not None and not isinstance(given, dict):
        raise NodeSpecError(f"{where}: allocatable must be a mapping of cpu, memory, pods")
    nodes = []
    for i in range(count):
        node_name = f"{name}-{i + 1}"
        node_labels = {str(k): _label(v) for k, v in labels.items()}
        node = _derived_node(node_name, capacity, item_settings, name, node_labels, taints)
        if given:
            try:
                if "cpu" in given:
                    node.cpu = to_millicores(given["cpu"])
                if "memory" in given:
                    node.memory = to_bytes(given["memory"])
                if "pods" in given:
                    node.pods = int(given["pods"])
            except (QuantityError, ValueError, TypeError) as exc:
                raise NodeSpecError(f"{where}: allocatable: {exc}") from None
        if node.cpu <= 0 or node.memory <= 0:
            raise NodeSpecError(f"{where}: cpu and memory must be positive")
        nodes.append(node)
    return nodes


def parse_taints(value: Any, where: str) -> tuple[Taint, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise NodeSpecError(f"{where}: taints must be a list of {{key, value, effect}}")
    out = []
    for taint in value:
        if not isinstance(taint, dict) or not taint.get("key") or not taint.get("effect"):
            raise NodeSpecError(f"{where}: each taint needs a key and an effect")
        effect = str(taint["effect"])
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise NodeSpecError(
                f"{where}: taint effect {effect!r} is not NoSchedule, PreferNoSchedule or NoExecute"
            )
        out.append(Taint(str(taint["key"]), _label(taint.get("value")), effect))
    return tuple(out)


# ---------------------------------------------------------------------------------------- Node objects
def nodes_from_index(index: ObjectIndex) -> NodeSet | None:
    """Nodes from ``Node`` objects read with the manifests, or None when there are none."""
    docs = [d for d in index.of_kind("Node") if d.api_group == "" and isinstance(d.obj, dict)]
    if not docs:
        return None
    settings, settings_source, notes = _kubelet_from_index(index)
    nodes: list[SimNode] = []
    from_status = derived = 0
    seen: set[str] = set()
    for doc in docs:
        name = doc.ref.name or f"node-{len(nodes) + 1}"
        if name in seen:
            notes.append(f"Node {name} is listed twice ({doc.file}:{doc.line}); counted once.")
            continue
        seen.add(name)
        made = _node_from_object(doc, name, settings, notes)
        if made is None:
            continue
        node, was_derived = made
        if node.unschedulable:
            notes.append(f"Node {name} is cordoned (spec.unschedulable): the simulation places no pod on it.")
        if was_derived:
            derived += 1
        else:
            from_status += 1
        nodes.append(node)
    if not nodes:
        notes.append("No Node object had a usable status.allocatable or status.capacity.")
        return NodeSet([], "Node objects (none usable)", "objects", notes)
    parts = []
    if from_status:
        parts.append(f"status.allocatable of {from_status} Node object(s)")
    if derived:
        parts.append(f"status.capacity of {derived} Node object(s), allocatable {settings_source}")
    return NodeSet(nodes, " and ".join(parts), "objects", notes)


def _node_from_object(
    doc: Document, name: str, settings: KubeletSettings, notes: list[str]
) -> tuple[SimNode, bool] | None:
    obj = doc.obj
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    labels = (
        {str(k): _label(v) for k, v in (meta.get("labels") or {}).items()}
        if isinstance(meta.get("labels"), dict)
        else {}
    )
    labels.setdefault(HOSTNAME_LABEL, name)
    try:
        taints = parse_taints(spec.get("taints"), f"Node {name} ({doc.file}:{doc.line})")
    except NodeSpecError as exc:
        notes.append(f"{exc}; its taints were ignored.")
        taints = ()
    unschedulable = spec.get("unschedulable") is True
    if unschedulable and not any(t.key == UNSCHEDULABLE_TAINT for t in taints):
        taints = (*taints, Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule"))
    where = f"Node {name} ({doc.file}:{doc.line})"
    try:
        alloc = _resources(status.get("allocatable"))
        cap = _resources(status.get("capacity"))
    except QuantityError as exc:
        notes.append(f"{where}: {exc}; the node was left out of the simulation.")
        return None
    derived = False
    if not {"cpu", "memory"} <= alloc.keys():
        if not {"cpu", "memory"} <= cap.keys():
            notes.append(
                f"{where} has neither status.allocatable nor status.capacity with cpu and memory; "
                "it was left out of the simulation."
            )
            return None
        computed = allocatable({k: v for k, v in cap.items() if k != "pods"}, settings)
        if "pods" in cap:
            computed["pods"] = min(computed["pods"], cap["pods"])
        alloc = computed
        derived = True
    pods = next((v for v in (alloc.get("pods"), cap.get("pods")) if v is not None), settings.max_pods)
    node = SimNode(
        name=name,
        cpu=alloc["cpu"],
        memory=alloc["memory"],
        pods=pods,
        labels=labels,
        taints=taints,
        capacity=cap,
        pool=labels.get("node.kubernetes.io/instance-type") or labels.get("pool"),
        doc=doc,
        unschedulable=unschedulable,
    )
    return node, derived


def _resources(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, int] = {}
    for key, raw in value.items():
        if key == "cpu":
            out["cpu"] = to_millicores(raw)
        elif key == "memory" or str(key).startswith("hugepages-"):
            out[str(key)] = to_bytes(raw)
        elif key == "pods":
            out["pods"] = to_bytes(raw)
    return out


# ---------------------------------------------------------------------------------------- helpers
def _kubelet_from_index(index: ObjectIndex | None) -> tuple[KubeletSettings, str, list[str]]:
    """The KubeletConfiguration to derive allocatable with, a phrase saying which, and notes."""
    notes: list[str] = []
    docs = [d for d in index.of_kind("KubeletConfiguration") if is_kubelet_configuration(d)] if index else []
    if not docs:
        return (
            default_kubelet_settings(),
            "derived with upstream kubelet defaults (nothing reserved, evictionHard memory.available<100Mi, "
            "maxPods 110)",
            notes,
        )
    doc = docs[0]
    if len(docs) > 1:
        notes.append(
            f"{len(docs)} KubeletConfigurations were read; allocatable is derived with the first "
            f"({doc.file}:{doc.line}) for every node."
        )
    return kubelet_settings(doc), f"derived with the KubeletConfiguration at {doc.file}:{doc.line}", notes


def _with_max_pods(settings: KubeletSettings, max_pods: int) -> KubeletSettings:
    from dataclasses import replace

    return replace(settings, max_pods=max_pods)


def _derived_node(
    name: str,
    capacity: Mapping[str, int],
    settings: KubeletSettings,
    pool: str | None,
    labels: dict[str, str],
    taints: tuple[Taint, ...],
) -> SimNode:
    alloc = allocatable(dict(capacity), settings) if capacity else {"pods": settings.max_pods}
    node_labels = {**DEFAULT_NODE_LABELS, **labels}
    node_labels.setdefault(HOSTNAME_LABEL, name)
    return SimNode(
        name=name,
        cpu=alloc.get("cpu", 0),
        memory=alloc.get("memory", 0),
        pods=alloc["pods"],
        labels=node_labels,
        taints=taints,
        capacity=dict(capacity),
        pool=pool,
    )


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
