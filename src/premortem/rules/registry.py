"""The rule registry: a rule is a small function with its id, category, severity and documentation.

Two shapes:
- ``@object_rule``: called once per object (optionally only for some kinds), yields ``Hit``s;
- ``@cluster_rule``: called once per scan with the ``ClusterContext`` (the index of every object),
  yields ``Hit``s that name the document they are about.

The function's docstring is the rule's documentation (``premortem explain``). It follows ruff's rule
pages: ``## What it checks``, ``## Why it breaks clusters``, ``## Failing example``, ``## Passing
example``, ``## Fix``, ``## Source``. The YAML blocks under the two example headings are executed by
the test suite: the failing one must raise the rule, the passing one must not.

A rule that describes the same root cause as others on the same object, more usefully, declares
``absorbs=("ID", ...)``: the scan then reports one finding with their facts folded into it.

A rule's tunable thresholds are declared with ``params={"name": Param(default, "what it means")}``
and read inside the rule with ``RULE.param("name")``: the value set in the settings of the scan in
progress (config file ``params``), else the default. ``premortem explain`` lists them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import CATEGORIES, Severity
from premortem.load.document import Document, Path
from premortem.model.index import ObjectIndex


@dataclass(slots=True)
class Hit:
    """What a rule found; the engine adds the rule's identity, the file and the line."""

    message: str
    fix: str
    path: Path = ()
    container: str | None = None
    severity: Severity | None = None  # None: the rule's default
    doc: Document | None = None  # required for cluster rules
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClusterContext:
    """What cluster rules and analyses see: every object, indexed, plus scan options."""

    index: ObjectIndex
    options: dict[str, Any] = field(default_factory=dict)
    # (slice, slices) for a ``per_workload`` rule judged in slices (engine.py); None: every workload.
    part: tuple[int, int] | None = None

    def workloads(self) -> list[Document]:
        """The workloads a ``per_workload`` rule judges: every one (``index.workloads()`` order), or
        slice ``part`` of them. Such a rule reports on each workload apart, in this order (lookups in
        the index are fine): its slices together give what one pass gives."""
        every = self.index.workload_list()
        if self.part is None:
            return list(every)
        part, parts = self.part
        return every[len(every) * part // parts : len(every) * (part + 1) // parts]


@dataclass(frozen=True)
class Param:
    """A tunable threshold of a rule: its default and one line saying what it means."""

    default: Any
    help: str


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    category: str
    severity: Severity
    title: str
    doc: str
    check: Callable[..., Iterable[Hit]]
    scope: str  # "object", "cluster" or "load" (raised by the loader itself)
    kinds: frozenset[str] | None = None
    params: dict[str, Param] = field(default_factory=dict)
    # Rules whose findings on the same object describe the same root cause: when both fire, this
    # rule's finding carries their facts and theirs are dropped (premortem.rootcause).
    absorbs: frozenset[str] = frozenset()
    # A cluster rule that judges each workload apart through ``ClusterContext.workloads()``: the
    # engine shares its slices between two processes like an object rule's.
    per_workload: bool = False
    # The index look-ups (``model.index.per_index`` functions) such a rule reads: the engine builds
    # them before sharing the work out, so both processes read one copy instead of building two.
    lookups: tuple[Callable[[ObjectIndex], object], ...] = ()

    def param(self, name: str) -> Any:
        """The effective value of parameter ``name``: the scan's settings, else the default."""
        from premortem.settings import current

        declared = self.params[name]  # KeyError: a typo in the rule, not a user error
        return current().params.get(self.id, {}).get(name, declared.default)

    def examples(self) -> tuple[list[str], list[str]]:
        """(failing, passing) YAML (or JSON) examples from the documentation."""
        return _examples(self.doc, "Failing example"), _examples(self.doc, "Passing example")


RULES: dict[str, Rule] = {}
_BY_NAME: dict[str, str] = {}


def _register(rule: Rule) -> Rule:
    if rule.category not in CATEGORIES:
        raise ValueError(f"rule {rule.id}: unknown category {rule.category!r}")
    if rule.id in RULES or rule.name in _BY_NAME:
        raise ValueError(f"rule {rule.id} ({rule.name}) registered twice")
    RULES[rule.id] = rule
    _BY_NAME[rule.name] = rule.id
    return rule


def _decorator(
    scope: str,
    id: str,
    name: str,
    category: str,
    severity: Severity,
    title: str,
    kinds: Iterable[str] | None = None,
    params: dict[str, Param] | None = None,
    absorbs: Iterable[str] = (),
    per_workload: bool = False,
    lookups: Iterable[Callable[[ObjectIndex], object]] = (),
) -> Callable[[Callable[..., Iterable[Hit]]], Rule]:
    def wrap(fn: Callable[..., Iterable[Hit]]) -> Rule:
        doc = inspect.cleandoc(fn.__doc__ or "")
        return _register(
            Rule(
                id=id,
                name=name,
                category=category,
                severity=severity,
                title=title,
                doc=doc,
                check=fn,
                scope=scope,
                kinds=frozenset(kinds) if kinds is not None else None,
                params=dict(params or {}),
                absorbs=frozenset(absorbs),
                per_workload=per_workload,
                lookups=tuple(lookups),
            )
        )

    return wrap


def object_rule(id: str, name: str, category: str, severity: Severity, title: str, **kw: Any) -> Any:
    return _decorator("object", id, name, category, severity, title, **kw)


def cluster_rule(id: str, name: str, category: str, severity: Severity, title: str, **kw: Any) -> Any:
    return _decorator("cluster", id, name, category, severity, title, **kw)


def load_rule(id: str, name: str, category: str, severity: Severity, title: str, **kw: Any) -> Any:
    """A rule raised by the loader (syntax errors...): registered for ``rules``/``explain`` only."""
    return _decorator("load", id, name, category, severity, title, **kw)


def lookup(key: str) -> Rule | None:
    from premortem.rules import all_rules

    all_rules()
    return RULES.get(key.upper()) or RULES.get(_BY_NAME.get(key, ""))


_FENCE = re.compile(r"```(?:ya?ml|json)\n(.*?)```", re.DOTALL)


def _examples(doc: str, heading: str) -> list[str]:
    match = re.search(rf"^## {heading}s?\s*$(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    if not match:
        return []
    return [block for block in _FENCE.findall(match.group(1))]
