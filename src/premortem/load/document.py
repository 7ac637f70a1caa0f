"""A document read from YAML or JSON, with the parser's node tree kept for line look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from premortem.findings import ObjectRef

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Document:
    """One Kubernetes object (or one document that should have been) and where it came from.

    ``node`` is the YAML node of the object itself (for an item of a ``kind: List`` it is the item's
    node), so paths are relative to the object. Line numbers are 1-based.
    """

    obj: Any
    file: str
    line: int
    node: Any = None
    # Position of the document in its file (0-based), and of the item inside a List, if any.
    doc_index: int = 0
    item_index: int | None = None
    _ref: ObjectRef | None = field(default=None, repr=False)
    # Memo of derived views (pod resources, parsed images...) so rules share one computation.
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> ObjectRef:
        if self._ref is None:
            obj = self.obj if isinstance(self.obj, dict) else {}
            meta = obj.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            self._ref = ObjectRef(
                api_version=_str_or_none(obj.get("apiVersion")),
                kind=_str_or_none(obj.get("kind")),
                namespace=_str_or_none(meta.get("namespace")),
                name=_str_or_none(meta.get("name")),
            )
        return self._ref

    @property
    def kind(self) -> str | None:
        return self.ref.kind

    @property
    def api_group(self) -> str:
        """The API group ('' for the core group) of the object's apiVersion."""
        api_version = self.ref.api_version or ""
        return api_version.split("/", 1)[0] if "/" in api_version else ""

    def line_of(self, path: Path) -> int:
        """Line of the deepest node of ``path`` that exists (the key's line for mapping entries)."""
        node = self.node
        line = self.line
        if node is None:
            return line
        for part in path:
            found = None
            if isinstance(part, str) and getattr(node, "id", None) == "mapping":
                for key_node, value_node in node.value:
                    if getattr(key_node, "value", None) == part:
                        found = (key_node, value_node)
                        break
                if found is None:
                    return line
                line = found[0].start_mark.line + 1
                node = found[1]
            elif isinstance(part, int) and getattr(node, "id", None) == "sequence":
                if not 0 <= part < len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line


@dataclass(slots=True)
class LoadProblem:
    """Input that could not be read as a Kubernetes object; becomes an ``input`` finding."""

    file: str
    line: int
    message: str
    fix: str
    rule: str = "INP001"
    doc: Document | None = None


@dataclass(slots=True)
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    files_read: int = 0
    files_failed: int = 0
    # Documents that are valid YAML but plainly not Kubernetes objects (Helm values, CI configs...).
    skipped: list[tuple[str, int, str]] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.documents.extend(other.documents)
        self.problems.extend(other.problems)
        self.files_read += other.files_read
        self.files_failed += other.files_failed
        self.skipped.extend(other.skipped)


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
