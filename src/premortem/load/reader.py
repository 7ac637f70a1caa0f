"""Read manifests: files, directories (recursive), stdin; YAML (multi-document) and JSON.

Parsing uses PyYAML's C loader (libyaml). Node trees are not kept: a ``Document`` holds a ``NodeRef``
and ``line_of`` composes its file again on demand (see document.py), so memory holds objects only.
A syntax error does not lose the rest of the file: the file is split at its ``---`` separators and
every other document is still read. ``load_paths(..., jobs=N)`` parses files in N worker processes
(parallel.py); the result is the same as with one.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from sys import intern
from typing import Any

import yaml

from premortem.load import jsondupes, limits, split
from premortem.load.document import Document, JsonRef, LoadProblem, LoadResult, NodeRef, NodeSource
from premortem.load.files import InputError, read_file_text, read_stream
from premortem.load.jsonpos import JsonDocument, looks_like_json, parse_json
from premortem.load.limits import InputProblem
from premortem.load.lines import Table, item_tables, items_start, make_table

try:  # pragma: no cover - the C loader is present wherever libyaml is
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


# Tag of each short plain scalar seen, as PyYAML's resolver gives it (a pure function of the text
# for a loader without path resolvers). Manifests repeat the same keys and values endlessly, and the
# resolver's regular expressions were an eighth of the parse. Bounded: long or rare values are not kept.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 200_000
_PLAIN_VALUE_MAX = 48
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
# Looked up once: the resolver and the constructor ask about every node.
_SCALAR_NODE, _MAPPING_NODE, _SEQUENCE_NODE = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


class _Loader(_BaseLoader):
    """PyYAML's safe loader, plus the YAML 1.1 ``=`` value scalar that Go's YAML reads as a string,
    with a memo in front of the implicit resolver (same tags, fewer regular expressions)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _SCALAR_NODE:
            if not implicit[0]:
                return _STR_TAG  # quoted or block scalar without a tag
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= _PLAIN_VALUE_MAX and len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return _SEQ_TAG if kind is _SEQUENCE_NODE else _MAP_TAG

    # Called around every node; without path resolvers (asserted below) they do nothing.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


# The memo relies on these: no path resolvers, and PyYAML's default tags.
assert not _Loader.yaml_path_resolvers
assert (_Loader.DEFAULT_SCALAR_TAG, _Loader.DEFAULT_SEQUENCE_TAG, _Loader.DEFAULT_MAPPING_TAG) == (
    _STR_TAG,
    _SEQ_TAG,
    _MAP_TAG,
)


def _construct_int(loader: Any, node: Any) -> Any:
    """An integer, or the text when Python will not convert that many digits (over 4,300): Go's YAML
    reads a plain number that fits no int64, uint64 or float64 as a string too."""
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        return node.value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Fallback(Exception):
    """The fast constructor met something it leaves to PyYAML's (tags, merge keys, odd keys)."""


# Scalar tags whose values are immutable and a function of the text: built once per distinct text.
_MEMO_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))
_SCALARS: dict[tuple[str, str], Any] = {}


def construct_fast(loader: _Loader, root: Any, anchors: bool = True) -> Any:
    """``loader.construct_document(root)``, faster for what manifests are made of.

    Strings, mappings and sequences are built directly; ints, floats, booleans and nulls by PyYAML's
    own constructors (memoised by text); aliases keep their identity. Anything else (other tags,
    ``<<`` merge keys, collections as keys, recursive aliases) goes to PyYAML's constructor for the
    whole document, so results and errors are PyYAML's in every case.
    """
    built: dict[Any, Any] = {}
    try:
        return _build(root, loader, built, None, anchors)
    except (_Fallback, RecursionError):
        return loader.construct_document(root)
    finally:
        built.clear()  # holds nodes; nothing may keep the node tree alive (the GC is off)


