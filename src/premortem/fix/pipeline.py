"""The fix pipeline: load and scan every file, ask each finding's fixer for edits, splice them in.

Nothing is written here; callers get, per file, the original and the fixed text plus what was done,
held back or impossible. A file's new text is only produced when it parses (with the scan's parser) to
exactly the objects the fixes intended, every other document unchanged; otherwise the file is left
alone and the reason reported.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from premortem.engine import problem_finding, scan
from premortem.findings import Finding, ObjectRef
from premortem.fix.paths import parse_pointer
from premortem.fix.registry import Fix, FixContext, Note, all_fixers
from premortem.fix.yamltext import DocumentText, EditError, Op, apply_to_object, load_all
from premortem.load.document import Document, LoadResult
from premortem.load.reader import STDIN_NAME, load_text
from premortem.rules import all_rules
from premortem.rules.registry import Rule

BOM = "\ufeff"


@dataclass(slots=True)
class Outcome:
    """What happened to one finding."""

    finding: Finding
    status: str  # "fixed", "held" (unsafe, not requested), "not-fixable", "failed"
    message: str
    # The edits made, as (document index in the file, op with its path from the document root).
    edits: list[tuple[int, Op]] = field(default_factory=list)


@dataclass(slots=True)
class FileFix:
    name: str
    original: str  # as read, BOM and line endings included
    fixed: str
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


@dataclass(slots=True)
class FixRun:
    files: list[FileFix]
    # Findings of any rule that the fixed files raise and the originals did not (e.g. requests raised
    # to the limits no longer fit the nodes: CAP001). The user must see them before merging.
    introduced: list[Finding] = field(default_factory=list)
    # False when fixes still changed files in the last allowed round (a second run would change more).
    settled: bool = True
    # Input problems of the files as read (syntax errors, alias bombs, duplicate keys): these files or
    # documents were not checked, and files with one are not edited.
    problems: list[Finding] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for f in self.files for o in f.outcomes]


def fixable_rules(select: Iterable[str] = ()) -> list[Rule]:
    """Rules that have a fixer (or a 'cannot be fixed' note), narrowed by ids or categories."""
    fixers = all_fixers()
    wanted = {s.upper() for s in select}
    return [
        r
        for r in all_rules()
        if r.id in fixers and (not wanted or {r.id.upper(), r.name.upper(), r.category.upper()} & wanted)
    ]


def read_source(path: str, stdin_text: str | None = None) -> str:
    """The file's text exactly (BOM and CRLF kept: they are written back as they were), read under
    the bounds of load/files.py (regular files, the size cap, UTF-8); raises InputError or OSError."""
    from premortem.load.files import read_file_text, read_stream

    if path == "-":
        import sys

        return stdin_text if stdin_text is not None else read_stream(sys.stdin.buffer, keep_bom=True)
    return read_file_text(path, keep_bom=True)


# A fix can make another rule's finding appear (PDB001's maxUnavailable: 1 is exactly PDB002's "one
# disruption"): the pipeline runs scan -> fix until nothing changes, so a second `fix` finds nothing.
MAX_ROUNDS = 4


def run_fix(
    sources: dict[str, str],
    rules: list[Rule],
    ctx: FixContext,
) -> FixRun:
    """``sources``: display name -> text. Returns the fixed text of every file."""
    files = {name: FileFix(name, text, text) for name, text in sources.items()}
    reported: set[tuple[Any, ...]] = set()
    settled = False
    problems: list[Finding] | None = None
    for _round in range(MAX_ROUNDS):
        changed = False
        round_files, round_problems = _round_of_fixes({n: f.fixed for n, f in files.items()}, rules, ctx)
        if problems is None:
            problems = round_problems
        for file_fix in round_files:
            target = files[file_fix.name]
            for outcome in file_fix.outcomes:
                f = outcome.finding
                key = (f.rule, _identity(f), f.container, f.path, outcome.status, outcome.message)
                if outcome.status == "fixed" or key not in reported:
                    target.outcomes.append(outcome)
                    reported.add(key)
            if file_fix.error and not target.error:
                target.error = file_fix.error
            if file_fix.fixed != target.fixed:
                target.fixed = file_fix.fixed
                changed = True
        if not changed:
            settled = True
            break
    run = FixRun(list(files.values()), settled=settled, problems=problems or [])
    if any(f.changed for f in run.files):
        run.introduced = introduced_findings(sources, {n: f.fixed for n, f in files.items()})
    return run


def _identity(f: Finding) -> tuple[str | None, ...] | None:
    """The object a finding is about, whatever its apiVersion (API001's fix rewrites it)."""
    ref = f.object
    return (ref.kind, ref.namespace, ref.name) if ref is not None else None


def _scan_all(sources: dict[str, str]) -> list[Finding]:
    loaded = LoadResult()
    for name, text in sources.items():
        loaded.extend(load_text(text.removeprefix(BOM), name))
    return scan(loaded, all_rules()).findings


def introduced_findings(before: dict[str, str], after: dict[str, str]) -> list[Finding]:
    """Findings (any rule) of ``after`` that ``before`` did not have, by rule, object and container."""

    def key(f: Finding) -> tuple[Any, ...]:
        return (f.rule, f.file, _identity(f), f.container)

    had = Counter(key(f) for f in _scan_all(before))
    out = []
    for finding in _scan_all(after):
        k = key(finding)
        if had[k] > 0:
            had[k] -= 1
        else:
            out.append(finding)
    return out


# Input problems that keep a file from being edited: the splice editor would not know which node the
# scan read (a syntax error, a refused alias bomb, a key written twice).
_BLOCKING = {"INP001": "YAML syntax error", "INP004": "duplicate key"}


def _round_of_fixes(
    sources: dict[str, str], rules: list[Rule], ctx: FixContext
) -> tuple[list[FileFix], list[Finding]]:
    loaded = LoadResult()
    syntax_errors: dict[str, tuple[str, int]] = {}
    for name, text in sources.items():
        result = load_text(text.removeprefix(BOM), name)
        for problem in result.problems:
            if problem.rule in _BLOCKING:
                syntax_errors.setdefault(name, (_BLOCKING[problem.rule], problem.line))
        loaded.extend(result)
    ctx.documents = loaded.documents
    ctx.cache.clear()
    ids = {r.id for r in rules}
    findings = [f for f in scan(loaded, rules).findings if f.rule in ids]

    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.file or "", []).append(finding)
    docs_of: dict[str, list[Document]] = {}
    for doc in loaded.documents:
        docs_of.setdefault(doc.file, []).append(doc)

    files: list[FileFix] = []
    for name, mine in by_file.items():
        if name not in sources:
            continue
        file_fix = FileFix(name, sources[name], sources[name])
        files.append(file_fix)
        if name in syntax_errors:
            what, line = syntax_errors[name]
            file_fix.error = f"{what} at line {line}: nothing in this file was changed (fix that first)."
            file_fix.outcomes = [Outcome(f, "failed", file_fix.error) for f in mine]
            continue
        try:
            _fix_file(file_fix, mine, docs_of.get(name, []), ctx)
        except RecursionError:
            file_fix.fixed = file_fix.original
            file_fix.error = "nested too deeply to edit safely: nothing in this file was changed."
            file_fix.outcomes = [Outcome(f, "failed", file_fix.error) for f in mine]
    return files, [problem_finding(p) for p in loaded.problems]


