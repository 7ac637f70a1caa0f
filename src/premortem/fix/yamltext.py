"""The editing core: change a few nodes of a YAML file and keep every other byte.

Why not dump the ruamel.yaml round-trip tree? Re-serialising a document rewrites lines nobody asked to
change: ``{ cpu: 1 }`` loses its inner spaces, mixed sequence indentation is normalised, ``key:   v``
loses its alignment, long lines are re-wrapped. A reviewer then has to read a diff of noise. So edits
here are *splices*: the document is composed (PyYAML over libyaml: the same YAML 1.1 reading as the
scan, with exact character offsets for every node), the node an edit targets is located by
path, and only its characters (or the lines of a key being added or removed) are replaced. New blocks
are rendered by ruamel.yaml with the indentation detected in the file, then indented into place.

Every edit is re-parsed immediately; the pipeline then checks the whole file parses to exactly the
expected objects before anything is written (``verify``).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]


class EditError(Exception):
    """The edit cannot be made safely as a splice (the fix is reported as not applied)."""


# --------------------------------------------------------------------------------------------- ops


@dataclass(frozen=True, slots=True)
class Set:
    """Set ``path`` to ``value``: replace a scalar, or add the missing keys (dict values merge)."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the key at ``path`` (nothing happens when it is absent)."""

    path: Path


