"""A document read from YAML or JSON, and the way back to its YAML nodes for line look-ups.

The loader does not keep the parser's node trees: they weigh several times the objects themselves and
slow every garbage collection. A document holds a ``NodeRef`` instead, and its first ``line_of``
composes that document's (or List item's) own span of the text again, once; only documents with
findings pay for it, and the cost is linear in the size of the document, not of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from premortem.findings import ObjectRef
from premortem.load.lines import Table
from premortem.load.lines import line_of as table_line_of

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Document:
    """One Kubernetes object (or one document that should have been) and where it came from.

    ``node`` leads to the YAML node of the object itself (for an item of a ``kind: List`` it is the
    item's node), so paths are relative to the object: a ``NodeRef`` (composed on demand), a
    ``JsonRef`` (JSON read with a JSON parser), a node, or None. Use ``line_of``, never ``node``.
    Line numbers are 1-based.
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

    def __reduce_ex__(self, protocol: Any) -> Any:
        """A plain document travels as its constructor's arguments (the parallel loader sends every
        document a worker reads): half the time of pickling its slots one by one. Its ``cache`` and
        ``ref`` are worked out again from ``obj`` on the other side. Subclasses pickle as usual."""
        if type(self) is not Document:
            return object.__reduce_ex__(self, protocol)
        return Document, (self.obj, self.file, self.line, self.node, self.doc_index, self.item_index)

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
        """Let go of this document's composed YAML nodes and, unless ``keep_text``, of everything its
        file composed and its text (``line_of`` composes them again if asked)."""
        self.cache.pop("_edges", None)
        if isinstance(self.node, NodeRef):
            self.node.source.release(self.node.key, keep_text)
        elif isinstance(self.node, JsonRef):
            self.node.source.release(None, keep_text)

    def line_of(self, path: Path) -> int:
        """Line of the deepest node of ``path`` that exists (the key's line for mapping entries)."""
        node = self.node
        line = self.line
        if not path:
            return line
        delta = 0  # composed nodes' marks count lines from a later line of the file
        if isinstance(node, NodeRef) and node.table is not None:
            memo = self.cache.setdefault("_edges", {})
            from_table = table_line_of(node.table, self.obj, path, line, memo)
            if from_table is not None:
                return from_table
        if isinstance(node, NodeRef):
            located = node.resolve()
            if located is None:
                return line
            node, delta = located
        elif isinstance(node, JsonRef):
            return node.line_of(path, line)
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
                line = found[0].start_mark.line + 1 + delta
                node = found[1]
            elif isinstance(part, int) and getattr(node, "id", None) == "sequence":
                if not 0 <= part < len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1 + delta
            else:
                return line
        return line


# A composed node and the number of lines of the file before the first line its marks count from.
Located = tuple[Any, int]
# (start, end, line, column) of a node: character offsets in its source's text, 0-based line in the
# file and column of its first character.
Span = tuple[int, int, int, int]


class NodeSource:
    """A YAML stream whose node trees can be composed again: a file's text, or the file itself.

    ``text`` None means: read ``name`` from disk again (the loader keeps no copy of files it read).
    ``line_offset`` is the line of the file a chunk recovered after a syntax error starts at (its
    marks count from there). Pickled without its composed nodes (parallel loading sends documents
    between processes).
    """

    __slots__ = ("_located", "_nodes", "_text", "json_seen", "line_offset", "name", "text")

    def __init__(self, name: str, text: str | None = None, line_offset: int = 0) -> None:
        self.name = name
        self.text = text
        self.line_offset = line_offset
        self._nodes: list[Any] | None = None
        self._located: dict[Any, Located | None] = {}
        self._text: str | None = None
        self.json_seen: dict[int, Any] = {}  # JSON objects and arrays walked (jsonpos.line_of_path)

    def __getstate__(self) -> tuple[str, str | None, int]:
        return (self.name, self.text, self.line_offset)

    def __setstate__(self, state: tuple[str, str | None, int]) -> None:
        self.name, self.text, self.line_offset = state
        self._nodes = None
        self._located = {}
        self._text = None
        self.json_seen = {}

    def stream_text(self) -> str | None:
        """The text as first parsed, or None if it cannot be read."""
        if self._text is None:
            from premortem.load.reader import read_text

            text = self.text
            if text is None:
                try:
                    text = read_text(self.name)
                except (OSError, UnicodeDecodeError):
                    return None
            self._text = text
        return self._text

    def nodes(self) -> list[Any]:
        """The root node of every document of the stream (composed once, then cached)."""
        if self._nodes is None:
            from premortem.load.reader import compose_nodes

            self._nodes = compose_nodes(self)
        return self._nodes

    def release(self, key: Any = None, keep_text: bool = False) -> None:
        """Let go of the nodes composed for ``key`` (and of the JSON walked for the object just done);
        without ``keep_text``, of everything."""
        self._located.pop(key, None)
        self.json_seen.clear()
        if not keep_text:
            self._located.clear()
            self._nodes = None
            self._text = None  # read again from the file if needed

    def located(self, key: Any, span: Span | None, fallback: Any) -> Located | None:
        """The node at ``span`` composed from that span alone (linear: a big file with findings in
        many documents composes each once), else ``fallback()`` (composes more, e.g. the stream)."""
        if key not in self._located:
            found = None
            if span is not None:
                from premortem.load.reader import compose_span

                node = compose_span(self, span)
                if node is not None:
                    found = (node, span[2])
            self._located[key] = found if found is not None else fallback()
        return self._located[key]

    def document(self, index: int) -> Located | None:
        """Document ``index`` of the whole stream (composed once for every document that needs it)."""
        nodes = self.nodes()
        return (nodes[index], self.line_offset) if 0 <= index < len(nodes) else None


@dataclass(frozen=True, slots=True)
class NodeRef:
    """Document ``index`` of ``source``; for an item of a list, ``item`` in that document's ``items``
    (``in_items``) or in the document itself (a top-level YAML sequence of objects). ``span`` is the
    document's root node, ``item_span`` the item's (see ``Span``)."""

    source: NodeSource
    index: int
    item: int | None = None
    in_items: bool = False
    span: Span | None = None
    item_span: Span | None = None
    # The line of every edge of the object, recorded while it was built (load/lines.py); None when
    # the object does not mirror its document node for node (then look-ups compose it again).
    table: Table | None = None

    def __reduce_ex__(self, protocol: Any) -> Any:
        # One call with every field, where a frozen dataclass's own pickling sets them one by one.
        return NodeRef, (
            self.source,
            self.index,
            self.item,
            self.in_items,
            self.span,
            self.item_span,
            self.table,
        )

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.index, self.item)

    def resolve(self) -> Located | None:
        """The node and its line delta, or None when it cannot be found again (the file changed)."""
        if self.item is None:
            return self.source.located(self.key, self.span, self._from_stream)
        return self.source.located(self.key, self.item_span, self._from_document)

    def _from_stream(self) -> Located | None:
        return self.source.document(self.index)

    def _from_document(self) -> Located | None:
        located = self.source.located((self.index, None), self.span, self._from_stream)
        if located is None:
            return None
        node, delta = located
        if self.in_items:
            node = _child(node, "items")
        if getattr(node, "id", None) != "sequence" or not 0 <= (self.item or 0) < len(node.value):
            return None
        return node.value[self.item or 0], delta