def _build(
    node: Any, loader: _Loader, built: dict[Any, Any], lines: list[int] | None, anchors: bool = True
) -> Any:
    # ``lines`` receives the line of every edge in pre-order (load/lines.py), when given.
    # ``anchors``: the stream may hold anchors, so a node may be reached twice (an alias); without,
    # every node is new and nodes are not remembered (a third of the time of building a manifest).
    # A module-level function, not a closure: a recursive closure is a reference cycle, and with the
    # cyclic GC off it kept every document's node tree alive (3.6 GB for 100k objects).
    kind = type(node)
    tag = node.tag
    if kind is _SCALAR_NODE:
        if tag == _STR_TAG:
            value = node.value
            # Keys and short values repeat across every object: one string each saves memory,
            # and their hashes are computed once.
            return intern(value) if len(value) <= _PLAIN_VALUE_MAX else value
        if tag not in _MEMO_TAGS:
            raise _Fallback
        key = (tag, node.value)
        value = _SCALARS.get(key, _SCALARS)
        if value is _SCALARS:
            value = loader.yaml_constructors[tag](loader, node)
            if len(_SCALARS) < _PLAIN_TAGS_MAX:
                _SCALARS[key] = value
        return value
    if anchors:
        if node in built:
            if built[node] is None:
                raise _Fallback  # recursive alias
            built[_ALIASED] = True
            return built[node]
        built[node] = None
    result: Any
    if kind is _MAPPING_NODE:
        if tag != _MAP_TAG:
            raise _Fallback
        result = {}
        for key_node, value_node in node.value:
            if type(key_node) is not _SCALAR_NODE or key_node.tag not in _KEY_TAGS:
                raise _Fallback
            if lines is not None:
                if key_node.tag != _STR_TAG:
                    built[_ODD_KEY] = True  # the table would not match keys given as strings
                lines.append(key_node.start_mark.line)
            result[_build(key_node, loader, built, None, anchors)] = _build(
                value_node, loader, built, lines, anchors
            )
        if len(result) != len(node.value):  # a key written twice (load/limits.py reports it)
            built.setdefault(_DUPLICATES, []).append(node)
    elif kind is _SEQUENCE_NODE:
        if tag != _SEQ_TAG:
            raise _Fallback
        if lines is None:
            result = [_build(item, loader, built, None, anchors) for item in node.value]
        else:
            result = []
            for item in node.value:
                lines.append(item.start_mark.line)
                result.append(_build(item, loader, built, lines, anchors))
    else:  # pragma: no cover - the composer makes only these three
        raise _Fallback
    if anchors:
        built[node] = result
    return result


# Keys the fast constructor builds itself; ``<<`` (merge) and ``=`` (value) keys go to PyYAML.
_KEY_TAGS = frozenset({_STR_TAG, *_MEMO_TAGS})
# What _build saw, kept in its memo under these keys: an alias of a collection, mappings with a key
# written twice.
_ALIASED = object()
_DUPLICATES = object()
_ODD_KEY = object()


def construct_checked(
    loader: _Loader, root: Any, stream: str, line_offset: int = 0, anchors: bool = True
) -> tuple[Any, list[InputProblem], Table | None]:
    """``construct_fast`` plus the bounds of load/limits.py: a document with excessive or recursive
    aliasing is not constructed (data None, one INP001 problem); duplicate keys are INP004 problems.
    The alias arithmetic runs only on documents that use aliases (or that the fast path leaves to
    PyYAML), so ordinary manifests pay one length comparison per mapping. Problem lines are lines of
    ``stream`` plus ``line_offset`` (where a chunk recovered after a syntax error starts). The third
    value is the document's table of lines (load/lines.py), None when the object does not mirror
    the document node for node."""
    built: dict[Any, Any] = {}
    data: Any = None
    fallback = False
    lines: list[int] = []
    table: Table | None = None
    try:
        data = _build(root, loader, built, lines, anchors)
        aliased = _ALIASED in built
        duplicates: list[Any] | None = built.get(_DUPLICATES, [])
        if not aliased and not duplicates and _ODD_KEY not in built:
            table = make_table(lines, line_offset)
    except (_Fallback, RecursionError):
        fallback, aliased, duplicates = True, True, None
    finally:
        built.clear()  # holds nodes; nothing may keep the node tree alive (the GC is off)
    problems: list[InputProblem] = []
    if aliased:
        start, end = root.start_mark, root.end_mark
        problem = limits.alias_problem(
            limits.document_events(stream, start.index, end.index, start.line, start.column)
        )
        if problem is not None:
            return None, [dataclasses.replace(problem, line=problem.line + line_offset)], None
    if duplicates is None:  # checked before PyYAML's constructor flattens merge keys in place
        duplicates = limits.duplicate_mappings(root)
    if duplicates:
        problems.extend(limits.duplicate_key_problems(duplicates, line_offset, root))
    if fallback:
        data = loader.construct_document(root)
    return data, problems, table