@dataclass(frozen=True, slots=True)
class Append:
    """Append ``value`` to the sequence at ``path`` (created when absent)."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class Rename:
    """Replace the entry ``path`` (a mapping key) by ``new_key: value`` on the same line."""

    path: Path
    new_key: str
    value: Any


Op = Set | Delete | Append | Rename


def apply_to_object(obj: Any, op: Op) -> None:
    """The same edit on plain Python data: what the file must parse to afterwards."""
    *parents, last = op.path
    target = obj
    for part in parents:
        if isinstance(part, str) and target.get(part) is None:
            target[part] = {}
        target = target[part]
    if isinstance(op, Set):
        if isinstance(op.value, dict) and isinstance(target.get(last), dict):
            for key, value in op.value.items():
                apply_to_object(obj, Set((*op.path, key), value))
        else:
            target[last] = _plain(op.value)
    elif isinstance(op, Delete):
        if isinstance(target, dict):
            target.pop(last, None)
    elif isinstance(op, Append):
        if isinstance(target.get(last), list):
            target[last].append(_plain(op.value))
        else:
            target[last] = [_plain(op.value)]
    elif isinstance(op, Rename):
        new: dict[Any, Any] = {}
        for key, value in target.items():
            if key == last:
                new[op.new_key] = _plain(op.value)
            else:
                new[key] = value
        target.clear()
        target.update(new)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


# ------------------------------------------------------------------------------------------ style


@dataclass(slots=True)
class Style:
    """How a file writes YAML, detected once per file."""

    newline: str = "\n"
    mapping_indent: int = 2  # child key column - parent key column
    sequence_offset: int = 2  # dash column - parent key column for a sequence under a key
    json: bool = False


def detect_style(text: str, roots: list[Node], name: str = "") -> Style:
    style = Style()
    crlf = text.count("\r\n")
    if crlf and crlf == text.count("\n"):
        style.newline = "\r\n"
    style.json = name.endswith(".json")
    indents: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    for root in roots:
        for parent_key, value in _walk_block_children(root):
            if isinstance(value, MappingNode) and value.value:
                diff = value.value[0][0].start_mark.column - parent_key.start_mark.column
                if diff > 0:
                    indents[diff] += 1
            elif isinstance(value, SequenceNode) and value.value:
                dash = _dash_column(text, value.value[0])
                if dash is not None:
                    off = dash - parent_key.start_mark.column
                    if off >= 0:
                        offsets[off] += 1
    if indents:
        style.mapping_indent = indents.most_common(1)[0][0]
    if offsets:
        style.sequence_offset = offsets.most_common(1)[0][0]
    return style


def _walk_block_children(node: Node) -> Iterator[tuple[Node, Node]]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode) and not current.flow_style:
            for key, value in current.value:
                block = isinstance(value, MappingNode | SequenceNode) and not value.flow_style
                if block and key.start_mark.line != value.start_mark.line:
                    yield key, value
                stack.append(value)
        elif isinstance(current, SequenceNode) and not current.flow_style:
            stack.extend(current.value)


def _dash_column(text: str, item: Node) -> int | None:
    """Column of the ``-`` introducing a block sequence item."""
    index = item.start_mark.index - 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    if index >= 0 and text[index] == "-":
        return index - (text.rfind("\n", 0, index) + 1)
    return None


# -------------------------------------------------------------------------------------- composing


try:  # pragma: no cover - libyaml is present wherever the scan runs fast
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class ManifestLoader(_BaseLoader):
    """PyYAML's safe loader reading manifests as the scan does: YAML 1.1's ``=`` value scalar is the
    string "=" (Go's YAML reads it so; PyYAML has no constructor for it)."""


def _construct_value(loader: ManifestLoader, node: Any) -> Any:
    return loader.construct_scalar(node)


ManifestLoader.add_constructor("tag:yaml.org,2002:value", _construct_value)


def load_all(text: str) -> list[Any]:
    """Every document of ``text`` as plain data (what the edited file must parse to), constructed by
    the scan's own loader (the same objects as PyYAML's safe loader with the ``=`` scalar, built
    several times faster)."""
    from premortem.load.reader import parse_documents

    return parse_documents(text)


def compose_all(text: str) -> list[Node]:
    """Top-level nodes of every document (empty documents included, as the scan counts them).

    libyaml, as the scan: it reads some plain scalars PyYAML's pure-Python parser refuses (``?`` inside
    a flow mapping); its marks count characters, so they index the str."""
    loader = ManifestLoader(text)
    nodes: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    finally:
        loader.dispose()
    return nodes


def find(root: Node, path: Path) -> tuple[Node | None, int]:
    """Deepest node along ``path`` and how many parts of the path it consumed."""
    node = root
    for depth, part in enumerate(path):
        nxt = _child(node, part)
        if nxt is None:
            return node, depth
        node = nxt
    return node, len(path)


def _child(node: Node, part: str | int) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(part, str):
        entry = _entry(node, part)
        return entry[1] if entry else None
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: Node = node.value[part]
        return child
    return None


def _entry(node: MappingNode, key: str) -> tuple[Node, Node] | None:
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


# ---------------------------------------------------------------------------------------- editing


class DocumentText:
    """The text of one file, edited document by document, splice by splice.

    The file is kept in pieces (the text between documents, each document's text) so an edit costs
    the document it changes, not the file: a multi-document file with thousands of edits is not
    copied and re-parsed whole for each. An edit inside one item of a ``kind: List`` (or of a
    top-level sequence) costs that item: the document is cut at its block items once, and the item
    is edited with its own first line (``- `` included) in front of it, exactly the characters it
    has in the file. After each edit the piece must still be exactly one node spanning it; if not,
    the pieces are laid out again from the whole text (what every edit used to do)."""

    def __init__(self, text: str, name: str = "") -> None:
        self.name = name
        roots = self._layout(text)
        self.style = detect_style(text, [r for r in roots if r is not None], name)

    def _layout(self, text: str) -> list[Node]:
        roots = [r for r in _untagged(text) if r is not None]  # spans and columns: no tags needed
        self._gaps: list[str] = []  # text before each document, and after the last
        self._docs: list[str | _Items] = []
        self._pads: list[str] = []  # the document's column, as spaces
        self._no_items: set[int] = set()  # documents that cannot be cut at their items
        at = 0
        for root in roots:
            start, end = _span(text, root)
            self._gaps.append(text[at:start])
            self._docs.append(text[start:end])
            self._pads.append(" " * (start - (text.rfind("\n", 0, start) + 1)))
            at = end
        self._gaps.append(text[at:])
        self._text: str | None = text
        return roots

    @property
    def text(self) -> str:
        if self._text is None:
            pieces = [gap + _joined(doc) for gap, doc in zip(self._gaps, self._docs, strict=False)]
            self._text = "".join(pieces) + self._gaps[-1]
        return self._text

    def apply(self, doc_index: int, op: Op) -> None:
        if not 0 <= doc_index < len(self._docs):
            raise EditError(f"document {doc_index} does not exist")
        items = self._items(doc_index, op.path)
        if items is not None:
            self._apply_item(doc_index, items, op)
            return
        pad = self._pads[doc_index]
        # Parse the document on its own (padded so that columns stay the same): an edit re-parses one
        # document, not the whole file.
        local = pad + _joined(self._docs[doc_index])
        try:
            local_root = compose_all(local)[0]
        except yaml.YAMLError as exc:  # e.g. a NEL that ends a line in the file opens this document
            raise EditError(
                f"the document does not parse on its own ({getattr(exc, 'problem', exc)})"
            ) from None
        edited = _Editor(local, self.style).apply(local_root, op)
        if not edited.startswith(pad):
            raise EditError("the edit touched the start of the document")
        self._docs[doc_index] = edited[len(pad) :]
        self._text = None
        self._no_items.discard(doc_index)
        if not _spans_all(_untagged(edited), len(pad), len(edited)):
            self._layout(self.text)

    def _items(self, doc_index: int, path: Path) -> tuple[_Items, int] | None:
        """The document cut at its items and the item ``path`` goes into (None: edit it whole)."""
        in_items = len(path) > 2 and path[0] == "items" and isinstance(path[1], int)
        top_level = len(path) > 1 and isinstance(path[0], int)
        if not (in_items or top_level) or doc_index in self._no_items:
            return None
        doc = self._docs[doc_index]
        if isinstance(doc, str):
            cut = _Items.cut(self._pads[doc_index], doc)
            if cut is None:
                self._no_items.add(doc_index)
                return None
            self._docs[doc_index] = doc = cut
        item = path[1] if in_items else path[0]
        if doc.in_items != in_items or not isinstance(item, int) or not 0 <= item < len(doc.items):
            return None
        return doc, item

    def _apply_item(self, doc_index: int, found: tuple[_Items, int], op: Op) -> None:
        items, k = found
        to_item: Path = ("items", k) if items.in_items else (k,)
        prefix = items.prefixes[k]
        local = prefix + items.items[k]
        editor = _Editor(local, self.style, to_item)
        edited = editor.apply(_leading_to(compose_all(local)[0].value[0], to_item), op)
        if not edited.startswith(prefix):
            raise EditError("the edit touched the start of the document")
        items.items[k] = edited[len(prefix) :]
        self._text = None
        if not (edited.endswith("\n") and _one_item(_untagged(edited), len(prefix), len(edited))):
            self._docs[doc_index] = _joined(items)  # the item no longer stands alone: edit it whole
            self._no_items.add(doc_index)
            self._layout(self.text)


@dataclass(slots=True)
class _Items:
    """A document cut at the block items of its ``items`` sequence (or of itself): ``head``, then each
    item with the text before it on its line (``prefixes``: its dash), then ``tail``."""

    head: str
    items: list[str]
    prefixes: list[str]
    tail: str
    in_items: bool

    @classmethod
    def cut(cls, pad: str, doc: str) -> _Items | None:
        local = pad + doc
        root = _untagged(local)[0]
        sequence: Node | None = root
        in_items = isinstance(root, MappingNode)
        if isinstance(root, MappingNode):
            entry = _entry(root, "items")
            sequence = entry[1] if entry else None
        if not isinstance(sequence, SequenceNode) or sequence.flow_style or not sequence.value:
            return None
        items: list[str] = []
        prefixes: list[str] = []
        previous_end: int | None = None
        for item in sequence.value:
            start, end = item.start_mark.index, item.end_mark.index
            if not isinstance(item, MappingNode) or item.flow_style or local[end - 1 : end] != "\n":
                return None
            line_start = local.rfind("\n", 0, start) + 1
            if previous_end is not None and previous_end != line_start:
                return None  # an item must end where the next one's line starts
            items.append(local[start:end])
            prefixes.append(local[line_start:start])
            previous_end = end
        first, last = sequence.value[0].start_mark.index, sequence.value[-1].end_mark.index
        if first < len(pad):
            return None
        return cls(local[len(pad) : first], items, prefixes, local[last:], in_items)

    def text(self) -> str:
        # item k > 0 follows its own prefix (its dash); item 0's prefix ends the head
        middle = "".join(
            prefix + item for prefix, item in zip(["", *self.prefixes[1:]], self.items, strict=True)
        )
        return self.head + middle + self.tail


class _OneAt(Sequence[Node]):
    """A sequence's items as far as a path into item ``position`` can tell: only that one is there."""

    def __init__(self, position: int, node: Node) -> None:
        self.position = position
        self.node = node

    def __len__(self) -> int:
        return self.position + 1

    @overload
    def __getitem__(self, i: int) -> Node: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Node]: ...
    def __getitem__(self, i: int | slice) -> Node | Sequence[Node]:
        if i == self.position:
            return self.node
        raise IndexError(i)


