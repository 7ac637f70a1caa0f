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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    """Every document of ``text`` as plain data (what the edited file must parse to)."""
    return list(yaml.load_all(text, Loader=ManifestLoader))


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
    """The text of one file, edited document by document, splice by splice."""

    def __init__(self, text: str, name: str = "") -> None:
        self.text = text
        self.name = name
        self.roots = compose_all(text)
        self.style = detect_style(text, [r for r in self.roots if r is not None], name)

    def apply(self, doc_index: int, op: Op) -> None:
        root = self.roots[doc_index]
        start, end = _span(self.text, root)
        chunk = self.text[start:end]
        # Parse the document on its own (padded so that columns stay the same): an edit re-parses one
        # document, not the whole file.
        line_start = self.text.rfind("\n", 0, start) + 1
        pad = " " * (start - line_start)
        local = pad + chunk
        local_root = compose_all(local)[0]
        edited = _Editor(local, self.style).apply(local_root, op)
        new_chunk = edited[len(pad) :]
        if not edited.startswith(pad):
            raise EditError("the edit touched the start of the document")
        self.text = self.text[:start] + new_chunk + self.text[end:]
        self.roots = compose_all(self.text)


def _span(text: str, root: Node) -> tuple[int, int]:
    start = root.start_mark.index
    end = root.end_mark.index
    return start, end


class _Editor:
    def __init__(self, text: str, style: Style) -> None:
        self.text = text
        self.style = style

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
                    self._set(compose_all(self.text)[0], (*path, key), sub)
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