def parse_documents(text: str) -> list[Any]:
    """Every document of ``text`` as plain data, constructed as the scan constructs it (``fix``
    checks that an edited file reads as intended with this); raises ``yaml.YAMLError``."""
    loader = _Loader(text)
    anchors = "&" in text
    try:
        documents: list[Any] = []
        while loader.check_node():
            node = loader.get_node()
            documents.append(construct_fast(loader, node, anchors) if node is not None else None)
        return documents
    finally:
        loader.dispose()


def event_loader(text: str) -> _Loader:
    """A loader to read ``text`` as events (load/limits.py)."""
    return _Loader(text)


def _construct_value(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:value", _construct_value)

try:  # pragma: no cover - the C parser is present wherever libyaml is
    from yaml._yaml import CParser as _CParser

    class _Composer(_CParser):
        """Nodes only, for line look-ups: tags are not needed, so nothing is resolved."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return ""

        def descend_resolver(self, parent: Any, index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

except ImportError:  # pragma: no cover
    _Composer = _Loader  # type: ignore[misc,assignment]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN_NAME = "<stdin>"
# Directories never worth reading (VCS data, virtualenvs, dependency caches); everything else is walked.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".terraform"}
)
_DOC_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)

# Keys that only a Kubernetes object (or a broken one) carries at the top level.
_K8S_TOP_KEYS = frozenset({"apiVersion", "kind", "metadata", "spec"})
_OBJECT_BODY_KEYS = frozenset({"containers", "replicas", "template", "selector", "jobTemplate", "webhooks"})


def iter_manifest_files(root: str) -> Iterator[str]:
    """Every *.yaml, *.yml and *.json below ``root``, sorted, skipping VCS and virtualenv directories."""
    unreadable: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda exc: unreadable.append(exc.filename)):
        while unreadable:  # a directory os.walk could not list: loaded as a file, it says why
            yield unreadable.pop()
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            if name.endswith(MANIFEST_SUFFIXES):
                yield os.path.join(dirpath, name)
    yield from unreadable


def expand_paths(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """Files to read (``-`` kept for stdin) and the paths that do not exist."""
    files: list[str] = []
    missing: list[str] = []
    for path in paths:
        if path == "-":
            files.append(path)
        elif os.path.isdir(path):
            files.extend(iter_manifest_files(path))
        elif os.path.exists(path) or os.path.islink(path):  # a dangling link is read, and reported
            files.append(path)
        else:
            missing.append(path)
    return files, missing


def load_paths(paths: Iterable[str], stdin_text: str | None = None, jobs: int = 1) -> LoadResult:
    """Read files and directories (``-``: stdin). ``jobs`` > 1 parses big inputs in worker processes."""
    files, _missing = expand_paths(paths)
    return load_files(files, stdin_text, jobs)


def load_files(files: list[str], stdin_text: str | None = None, jobs: int = 1) -> LoadResult:
    """Read files already listed (no directory; ``-``: stdin), as ``load_paths`` does once it has
    listed them; one that cannot be read (gone since it was listed) is reported by ``load_file``."""
    # The loader allocates millions of small objects and frees none of them: the cyclic garbage
    # collector would walk them all again and again (it tripled the load time of a 44 MB corpus).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if jobs > 1:
            from premortem.load.parallel import clamp_jobs, load_files_parallel

            return load_files_parallel(files, clamp_jobs(jobs), stdin_text)
        result = LoadResult()
        for path in files:
            result.extend(load_file(path, stdin_text))
        return result
    finally:
        if was_enabled:
            gc.enable()


def load_file(path: str, stdin_text: str | None = None, text: str | None = None) -> LoadResult:
    """Read and parse one file (``-``: stdin); ``text``: the file's text, already read."""
    try:
        if path == "-":
            text = stdin_text if stdin_text is not None else read_stream(sys.stdin.buffer)
            return load_text(text, STDIN_NAME)
        if text is None:
            text = read_text(path)
    except (OSError, UnicodeDecodeError, InputError) as exc:
        result = LoadResult(files_failed=1)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, InputError) and str(exc) == "a directory":
            reason = _directory_problem(path)
        result.problems.append(
            LoadProblem(
                file=path,
                line=1,
                rule="INP001",
                # the reason first: the concise report shows a message up to its first clause
                message=f"{reason[:1].upper()}{reason[1:]}; this file was not read, so nothing in it was checked.",
                fix="Make the file readable UTF-8 text, or leave it out of the scan.",
            )
        )
        return result
    # The text is not kept: line look-ups read the file again (only files with findings).
    return _load_text(text, path, NodeSource(path))