def _leading_to(item: Node, path: Path) -> Node:
    """A root from which ``path`` (``("items", k)`` or ``(k,)``) leads to ``item``: paths into the
    item, error messages included, read as they do from the whole document."""
    node: Node = item
    for part in reversed(path):
        if isinstance(part, int):
            node = SequenceNode("tag:yaml.org,2002:seq", _OneAt(part, node))
        else:
            node = MappingNode("tag:yaml.org,2002:map", [(ScalarNode("tag:yaml.org,2002:str", part), node)])
    return node


def _untagged(text: str) -> list[Node]:
    from premortem.load.reader import compose_untagged

    return compose_untagged(text)


def _joined(doc: str | _Items) -> str:
    return doc if isinstance(doc, str) else doc.text()


def _spans_all(roots: list[Node], start: int, end: int) -> bool:
    return len(roots) == 1 and (roots[0].start_mark.index, roots[0].end_mark.index) == (start, end)


def _one_item(roots: list[Node], start: int, end: int) -> bool:
    if len(roots) != 1 or not isinstance(roots[0], SequenceNode) or len(roots[0].value) != 1:
        return False
    item = roots[0].value[0]
    return (item.start_mark.index, item.end_mark.index) == (start, end)


def _span(text: str, root: Node) -> tuple[int, int]:
    start = root.start_mark.index
    end = root.end_mark.index
    return start, end


