"""Suppressions with reasons, from three places, and which finding each one silences.

- An annotation on the object or its pod template: ``ignore.premortem.dev/<RULE>: "reason"``, where
  RULE is a rule id, rule name or category; ``ignore.premortem.dev/<RULE>.<container>`` limits it to
  one container (container names cannot hold a dot, so the first dot separates them).
- A comment: ``# premortem: ignore RULE[,RULE...] -- reason`` at the end of the finding's line, on
  the line above it, or above the object's first line (then it covers the whole object).
- The config file's ``ignores:`` (paths and/or objects, with a reason; see configfile/schema.py).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from typing import Any

from premortem.configfile.exclude import as_typed, relative_to
from premortem.findings import Finding, ObjectRef, json_pointer
from premortem.load.document import Document, Path
from premortem.render.rendered import RenderedDocument, definition_start, same_stream
from premortem.settings import Ignore, Settings
from premortem.triage.sources import MARK

ANNOTATION_PREFIX = "ignore.premortem.dev/"
_COMMENT = re.compile(r"#\s*premortem:\s*ignore\b(?P<rules>[^#\n]*?)(?:\s--\s*(?P<reason>[^\n]*?))?\s*$")
_TEMPLATE_ACTION = re.compile(r"\{\{[^{}]*\}\}")
_TEMPLATE_META = (
    ("spec", "template", "metadata"),
    ("spec", "jobTemplate", "spec", "template", "metadata"),
    ("template", "metadata"),
)


@dataclass(eq=False)
class Suppression:
    """One suppression as written, and the findings it silenced."""

    kind: str  # "annotation", "comment" or "config"
    rules: tuple[str, ...]  # as written: ids, names or categories
    reason: str
    file: str | None
    line: int | None
    object: ObjectRef | None = None
    container: str | None = None
    path: str = ""  # JSON pointer of the annotation, for its finding
    matches: Callable[[Finding], bool] = field(default=lambda f: False, repr=False)
    # config ignores: whether a file and object are within its paths/objects (for "unused")
    scope: Callable[[str | None, ObjectRef | None], bool] | None = field(default=None, repr=False)
    used: int = 0
    # On a rendered object: its findings sit in templates, origin files and patches, not only in the
    # file the suppression is written in; and what SUP001/SUP002 about it add (rendered_from, the build).
    anywhere: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    note: str = ""
    _keys: frozenset[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The reason is the manifest author's text and every report prints it: cleaned like a finding.
        from premortem.redact import clean

        self.reason = clean(self.reason)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file or ""

    def covers_rule(self, finding: Finding) -> bool:
        keys = self._keys
        if keys is None:
            keys = self._keys = _rule_keys(self.rules)
        return finding.rule.upper() in keys or finding.category.upper() in keys

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "file": self.file, "line": self.line}


def _rule_keys(rules: tuple[str, ...]) -> frozenset[str]:
    """Upper-case ids and categories a suppression names (rule names resolved to ids)."""
    from premortem.rules.registry import lookup

    keys = set()
    for key in rules:
        keys.add(key.upper())
        rule = lookup(key)
        if rule is not None:
            keys.add(rule.id.upper())
    return frozenset(keys)


def from_annotations(
    documents: Iterable[Document], may_suppress: Set[str] | None = None
) -> list[Suppression]:
    """Annotation suppressions on ``documents``; with ``may_suppress`` (LoadResult.may_suppress), only
    on the documents of those files (no other file's text holds the annotation prefix)."""
    out = []
    for doc in documents:
        if may_suppress is not None and doc.file not in may_suppress:
            continue
        obj = doc.obj if isinstance(doc.obj, dict) else {}
        for meta_path in (("metadata",), *_TEMPLATE_META):
            annotations = _get(obj, (*meta_path, "annotations"))
            if not isinstance(annotations, dict):
                continue
            for key, value in annotations.items():
                if not isinstance(key, str) or not key.startswith(ANNOTATION_PREFIX):
                    continue
                rule, _, container = key[len(ANNOTATION_PREFIX) :].partition(".")
                path: Path = (*meta_path, "annotations", key)
                out.append(_object_suppression("annotation", (rule,), value, [doc], container or None, path))
    return out


def _object_suppression(
    kind: str,
    rules: tuple[str, ...],
    reason: object,
    docs: list[Document],
    container: str | None,
    path: Path,
) -> Suppression:
    """A suppression of every finding about ``docs`` (one object; several builds of one base file)."""

    def matches(f: Finding) -> bool:
        return (container is None or f.container == container) and any(
            f.object == d.ref and same_stream(f, d) for d in docs
        )

    doc = docs[0]
    text = reason.strip() if isinstance(reason, str) else ""
    suppression = Suppression(
        kind,
        rules,
        text,
        doc.file,
        doc.line_of(path) if path else doc.line,
        doc.ref,
        container,
        json_pointer(path),
        matches,
    )
    if isinstance(doc, RenderedDocument) and doc.origin is not None:
        location = doc.origin.locate(doc, path)  # where the annotation is written: template or origin
        suppression.file, suppression.line = location.file, location.line
        suppression.anywhere = True
        suppression.extra = {"rendered_from": location.rendered_from}
        suppression.note = location.note if len(docs) == 1 else ""
    return suppression


def from_comments(documents: list[Document], texts: dict[str, str]) -> list[Suppression]:
    """Comment suppressions in ``texts`` (file -> text); ``documents`` give the objects' first lines
    (a rendered object's in its template or origin file, where several builds may share one)."""
    texts = {file: text for file, text in texts.items() if MARK in text}
    if not texts:
        return []  # the usual case: no object's first line to look up
    starts: dict[tuple[str, int], list[Document]] = {}
    for d in documents:
        starts.setdefault(definition_start(d), []).append(d)
    out = []
    for file, text in texts.items():
        lines = text.splitlines()
        for index, line in enumerate(lines):
            match = _COMMENT.search(line)
            if match is None or not _is_comment(line, match.start()):
                continue
            rules = tuple(r for r in re.split(r"[\s,]+", match.group("rules")) if r)
            reason = (match.group("reason") or "").strip()
            number = index + 1
            target = number if line[: match.start()].strip() else _next_content_line(lines, index)
            docs = starts.get((file, target)) if target else None
            if docs:
                suppression = _object_suppression("comment", rules, reason, docs, None, ())
                suppression.file, suppression.line = file, number
            else:
                suppression = Suppression("comment", rules, reason, file, number)
                suppression.matches = _line_matcher(file, target)
            out.append(suppression)
    return out


def _line_matcher(file: str, line: int | None) -> Callable[[Finding], bool]:
    return lambda f: line is not None and f.file == file and f.line == line


def _is_comment(line: str, start: int) -> bool:
    """The '#' at ``start`` begins a YAML comment: first on the line or after whitespace, outside quotes."""
    before = line[:start]
    if before and not before[-1].isspace():
        return False
    return before.count('"') % 2 == 0 and before.count("'") % 2 == 0


def _next_content_line(lines: list[str], index: int) -> int | None:
    """The next line that is not blank, a comment, or (in a Helm template) only a template action
    such as ``{{- if .Values.enabled }}``: the comment above it is about what that line starts."""
    for later in range(index + 1, len(lines)):
        stripped = lines[later].strip()
        if stripped and not stripped.startswith("#") and not _TEMPLATE_ACTION.fullmatch(stripped):
            return later + 1
    return None


def from_config(settings: Settings) -> list[Suppression]:
    out = []
    for entry in settings.ignores:
        file, _, line = entry.where.rpartition(":")
        suppression = Suppression(
            "config",
            entry.rules,
            entry.reason,
            as_typed(file) if file else None,
            int(line) if line.isdigit() else None,
        )
        in_scope = _config_scope(entry, settings.root)
        suppression.matches = _config_matcher(entry, in_scope)
        suppression.scope = in_scope
        out.append(suppression)
    return out


def _config_matcher(
    entry: Ignore, in_scope: Callable[[str | None, ObjectRef | None], bool]
) -> Callable[[Finding], bool]:
    def matches(f: Finding) -> bool:
        if not in_scope(f.file, f.object):
            return False
        return not entry.containers or any(
            fnmatch.fnmatchcase(f.container or "", c) for c in entry.containers
        )

    return matches


def _config_scope(entry: Ignore, root: str | None) -> Callable[[str | None, ObjectRef | None], bool]:
    """Whether a file and object are within an ignore's paths and objects."""
    spec = None
    if entry.paths:
        import pathspec

        spec = pathspec.GitIgnoreSpec.from_lines(entry.paths)
    base = root or os.getcwd()

    def in_scope(file: str | None, obj: ObjectRef | None) -> bool:
        if spec is not None and not (file and spec.match_file(relative_to(file, base))):
            return False
        shown = obj.display() if obj else ""
        return not entry.objects or any(fnmatch.fnmatchcase(shown, pattern) for pattern in entry.objects)

    return in_scope


def _get(obj: dict[str, object], path: tuple[str, ...]) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
