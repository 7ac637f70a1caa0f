"""An index of every object read: by kind, by namespace and name, and the pods workloads create.

Cross-object rules (disruption budgets, webhooks and their backends, capacity) ask the index instead
of looping over all documents. Objects without a namespace are treated as living in the same,
unspecified namespace as each other (``kubectl apply -n NS`` puts them together).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from premortem.load.document import Document
from premortem.model.podspec import POD_BEARING_KINDS, pod_spec_of, pod_units, template_labels
from premortem.model.selectors import Selector


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
    _pods_by_namespace: dict[str, _NamespacePods] | None = field(default=None, repr=False)

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
        """Every object that carries a pod spec; a custom resource's pod templates as ``pod_units``."""
        if self._workloads is None:
            self._workloads = [
                unit
                for kind in POD_BEARING_KINDS
                for doc in self.by_kind.get(kind, ())
                for unit in pod_units(doc)
                if pod_spec_of(unit) is not None
            ]
        return iter(self._workloads)

    def workloads_matching(self, selector: Selector, namespace: str | None) -> list[Document]:
        """Workloads in ``namespace`` whose pod template labels match ``selector``, in ``workloads()``
        order. Looked up through a label index (a scan with thousands of PDBs and workloads would
        otherwise compare every PDB with every workload), then checked with the selector itself."""
        if selector.matches_nothing:
            return []
        if self._pods_by_namespace is None:
            self._pods_by_namespace = {}
            for doc in self.workloads():
                pods = self._pods_by_namespace.setdefault(namespace_key(doc), _NamespacePods())
                pods.add(doc, template_labels(doc))
        found = self._pods_by_namespace.get(namespace or "")
        if found is None:
            return []
        return [found.docs[i] for i in found.candidates(selector) if selector.matches(found.labels[i])]


@dataclass
class _NamespacePods:
    """The workloads of one namespace with their pod template labels, and where each label is set."""

    docs: list[Document] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    by_label: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, doc: Document, labels: dict[str, str]) -> None:
        position = len(self.docs)
        self.docs.append(doc)
        self.labels.append(labels)
        for pair in labels.items():
            self.by_label.setdefault(pair, []).append(position)

    def candidates(self, selector: Selector) -> Iterable[int]:
        """Positions that can match: those carrying the rarest required label value (all positions
        when the selector requires no label value)."""
        best: list[int] | None = None
        for requirement in selector.requirements:
            if requirement.operator != "In":
                continue
            found = sorted(
                {i for value in requirement.values for i in self.by_label.get((requirement.key, value), ())}
            )
            if best is None or len(found) < len(best):
                best = found
        return range(len(self.docs)) if best is None else best
