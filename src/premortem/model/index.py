"""An index of every object read: by kind, by namespace and name, and the pods workloads create.

Cross-object rules (disruption budgets, webhooks and their backends, capacity) ask the index instead
of looping over all documents: ``LabelSets`` finds the label sets a selector matches, and
``SelectorIndex`` the selectors that match a label set, both without comparing every pair. Objects without a namespace are treated as living in the same,
unspecified namespace as each other (``kubectl apply -n NS`` puts them together).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from premortem.load.document import Document
from premortem.model.podspec import POD_BEARING_KINDS, pod_spec_of, pod_units, template_labels
from premortem.model.selectors import Requirement, Selector

T = TypeVar("T")
R = TypeVar("R")


def namespace_key(doc: Document) -> str:
    return doc.ref.namespace or ""


@dataclass
class ObjectIndex:
    documents: list[Document]
    by_kind: dict[str, list[Document]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[tuple[str, str, str], Document] = field(default_factory=dict)
    # Computed on first use (the index is built once per scan and not changed afterwards): every rule
    # that asks for workloads, or for the workloads a selector matches, shares one pass over them.
    _workloads: list[Document] | None = field(default=None, repr=False)
    _pods_by_namespace: dict[str, LabelSets[Document]] | None = field(default=None, repr=False)
    _workloads_by_file: dict[str, list[Document]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, documents: Iterable[Document]) -> ObjectIndex:
        docs = list(documents)
        index = cls(docs)
        for doc in docs:
            kind = doc.kind
            if not kind:
                continue
            index.by_kind[kind].append(doc)
            name = doc.ref.name
            if name:
                index.by_name.setdefault((kind, namespace_key(doc), name), doc)
        return index

    def of_kind(self, *kinds: str) -> Iterator[Document]:
        for kind in kinds:
            yield from self.by_kind.get(kind, ())

    def get(self, kind: str, namespace: str | None, name: str) -> Document | None:
        return self.by_name.get((kind, namespace or "", name))

    def workloads(self) -> Iterator[Document]:
        """Every object that carries a pod spec, in document order; a custom resource's pod templates
        as ``pod_units``."""
        return iter(self.workload_list())

    def workload_list(self) -> list[Document]:
        """``workloads()`` as the list the index keeps (do not change it)."""
        if self._workloads is None:
            # In document order (POD_BEARING_KINDS is a set: its order changes with PYTHONHASHSEED).
            self._workloads = [
                unit
                for doc in self.documents
                if doc.kind in POD_BEARING_KINDS
                for unit in pod_units(doc)
                if pod_spec_of(unit) is not None
            ]
        return self._workloads

    def workloads_matching(self, selector: Selector, namespace: str | None) -> list[Document]:
        """Workloads in ``namespace`` whose pod template labels match ``selector``, in ``workloads()``
        order. Looked up through a label index (a scan with thousands of PDBs and workloads would
        otherwise compare every PDB with every workload), then checked with the selector itself."""
        if selector.matches_nothing:
            return []
        if self._pods_by_namespace is None:
            self._pods_by_namespace = {}
            for doc in self.workloads():
                pods = self._pods_by_namespace.setdefault(namespace_key(doc), LabelSets())
                pods.add(template_labels(doc), doc)
        found = self._pods_by_namespace.get(namespace or "")
        return [] if found is None else found.matching(selector)

    def workloads_in_file(self, file: str) -> list[Document]:
        """The workloads read from ``file``, in ``workloads()`` order."""
        if self._workloads_by_file is None:
            self._workloads_by_file = defaultdict(list)
            for doc in self.workloads():
                self._workloads_by_file[doc.file].append(doc)
        return self._workloads_by_file.get(file, [])


def per_index(build: Callable[[ObjectIndex], R]) -> Callable[[ObjectIndex], R]:
    """``build(index)`` worked out once per index and kept on it (the index is built once per scan
    and not changed afterwards): every rule that asks shares one result. What a ``per_workload``
    rule reads this way can be built before the work is shared out (``Rule.lookups``)."""
    key = f"_premortem_{build.__module__}.{build.__qualname__}"

    @functools.wraps(build)
    def once(index: ObjectIndex) -> R:
        cache: dict[str, Any] = vars(index)
        if key not in cache:
            cache[key] = build(index)
        found: R = cache[key]
        return found

    return once


class LabelSets(Generic[T]):
    """Label sets (of pods, endpoints...) with what carries them, looked up by selector: only the
    sets that carry the selector's rarest required label value are checked, not every set."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._labels: list[Mapping[str, str]] = []
        self._by_label: dict[tuple[str, str], list[int]] = {}

    def add(self, labels: Mapping[str, str], item: T) -> None:
        position = len(self._items)
        self._items.append(item)
        self._labels.append(labels)
        for pair in labels.items():
            self._by_label.setdefault(pair, []).append(position)

    def matching(self, selector: Selector) -> list[T]:
        """What carries a label set ``selector`` matches, in the order added."""
        if selector.matches_nothing:
            return []
        return [self._items[i] for i in self._candidates(selector) if selector.matches(self._labels[i])]

    def _candidates(self, selector: Selector) -> Iterable[int]:
        """Positions that can match: those carrying the rarest required label value (all positions
        when the selector requires no label value)."""
        best: list[int] | None = None
        for requirement in selector.requirements:
            if requirement.operator != "In":
                continue
            found = sorted(
                {i for value in requirement.values for i in self._by_label.get((requirement.key, value), ())}
            )
            if best is None or len(found) < len(best):
                best = found
        return range(len(self._items)) if best is None else best


class SelectorIndex(Generic[T]):
    """Selectors (of Services, budgets, policies...) with what owns them, looked up by the labels of
    one object: each selector is filed under its rarest required label value, so a lookup checks the
    selectors that can match, not all of them (a dense namespace has thousands)."""

    def __init__(self, entries: Iterable[tuple[Selector, T]]) -> None:
        self._entries = [(s, item) for s, item in entries if not s.matches_nothing]
        # Each selector's required (key, value) choices: one list of pairs per "In" requirement.
        required = [[_pairs(r) for r in _required(selector)] for selector, _ in self._entries]
        counts: dict[tuple[str, str], int] = {}
        for choices in required:
            for pairs in choices:
                for pair in pairs:
                    counts[pair] = counts.get(pair, 0) + 1
        self._by_label: dict[tuple[str, str], list[int]] = {}
        self._always: list[int] = []  # selectors that require no label value
        for position, choices in enumerate(required):
            if not choices:
                self._always.append(position)
                continue
            rarest = choices[0]
            if len(choices) > 1:  # the requirement whose values the fewest selectors require
                rarest = min(choices, key=lambda pairs: sum(counts[pair] for pair in pairs))
            for pair in rarest:
                self._by_label.setdefault(pair, []).append(position)

    def __len__(self) -> int:
        return len(self._entries)

    def matching(self, labels: Mapping[str, str]) -> list[T]:
        """What owns a selector that matches ``labels``, in the order added."""
        found = set(self._always)
        for pair in labels.items():
            found.update(self._by_label.get(pair, ()))
        return [self._entries[i][1] for i in sorted(found) if self._entries[i][0].matches(labels)]


def _required(selector: Selector) -> list[Requirement]:
    return [r for r in selector.requirements if r.operator == "In"]


def _pairs(requirement: Requirement) -> list[tuple[str, str]]:
    return [(requirement.key, value) for value in requirement.values]
