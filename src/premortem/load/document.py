"""A document read from YAML or JSON, and the way back to its YAML nodes for line look-ups.

The loader does not keep the parser's node trees: they weigh several times the objects themselves and
slow every garbage collection. A document holds a ``NodeRef`` instead, and the first ``line_of`` on a
document of a file composes that file's nodes again (once; only files with findings pay for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from premortem.findings import ObjectRef

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Document:
    """One Kubernetes object (or one document that should have been) and where it came from.

    ``node`` leads to the YAML node of the object itself (for an item of a ``kind: List`` it is the
    item's node), so paths are relative to the object: a ``NodeRef`` (composed on demand), a node, or
    None (JSON read without YAML). Use ``line_of``, never ``node``. Line numbers are 1-based.
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

    def release_nodes(self, keep_text: bool = False) -> None:
        """Let go of this document's composed YAML nodes, and of its file's text unless ``keep_text``
        (``line_of`` composes them again if asked)."""
        if isinstance(self.node, NodeRef):
            self.node.source.release(self.node.index, keep_text)

    def line_of(self, path: Path) -> int:
        """Line of the deepest node of ``path`` that exists (the key's line for mapping entries)."""
        node = self.node
        line = self.line
        if not path:
            return line
        if isinstance(node, NodeRef):
            node = node.resolve()
        if node is None:
            return line
        for part in path:
            found = None
            if isinstance(part, str) and getattr(node, "id", None) == "mapping":
                for key_node, value_node in reversed(node.value):  # duplicates: the last one wins
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


class NodeSource:
    """A YAML stream whose node trees can be composed again: a file's text, or the file itself.

    ``text`` None means: read ``name`` from disk again (the loader keeps no copy of files it read).
    ``line_offset`` pads a chunk recovered after a syntax error so its marks are lines of the file.
    Pickled without its composed nodes (parallel loading sends documents between processes).
    """

    __slots__ = ("_documents", "_nodes", "_text", "line_offset", "name", "text")

    def __init__(self, name: str, text: str | None = None, line_offset: int = 0) -> None:
        self.name = name
        self.text = text
        self.line_offset = line_offset
        self._nodes: list[Any] | None = None
        self._documents: dict[int, Any] = {}
        self._text: str | None = None

    def __getstate__(self) -> tuple[str, str | None, int]:
        return (self.name, self.text, self.line_offset)

    def __setstate__(self, state: tuple[str, str | None, int]) -> None:
        self.name, self.text, self.line_offset = state
        self._nodes = None
        self._documents = {}
        self._text = None

    def stream_text(self) -> str | None:
        """The text as first parsed (padded to the chunk's line), or None if it cannot be read."""
        if self._text is None:
            from premortem.load.reader import read_text

            text = self.text
            if text is None:
                try:
                    text = read_text(self.name)
                except (OSError, UnicodeDecodeError):
                    return None
            self._text = "\n" * self.line_offset + text if self.line_offset else text
        return self._text

    def nodes(self) -> list[Any]:
        """The root node of every document of the stream (composed once, then cached)."""
        if self._nodes is None:
            from premortem.load.reader import compose_nodes

            self._nodes = compose_nodes(self)
        return self._nodes

    def release(self, index: int, keep_text: bool = False) -> None:
        self._documents.pop(index, None)
        if not keep_text and not self._documents and self._nodes is None:
            self._text = None  # read again from the file if needed

    def document(self, index: int, span: tuple[int, int, int, int] | None) -> Any:
        """The root node of document ``index``: composed from its own span of the text when known
        (so a big file with one finding does not compose all its documents), else from the stream."""
        if index not in self._documents:
            node = None
            if span is not None:
                from premortem.load.reader import compose_span

                node = compose_span(self, span)
            if node is None:
                nodes = self.nodes()
                node = nodes[index] if 0 <= index < len(nodes) else None
            self._documents[index] = node
        return self._documents[index]


@dataclass(frozen=True, slots=True)
class NodeRef:
    """Document ``index`` of ``source``; for an item of a list, ``item`` in that document's ``items``
    (``in_items``) or in the document itself (a top-level YAML sequence of objects). ``span`` is the
    document's root node as (start, end, line, column) in the stream text (character offsets)."""

    source: NodeSource
    index: int
    item: int | None = None
    in_items: bool = False
    span: tuple[int, int, int, int] | None = None

    def resolve(self) -> Any:
        """The node, or None when it cannot be found again (the file changed or vanished)."""
        node = self.source.document(self.index, self.span)
        if node is None or self.item is None:
            return node
        if self.in_items:
            node = _child(node, "items")
        if getattr(node, "id", None) != "sequence" or not 0 <= self.item < len(node.value):
            return None
        return node.value[self.item]


def _child(node: Any, key: str) -> Any:
    if getattr(node, "id", None) != "mapping":
        return None
    for key_node, value_node in reversed(node.value):  # a key written twice: the last one wins
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


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
