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
from premortem.model.podspec import POD_BEARING_KINDS, pod_spec_of, template_labels
from premortem.model.selectors import Selector


def namespace_key(doc: Document) -> str:
    return doc.ref.namespace or ""


@dataclass
class ObjectIndex:
    documents: list[Document]
    by_kind: dict[str, list[Document]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[tuple[str, str, str], Document] = field(default_factory=dict)

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
        """Every object that carries a pod spec."""
        for kind in POD_BEARING_KINDS:
            for doc in self.by_kind.get(kind, ()):
                if pod_spec_of(doc) is not None:
                    yield doc

    def workloads_matching(self, selector: Selector, namespace: str | None) -> list[Document]:
        """Workloads in ``namespace`` whose pod template labels match ``selector``."""
        ns = namespace or ""
        return [
            doc
            for doc in self.workloads()
            if namespace_key(doc) == ns and selector.matches(template_labels(doc))
        ]