class _Editor:
    def __init__(self, text: str, style: Style, path_to_item: Path | None = None) -> None:
        self.text = text
        self.style = style
        # The text is one sequence item (with its dash): the root leads to it along this path.
        self.path_to_item = path_to_item

    def _root(self) -> Node:
        root = compose_all(self.text)[0]
        return root if self.path_to_item is None else _leading_to(root.value[0], self.path_to_item)

    # -- entry point
    def apply(self, root: Node, op: Op) -> str:
        if isinstance(op, Set):
            self._set(root, op.path, op.value)
        elif isinstance(op, Delete):
            self._delete(root, op.path)
        elif isinstance(op, Append):
            self._append(root, op.path, op.value)
        else:
            self._rename(root, op.path, op.new_key, op.value)
        return self.text

    def _splice(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[end:]

    def _nl(self, text: str) -> str:
        return text.replace("\n", self.style.newline) if self.style.newline != "\n" else text

    # -- operations
    def _set(self, root: Node, path: Path, value: Any) -> None:
        node, depth = find(root, path)
        assert node is not None
        if depth == len(path):
            if isinstance(value, dict) and isinstance(node, MappingNode):
                # merge key by key, re-locating after each insertion
                for key, sub in value.items():
                    self._set(self._root(), (*path, key), sub)
                return
            if isinstance(node, ScalarNode) and isinstance(value, dict | list) and _is_null(node):
                # `key:` or `key: null` becomes `key: {...}` (flow: the one form that fits on the line)
                start, end = node.start_mark.index, node.end_mark.index
                self._splice(start, end, (" " if start == end else "") + self._flow(value))
                return
            if not isinstance(node, ScalarNode) or isinstance(value, dict | list):
                raise EditError(f"cannot replace the {type(node).__name__} at /{_fmt(path)}")
            self._replace_scalar(node, value)
            return
        if not isinstance(node, MappingNode):
            if isinstance(node, ScalarNode) and _is_null(node):
                filled: Any = value
                for key in reversed(path[depth:]):
                    if not isinstance(key, str):
                        raise EditError(f"/{_fmt(path)}: a list index does not exist")
                    filled = {key: filled}
                start, end = node.start_mark.index, node.end_mark.index
                self._splice(start, end, (" " if start == end else "") + self._flow(filled))
                return
            raise EditError(f"/{_fmt(path[:depth])} is not a mapping")
        rest = path[depth:]
        if any(not isinstance(p, str) for p in rest):
            raise EditError(f"/{_fmt(path)}: a list index does not exist")
        nested: Any = value
        for key in reversed(rest[1:]):
            nested = {key: nested}
        self._add_key(node, str(rest[0]), nested)

    def _delete(self, root: Node, path: Path) -> None:
        parent, depth = find(root, path[:-1])
        if depth != len(path) - 1 or not isinstance(parent, MappingNode):
            return
        entry = _entry(parent, str(path[-1]))
        if entry is None:
            return
        key, value = entry
        if parent.flow_style:
            index = [k for k, _ in parent.value].index(key)
            if index + 1 < len(parent.value):
                start, end = key.start_mark.index, parent.value[index + 1][0].start_mark.index
            elif index > 0:
                start, end = _value_end(parent.value[index - 1][1]), _value_end(value)
            else:
                start, end = key.start_mark.index, _value_end(value)
            self._splice(start, end, "")
            return
        line_start = self.text.rfind("\n", 0, key.start_mark.index) + 1
        if self.text[line_start : key.start_mark.index].strip():
            if len(parent.value) == 1:
                raise EditError(f"/{_fmt(path)} is the only key of a sequence item")
            # `- key: v` as the first key of an item: the next key moves up onto the dash line
            nxt = parent.value[1][0]
            self._splice(key.start_mark.index, nxt.start_mark.index, "")
            return
        end = self._after_last_line(value)
        self._splice(line_start, end, "")

    def _append(self, root: Node, path: Path, value: Any) -> None:
        node, depth = find(root, path)
        if depth != len(path):
            self._set(root, path, [value])
            return
        if not isinstance(node, SequenceNode):
            raise EditError(f"/{_fmt(path)} is not a list")
        if node.flow_style or self.style.json:
            close = node.end_mark.index - 1
            if self.text[close] != "]":
                raise EditError(f"/{_fmt(path)}: unexpected flow sequence end")
            rendered = self._flow(value)
            if node.value:
                at = _value_end(node.value[-1])
                self._splice(at, at, self._nl(_flow_separator(node, node.value[-1])) + rendered)
            else:
                self._splice(close, close, rendered)
            return
        if not node.value:
            raise EditError(f"/{_fmt(path)} is an empty block list")
        dash = _dash_column(self.text, node.value[0])
        if dash is None:
            raise EditError(f"/{_fmt(path)}: cannot find the list's dash")
        content = node.value[0].start_mark.column
        if isinstance(value, dict | list):
            first, _, rest = self._block(value, content).partition("\n")
            first = first.lstrip(" ")
        else:
            first, rest = self._scalar(value, None), ""
        line = " " * dash + "-" + " " * (content - dash - 1) + first + "\n" + rest
        at = self._after_last_line(node.value[-1])
        self._splice(at, at, self._nl(self._ensure_nl(at) + line))

    def _rename(self, root: Node, path: Path, new_key: str, value: Any) -> None:
        parent, depth = find(root, path[:-1])
        if depth != len(path) - 1 or not isinstance(parent, MappingNode):
            raise EditError(f"/{_fmt(path[:-1])} does not exist")
        entry = _entry(parent, str(path[-1]))
        if entry is None:
            raise EditError(f"/{_fmt(path)} does not exist")
        key, node = entry
        if not isinstance(node, ScalarNode):
            raise EditError(f"/{_fmt(path)} is not a scalar")
        if not isinstance(key, ScalarNode):
            raise EditError(f"/{_fmt(path)}: complex key")
        self._replace_scalar(node, value)
        self._replace_scalar(key, new_key)

    # -- primitives
    def _replace_scalar(self, node: ScalarNode, value: Any) -> None:
        start, end = node.start_mark.index, node.end_mark.index
        if node.style in ("|", ">"):
            raise EditError("cannot rewrite a block scalar in place")
        if start == end:  # `key:` with nothing: a null value
            self._splice(start, end, " " + self._scalar(value, None))
            return
        self._splice(start, end, self._scalar(value, node.style))

    def _add_key(self, mapping: MappingNode, key: str, value: Any) -> None:
        if mapping.flow_style or self.style.json:
            close = mapping.end_mark.index - 1
            if self.text[close] != "}":
                raise EditError("unexpected flow mapping end")
            entry = f"{self._flow(key)}: {self._flow(value)}"
            if mapping.value:
                at = _value_end(mapping.value[-1][1])
                self._splice(at, at, self._nl(_flow_separator(mapping, mapping.value[-1][0])) + entry)
            else:
                self._splice(close, close, entry)
            return
        if not mapping.value:
            raise EditError("cannot add to an empty block mapping")
        column = mapping.value[0][0].start_mark.column
        at = self._after_last_line(mapping.value[-1][1])
        quote = _sibling_quote(mapping)
        if isinstance(value, str) and quote is not None:
            # siblings are quoted ("10%"): the new entry looks like them
            rendered = " " * column + self._scalar(key, None) + ": " + self._scalar(value, quote) + "\n"
        else:
            rendered = self._block({key: value}, column)
        self._splice(at, at, self._nl(self._ensure_nl(at) + rendered))

    def _ensure_nl(self, at: int) -> str:
        return "" if at == 0 or self.text[at - 1] == "\n" else "\n"

    def _after_last_line(self, node: Node) -> int:
        """Index just after the line holding the last character of ``node``'s content."""
        leaf = _last_leaf(node)
        end = _value_end(leaf)
        if isinstance(leaf, ScalarNode) and leaf.style in ("|", ">"):
            return end if end == 0 or self.text[end - 1] == "\n" else self._line_end(end)
        return self._line_end(end)

    def _line_end(self, index: int) -> int:
        nl = self.text.find("\n", index)
        return len(self.text) if nl < 0 else nl + 1

    # -- rendering
    def _scalar(self, value: Any, quote: str | None) -> str:
        if self.style.json:
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"  # never quoted: a quoted number or bool is a string
        if isinstance(value, int | float):
            return str(value)
        text = str(value)
        if quote == "'":
            return "'" + text.replace("'", "''") + "'"
        if quote == '"':
            return json.dumps(text, ensure_ascii=False)
        if isinstance(value, str) and not _plain_safe(text):
            return json.dumps(text, ensure_ascii=False)
        return text

    def _flow(self, value: Any) -> str:
        if self.style.json:
            return json.dumps(value)
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self._flow(k)}: {self._flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self._flow(v) for v in value) + "]"
        text = self._scalar(value, None)
        if isinstance(value, str) and text == value and any(c in value for c in ",[]{}"):
            return json.dumps(value)
        return text

    def _block(self, value: dict[str, Any] | Any, column: int) -> str:
        """Block YAML for ``value`` whose first line starts at ``column``; ends with a newline."""
        from ruamel.yaml import YAML

        dumper = YAML(typ="rt")
        step = self.style.mapping_indent
        offset = self.style.sequence_offset
        dumper.indent(mapping=step, sequence=max(offset + 2, step), offset=offset)
        dumper.width = 4096
        out = io.StringIO()
        dumper.dump(_quote_ambiguous(value), out)
        lines = out.getvalue().splitlines()
        return "".join(" " * column + line + "\n" if line else "\n" for line in lines)