def load_piece(text: str, name: str, piece: split.Piece) -> tuple[LoadResult, int] | None:
    """The documents of one piece of a multi-document file (split.document_pieces), as reading the
    whole file gives them but numbered from 0, and how many documents the piece holds; None when the
    piece does not parse (the caller then reads the whole file, which reports the error as usual)."""
    chunk = text[piece.start : piece.end]
    result = LoadResult()
    try:
        consumed = _parse_stream(chunk, name, piece.line, 0, result, NodeSource(name, chunk, piece.line))
    except yaml.YAMLError:
        return None
    result.note_text(name, chunk)
    return result, consumed


def read_text(path: str) -> str:
    """The file's text, bounded (load/files.py: regular files only, the size cap, UTF-8)."""
    return read_file_text(path)


def _directory_problem(path: str) -> str:
    """Why a directory met as a file was not read (the walk hands over those it cannot enter)."""
    try:
        os.listdir(path)
    except OSError as exc:
        return f"cannot list this directory ({exc.strerror or exc})"
    return "a directory that could not be walked"


def load_text(text: str, name: str) -> LoadResult:
    """Parse one file's text into documents; never raises on bad input."""
    return _load_text(text, name, NodeSource(name, text))


def _load_text(text: str, name: str, source: NodeSource) -> LoadResult:
    result = _parse_text(text, name, source)
    result.note_text(name, text)  # whatever became of it: a comment may still silence a problem
    return result


def _parse_text(text: str, name: str, source: NodeSource) -> LoadResult:
    json_error: ValueError | None = None
    if looks_like_json(text):  # as kubectl decides: JSON with a JSON parser, YAML if that fails
        try:
            return _load_json(text, name, source)
        except ValueError as exc:  # JSONDecodeError, or an int too long to convert
            json_error = exc
        except RecursionError:  # nested deeper than Python's stack (kubectl's decoder stops at 10,000)
            json_error = ValueError("nested too deeply")
    if len(text) >= split.SPLIT_MIN_CHARS:  # a big kind: List is parsed in batches of items
        layout = split.list_layout(text)
        batched = _load_list_batches(text, name, source, layout) if layout is not None else None
        if batched is not None:
            return batched
    result = LoadResult(files_read=1)
    try:
        _parse_stream(text, name, 0, 0, result, source)
        return result
    except yaml.YAMLError as exc:
        first_error = exc
    if json_error is not None and name.endswith(".json"):
        return _json_problem(json_error, name)
    # Recovery: document by document.
    result = LoadResult(files_read=1)
    chunks = _split_documents(text)
    doc_index = 0
    for start_line, chunk in chunks:
        try:
            doc_index = _parse_stream(
                chunk, name, start_line, doc_index, result, NodeSource(name, chunk, start_line)
            )
        except yaml.YAMLError as exc:
            result.problems.append(_syntax_problem(exc, name, start_line))
            doc_index += 1
    if not result.problems:  # the split hid the error (e.g. it was in a separator line)
        result.problems.append(_syntax_problem(first_error, name, 0))
    return result