def _fix_file(file_fix: FileFix, findings: list[Finding], docs: list[Document], ctx: FixContext) -> None:
    fixers = all_fixers()
    bom = BOM if file_fix.original.startswith(BOM) else ""
    text = file_fix.original[len(bom) :]
    try:
        editor = DocumentText(text, file_fix.name)
        expected = load_all(text)
    except yaml.YAMLError as exc:  # pragma: no cover - the scan parsed it already
        file_fix.error = f"cannot re-read the file for editing: {exc}"
        return
    # The object as it stands after the fixes planned so far, per document.
    current: dict[int, Document] = {}
    by_ref: dict[ObjectRef, list[Document]] = {}
    for candidate in docs:
        by_ref.setdefault(candidate.ref, []).append(candidate)
    for finding in findings:
        doc = _document_of(finding, by_ref.get(finding.object, []) if finding.object is not None else [])
        if doc is None:
            file_fix.outcomes.append(Outcome(finding, "failed", "could not locate this object in its file"))
            continue
        key = id(doc)
        if key not in current:
            current[key] = _view(doc, _item(expected, doc))
        view = current[key]
        prefix: tuple[str | int, ...] = ()
        if doc.item_index is not None:
            in_list = isinstance(expected[doc.doc_index], dict)
            prefix = ("items", doc.item_index) if in_list else (doc.item_index,)
        for result in fixers[finding.rule].fn(finding, view, ctx):
            if isinstance(result, Note):
                file_fix.outcomes.append(Outcome(finding, "not-fixable", result.message))
                continue
            if result.unsafe and not ctx.unsafe:
                file_fix.outcomes.append(
                    Outcome(finding, "held", f"{result.message} Held back: {result.unsafe}")
                )
                continue
            if not result.ops:  # made true by an earlier fix of this run
                file_fix.outcomes.append(Outcome(finding, "fixed", result.message))
                continue
            try:
                edits = _apply(editor, expected, doc.doc_index, prefix, result)
            except EditError as exc:
                file_fix.outcomes.append(Outcome(finding, "failed", f"not applied: {exc}"))
                # the semantic copy may be half-edited: start again from the text as it is
                expected = load_all(editor.text)
                current[key] = _view(doc, _item(expected, doc))
                continue
            file_fix.outcomes.append(Outcome(finding, "fixed", result.message, edits))
            current[key] = _view(doc, _item(expected, doc))
            view = current[key]
    new_text = editor.text
    if new_text == text:
        return
    try:
        parsed = load_all(new_text)
    except yaml.YAMLError as exc:
        parsed = [f"unparsable: {exc}"]
    if _normal(parsed) != _normal(expected):
        file_fix.error = (
            "internal error: the edited file would not parse to the intended objects, so it was left "
            "unchanged. Please report it with the manifest."
        )
        for outcome in file_fix.outcomes:
            if outcome.status == "fixed":
                outcome.status = "failed"
                outcome.message = file_fix.error
        return
    file_fix.fixed = bom + new_text