@dataclass(frozen=True, slots=True)
class JsonRef:
    """A JSON value of ``source`` that starts at character ``start`` (read without YAML: the lines of
    its paths are found by walking the text from there, see jsonpos.py)."""

    source: NodeSource
    start: int

    def line_of(self, path: Path, line: int) -> int:
        """Line of the deepest node of ``path`` that exists; ``line`` is the line ``start`` is on."""
        from premortem.load.jsonpos import line_of_path

        text = self.source.stream_text()
        return line if text is None else line_of_path(text, self.start, line, path, self.source.json_seen)


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
    # The files (by the name their documents carry) whose text may hold a suppression: the loader
    # notes them while it holds the text, so triage neither reads every file again for comments
    # nor walks every document's annotations (see ``may_hold_suppression``).
    may_suppress: set[str] = field(default_factory=set)

    def extend(self, other: LoadResult) -> None:
        self.documents.extend(other.documents)
        self.problems.extend(other.problems)
        self.files_read += other.files_read
        self.files_failed += other.files_failed
        self.skipped.extend(other.skipped)
        self.may_suppress |= other.may_suppress

    def note_text(self, name: str, text: str) -> None:
        """Record ``name`` in ``may_suppress`` if ``text`` (all or part of its text) may hold a suppression."""
        if may_hold_suppression(text):
            self.may_suppress.add(name)


# Both the comment marker ("# premortem: ignore") and the annotation prefix ("ignore.premortem.dev/")
# hold this word (triage/suppressions.py; a test checks that they do).
SUPPRESSION_WORD = "premortem"


def may_hold_suppression(text: str) -> bool:
    """Whether ``text`` may hold a suppression comment or annotation: it holds the word, or a
    backslash (a JSON or double-quoted YAML escape can spell an annotation key without writing the
    word: "ignore.pre\\u006dortem.dev/RES001"). Any other text cannot: YAML and JSON spell a key
    only with its characters or escapes, and comments are read as written."""
    return SUPPRESSION_WORD in text or "\\" in text


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