def _load_list_batches(
    text: str, name: str, source: NodeSource, layout: split.ListLayout
) -> LoadResult | None:
    """A one-document List read a batch of items at a time (see split.py): the same documents,
    lines and problems as reading it whole, or None when the text does not hold what the layout
    says (then it is read whole)."""
    header = _parse_one(layout.header, 0)
    if header is None:
        return None
    data, problems, root, _table = header
    kind = data.get("kind") if isinstance(data, dict) else None
    if problems or not isinstance(kind, str) or not kind.endswith("List") or data.get("items", 0) is not None:
        return None
    items: list[Any] = []
    places: list[tuple[int, Any]] = []
    found: list[InputProblem] = []
    for batch in layout.batches:
        parsed = _parse_one(text[batch.start : batch.end], batch.line)
        if parsed is None or parsed[0] is None:
            return None
        values, batch_problems, sequence, table = parsed
        if type(sequence) is not yaml.SequenceNode or len(sequence.value) != batch.count:
            return None
        tables = item_tables(table, values, 0) if table is not None else None
        for position, node in enumerate(sequence.value):
            mark = node.start_mark
            span = (
                mark.index + batch.start,
                node.end_mark.index + batch.start,
                mark.line + batch.line,
                mark.column,
            )
            own = tables[position][1] if tables is not None else None
            ref = NodeRef(source, 0, batch.first + position, True, None, span, own)
            places.append((span[2] + 1, ref))
        items.extend(values)
        found.extend(batch_problems)
    data["items"] = items
    result = LoadResult(files_read=1)
    result.problems.extend(LoadProblem(name, p.line, p.message, p.fix, p.rule) for p in found)
    line = root.start_mark.line + 1
    _add_document(data, name, line, 0, result, NodeRef(source, 0), lambda count, in_items: places)
    return result


def _parse_one(text: str, line_offset: int) -> tuple[Any, list[InputProblem], Any, Table | None] | None:
    """(data, problems, root node, table of lines) of a text holding exactly one YAML document."""
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None
        root = loader.get_node()
        if root is None or loader.check_node():
            return None
        data, problems, table = construct_checked(loader, root, text, line_offset, "&" in text)
        return data, problems, root, table
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _load_json(text: str, name: str, source: NodeSource) -> LoadResult:
    document = parse_json(text)
    result = LoadResult(files_read=1)
    line = 1 + text.count("\n", 0, document.start)
    elements = document.elements

    def places(count: int, in_items: bool) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        if elements is None or len(elements) != count or in_items != document.in_items:
            return [(line, None)] * count  # pragma: no cover - parse_json found these elements
        at, element_line = document.start, line
        for start in elements:
            element_line += text.count("\n", at, start)
            at = start
            out.append((element_line, JsonRef(source, start)))
        return out

    _add_document(document.value, name, line, 0, result, JsonRef(source, document.start), places)
    _add_json_duplicates(text, document, name, result)
    return result


def _add_json_duplicates(text: str, document: JsonDocument, name: str, result: LoadResult) -> None:
    """INP004 for keys written twice in the JSON ``document``, each naming the object it is in."""
    repeats = jsondupes.duplicate_key_problems(text, document)
    if not repeats:
        return
    by_item = {d.item_index: d for d in result.documents}
    for index, problem in repeats:
        doc = by_item.get(index) if index is not None or document.elements is None else None
        result.problems.append(
            LoadProblem(name, problem.line, problem.message, problem.fix, problem.rule, doc)
        )


def _json_problem(exc: ValueError, name: str) -> LoadResult:
    result = LoadResult(files_read=1)
    line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
    detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
    result.problems.append(
        LoadProblem(
            file=name,
            line=line,
            rule="INP001",
            message=f"JSON syntax error: {detail}. Nothing in this file was checked.",
            fix="Fix the JSON at this line (a missing comma, quote or bracket); `kubectl apply` would reject it too.",
        )
    )
    return result