def _apply(
    editor: DocumentText, expected: list[Any], doc_index: int, prefix: tuple[str | int, ...], fix: Fix
) -> list[tuple[int, Op]]:
    done: list[tuple[int, Op]] = []
    for op in fix.ops:
        full = type(op)(*((*prefix, *op.path), *_rest(op)))
        editor.apply(doc_index, full)
        apply_to_object(_wrap(expected, doc_index), _shift(full))
        done.append((doc_index, full))
    return done


def _rest(op: Any) -> tuple[Any, ...]:
    return tuple(getattr(op, f) for f in op.__slots__ if f != "path")


def _wrap(expected: list[Any], doc_index: int) -> dict[str, Any]:
    return {"__doc__": expected[doc_index]}


def _shift(op: Any) -> Any:
    return type(op)(("__doc__", *op.path), *_rest(op))


def _normal(data: Any) -> str:
    """A canonical text of parsed YAML: keys of any type (YAML 1.1 reads `on:` as the boolean true)."""
    return json.dumps(_keyed(data), sort_keys=True, default=str)


def _keyed(data: Any) -> Any:
    if isinstance(data, dict):
        return {f"{type(k).__name__}:{k}": _keyed(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_keyed(v) for v in data]
    return data


def _item(expected: list[Any], doc: Document) -> Any:
    top = expected[doc.doc_index]
    if doc.item_index is not None:
        if isinstance(top, dict):
            return top["items"][doc.item_index]
        return top[doc.item_index]
    return top


def _view(doc: Document, obj: Any) -> Document:
    return Document(
        copy.deepcopy(obj), doc.file, doc.line, doc.node, doc_index=doc.doc_index, item_index=doc.item_index
    )


def _document_of(finding: Finding, candidates: list[Document]) -> Document | None:
    """The document of the finding among those of its file that name its object."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    path = parse_pointer(finding.path)
    for doc in candidates:
        if doc.line_of(path) == finding.line:
            return doc
    return candidates[0]


__all__ = ["STDIN_NAME", "FileFix", "FixRun", "Outcome", "fixable_rules", "run_fix"]
