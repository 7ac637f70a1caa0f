"""Fixers, keyed by the scan rule they answer.

A fixer is a function ``(finding, doc, ctx) -> iterable of Fix | Note``. ``doc`` is the object as it
stands after the fixes already planned for it (so two findings about the same field do not fight),
and paths in a ``Fix`` are relative to that object. The docstring documents the fix (docs/fix.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import Finding
from premortem.fix.yamltext import Op
from premortem.load.document import Document


@dataclass(slots=True)
class Fix:
    """Edits that answer one finding, and what they do in words."""

    ops: list[Op]
    message: str
    # A fix that trades a guarantee away is held back unless --unsafe-fixes; ``unsafe`` says why.
    unsafe: str | None = None


@dataclass(slots=True)
class Note:
    """No edit: why this finding cannot be fixed in YAML (or was held back), and what to do instead."""

    message: str


@dataclass(slots=True)
class FixContext:
    unsafe: bool = False
    resolve_digests: bool = False
    resolver: Any = None  # premortem.fix.oci.DigestResolver when --resolve-digests
    documents: list[Document] = field(default_factory=list)
    # Per-round memo for fixers (e.g. the PDB analysis of every object read); cleared every round.
    cache: dict[str, Any] = field(default_factory=dict)


FixerFn = Callable[[Finding, Document, FixContext], Iterable[Fix | Note]]


@dataclass(frozen=True, slots=True)
class Fixer:
    rule: str
    fn: FixerFn
    doc: str
    # False for fixers that only explain why YAML cannot fix the finding (RES001, PRB001).
    edits: bool = True


FIXERS: dict[str, Fixer] = {}


def fixer(*rules: str, edits: bool = True) -> Callable[[FixerFn], FixerFn]:
    def wrap(fn: FixerFn) -> FixerFn:
        for rule in rules:
            if rule in FIXERS:
                raise ValueError(f"two fixers for {rule}")
            FIXERS[rule] = Fixer(rule, fn, inspect.cleandoc(fn.__doc__ or ""), edits)
        return fn

    return wrap


def all_fixers() -> dict[str, Fixer]:
    from premortem.fix import fixers  # noqa: F401  (registers every fixer module)

    return FIXERS