def _parse_stream(
    text: str, name: str, line_offset: int, doc_index: int, result: LoadResult, source: NodeSource
) -> int:
    # ``text`` is a whole file, or a chunk of one starting at line ``line_offset`` (0-based) after a
    # syntax error: marks count lines from the chunk's start, so the offset is added to every line.
    loader = _Loader(text)
    position = 0  # of the document in this stream, for NodeRef
    anchors = "&" in text  # without one, no node can be reached twice (see _build)
    try:
        while loader.check_node():
            node = loader.get_node()
            data, problems, table = (
                construct_checked(loader, node, text, line_offset, anchors)
                if node is not None
                else (None, [], None)
            )
            line = (node.start_mark.line + 1 + line_offset) if node is not None else line_offset + 1
            for problem in problems:
                result.problems.append(
                    LoadProblem(name, problem.line, problem.message, problem.fix, problem.rule)
                )
            if data is None and problems and problems[0].rule == "INP001":
                doc_index += 1  # refused (alias bomb): not expanded, not checked
                position += 1
                continue
            span = _span(node, line_offset) if node is not None else None
            ref = NodeRef(source, position, span=span, table=table)
            places = _yaml_places(node, ref, line, line_offset, data)
            before = len(result.documents)
            _add_document(data, name, line, doc_index, result, ref, places)
            if problems and len(result.documents) == before + 1:
                for added in result.problems[-len(problems) :]:
                    added.doc = result.documents[-1]  # the finding names the object
            doc_index += 1
            position += 1
    finally:
        loader.dispose()
    return doc_index


def _span(node: Any, line_offset: int) -> tuple[int, int, int, int]:
    start = node.start_mark
    return (start.index, node.end_mark.index, start.line + line_offset, start.column)


def compose_nodes(source: NodeSource) -> list[Any]:
    """The root node of every document of ``source`` (what ``NodeRef.resolve`` looks into).

    Composes the same text with the same loader as the first parse, so the nodes are the same; a file
    that changed or vanished since gives what can still be read (lines then fall back to the object's).
    """
    nodes: list[Any] = []
    text = source.stream_text()
    if text is None:
        return nodes
    loader = _Composer(text)
    try:
        while loader.check_node():
            nodes.append(loader.get_node())
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return nodes


def compose_untagged(text: str) -> list[Any]:
    """The root node of every document of ``text``, with no tags resolved (positions and structure
    only, several times faster); raises ``yaml.YAMLError``."""
    loader = _Composer(text)
    nodes: list[Any] = []
    try:
        while loader.check_node():
            nodes.append(loader.get_node())
    finally:
        loader.dispose()
    return nodes


def compose_span(source: NodeSource, span: tuple[int, int, int, int]) -> Any:
    """The node at ``span`` of ``source``, composed from that span of the text alone (indented to its
    column; its marks count lines from the span's first line); None when that does not give the same
    node (an alias to an anchor outside the span, a tag directive...: the caller composes more)."""
    text = source.stream_text()
    start, end, _line, column = span
    if text is None or not 0 <= start <= end <= len(text):
        return None
    loader = _Composer(" " * column + text[start:end])
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    if node is None or (node.start_mark.line, node.start_mark.column) != (0, column):
        return None
    if node.end_mark.index - column != end - start:
        return None
    return node


def _split_documents(text: str) -> list[tuple[int, str]]:
    """(0-based start line, text) of each ``---``-separated chunk."""
    chunks: list[tuple[int, str]] = []
    start = 0
    start_line = 0
    for match in _DOC_SEPARATOR.finditer(text):
        chunks.append((start_line, text[start : match.start()]))
        start_line = text.count("\n", 0, match.end()) + 1
        start = match.end() + 1
    chunks.append((start_line, text[start:]))
    return chunks


def _syntax_problem(exc: yaml.YAMLError, name: str, line_offset: int) -> LoadProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = (mark.line if mark is not None else 0) + 1 + line_offset
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{context}, {problem}" if context else str(problem)
    hint = ""
    if "{{" in str(getattr(exc, "problem", "")) or "found character '%'" in detail:
        hint = " This looks like an unrendered template: render it first (helm template, kustomize build)."
    return LoadProblem(
        file=name,
        line=line,
        rule="INP001",
        message=f"YAML syntax error: {detail}. This document was not checked.{hint}",
        fix="Fix the YAML at this line (indentation, a missing ':' or quote); `kubectl apply` would reject it too.",
    )


# (line, ref) of each of the first ``count`` elements of a document's ``items`` (``in_items``) or of
# the document itself when it is a sequence.
Places = Callable[[int, bool], list[tuple[int, Any]]]


