"""Helpers for the fix tests (imported as ``fix.helpers``; tests/fix is a package so that its
conftest does not shadow tests/conftest.py)."""

from __future__ import annotations

from premortem.engine import scan
from premortem.fix.pipeline import FixRun, fixable_rules, run_fix
from premortem.fix.registry import FixContext
from premortem.load.reader import load_text
from premortem.rules import all_rules


def fix_run(sources: dict[str, str], select: tuple[str, ...] = (), unsafe: bool = False, **ctx) -> FixRun:
    return run_fix(sources, fixable_rules(select), FixContext(unsafe=unsafe, **ctx))


def fix_text(text: str, name: str = "t.yaml", select: tuple[str, ...] = (), unsafe: bool = False) -> str:
    return fix_run({name: text}, select, unsafe).files[0].fixed


def rules_found(text: str, name: str = "t.yaml") -> list[str]:
    return [f.rule for f in scan(load_text(text.removeprefix("\ufeff"), name), all_rules()).findings]


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines of a line diff."""
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added