def _flow_separator(collection: Node, last: Node) -> str:
    """', ' on one line; a new line at the last entry's column when entries stand on their own lines
    (pretty-printed JSON, multi-line flow YAML)."""
    own_line = last.start_mark.line > collection.start_mark.line
    closed_below = collection.end_mark.line > _value_end_line(last)
    if own_line and closed_below:
        return ",\n" + " " * last.start_mark.column
    return ", "


def _value_end_line(node: Node) -> int:
    line: int = _last_leaf(node).end_mark.line
    return line


def _is_null(node: ScalarNode) -> bool:
    return bool(node.tag.endswith(":null"))


def _sibling_quote(mapping: MappingNode) -> str | None:
    """The quote style of the mapping's scalar values when they all share one."""
    styles = {v.style for _, v in mapping.value if isinstance(v, ScalarNode) and v.tag.endswith(":str")}
    if len(styles) == 1:
        style = styles.pop()
        return style if style in ("'", '"') else None
    return None


def _last_leaf(node: Node) -> Node:
    while True:
        if isinstance(node, MappingNode) and node.value and not node.flow_style:
            node = node.value[-1][1]
        elif isinstance(node, SequenceNode) and node.value and not node.flow_style:
            node = node.value[-1]
        else:
            return node


def _value_end(node: Node) -> int:
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        return _value_end(_last_leaf(node))
    end: int = node.end_mark.index
    return end


_PLAIN_BAD = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|: | #|[\s:]$|[\x00-\x1f]")


def _quote_ambiguous(value: Any) -> Any:
    """``value`` with every string that would not read back as itself in YAML 1.1 (``yes``, ``on``,
    ``1e3``, ``0777``...) double-quoted: ruamel writes YAML 1.2, where they are plain strings, but the
    scan reads the file as YAML 1.1."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, dict):
        return {k: _quote_ambiguous(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_quote_ambiguous(v) for v in value]
    if isinstance(value, str) and not _plain_safe(value):
        return DoubleQuotedScalarString(value)
    return value


def _plain_safe(text: str) -> bool:
    if not text or _PLAIN_BAD.search(text):
        return False
    try:
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def _fmt(path: Path) -> str:
    return "/".join(str(p) for p in path)