def _add_document(
    data: Any, name: str, line: int, doc_index: int, result: LoadResult, ref: Any, places: Places
) -> None:
    """Turn one parsed document into documents, problems or a skip; ``places`` gives the lines and
    refs of the objects of a List or of a top-level sequence."""
    if data is None:
        return  # empty document (a trailing '---'), nothing to check
    if isinstance(data, dict):
        kind = data.get("kind")
        items = data.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            for index, (item, (item_line, item_ref)) in enumerate(
                zip(items, places(len(items), True), strict=True)
            ):
                if isinstance(item, dict):
                    result.documents.append(
                        Document(item, name, item_line, item_ref, doc_index=doc_index, item_index=index)
                    )
                else:
                    result.problems.append(
                        LoadProblem(
                            file=name,
                            line=item_line,
                            rule="INP002",
                            message=f"item {index} of this {kind} is not an object, so it was not checked.",
                            fix="Each entry of `items` must be a Kubernetes object (a mapping with apiVersion and kind).",
                        )
                    )
            return
        if isinstance(kind, str) and kind.endswith("List") and items is not None and "apiVersion" in data:
            result.problems.append(
                LoadProblem(
                    file=name,
                    line=line,
                    rule="INP002",
                    message=f"`items` of this {kind} is a {_type_name(items)}, not a list of objects: nothing in "
                    "it was checked, and no client applies it as a List.",
                    fix="Make `items` a list of Kubernetes objects (- apiVersion: ..., kind: ...).",
                )
            )
            return
        if looks_like_kubernetes(data):
            result.documents.append(Document(data, name, line, ref, doc_index=doc_index))
        else:
            result.skipped.append((name, line, "not a Kubernetes object (no apiVersion/kind/metadata/spec)"))
        return
    if isinstance(data, list) and data and all(isinstance(d, dict) and "kind" in d for d in data):
        for index, (item, (item_line, item_ref)) in enumerate(
            zip(data, places(len(data), False), strict=True)
        ):
            result.documents.append(
                Document(item, name, item_line, item_ref, doc_index=doc_index, item_index=index)
            )
        return
    result.skipped.append((name, line, f"a YAML {type(data).__name__}, not a Kubernetes object"))


def _type_name(value: Any) -> str:
    return {dict: "mapping", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def _yaml_places(node: Any, ref: NodeRef | None, line: int, line_offset: int, data: Any) -> Places:
    """Lines and refs of the items of the document ``node`` (whose marks count from ``line_offset``)
    built as ``data``; each item gets its part of the document's table of lines."""

    def places(count: int, in_items: bool) -> list[tuple[int, Any]]:
        sequence = _child(node, "items") if in_items else node
        if sequence is None or sequence.id != "sequence" or len(sequence.value) != count:
            return [(line, None)] * count  # pragma: no cover - the data was built from these nodes
        tables = None
        if ref is not None and ref.table is not None:
            first = items_start(ref.table, data, {}) if in_items else 0
            items = data["items"] if in_items else data
            tables = item_tables(ref.table, items, first) if first is not None else None
        return [
            (
                item.start_mark.line + 1 + line_offset,
                _item_ref(ref, index, in_items, item, line_offset, tables[index][1] if tables else None),
            )
            for index, item in enumerate(sequence.value)
        ]

    return places


def _item_ref(
    ref: NodeRef | None, index: int, in_items: bool, node: Any, line_offset: int, table: Table | None
) -> NodeRef | None:
    if ref is None:
        return None
    return NodeRef(ref.source, ref.index, index, in_items, ref.span, _span(node, line_offset), table)


def looks_like_kubernetes(data: dict[str, Any]) -> bool:
    """True for objects, and for broken objects worth an ``input`` finding.

    Helm values files, Chart.yaml, kustomization.yaml without a kind, CI configs and the like are not.
    """
    keys = data.keys()
    if "kind" in keys:
        return True
    if "metadata" in keys or "spec" in keys:
        return True
    return "name" in keys and not _OBJECT_BODY_KEYS.isdisjoint(keys) and "apiVersion" in keys


def _child(node: Any, key: str) -> Any:
    if node is None or node.id != "mapping":
        return None
    for key_node, value_node in reversed(node.value):  # a key written twice: the last one wins
        if key_node.value == key:
            return value_node
    return None
