"""The recogniser table: what each known failure looks like in every format that reports it.

A recogniser is a function ``(record, state) -> Sighting | KNOWN | None`` registered with the literal
keywords it needs; a line is only offered to recognisers whose keyword it contains (one compiled
alternation per line, so unrelated lines cost one regex search). ``KNOWN`` marks a recognised line that
is context, not a finding (the ``pods ranked for eviction`` list, the second line of an etcd warning).
``state`` is per input file: a recogniser that needs the lines around it (the kernel's OOM report)
keeps them there, and a finisher registered with ``@finisher`` turns what is left at the end of the
file into sightings.

One module per family, each citing the source its wording comes from: ``kernel`` (OOM kills),
``nodes`` (eviction, pressure, NotReady), ``pods`` (probes, crash loops, image pulls, OOMKilled),
``admission`` (webhooks), ``disruption`` (drains), ``etcd`` (etcd and API server timeouts),
``cilium`` (BPF maps).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from premortem.diagnose.records import Record, Sighting

KNOWN = object()  # a recognised line that raises nothing by itself
Result = Sighting | object | None
State = dict[str, Any]
Finisher = Callable[[State], list[tuple[Sighting, Record]]]


@dataclass(frozen=True)
class Recogniser:
    name: str
    keywords: tuple[str, ...]
    fn: Callable[[Record, State], Result]


RECOGNISERS: list[Recogniser] = []
FINISHERS: list[Finisher] = []


def recogniser(
    *keywords: str,
) -> Callable[[Callable[[Record, State], Result]], Callable[[Record, State], Result]]:
    def wrap(fn: Callable[[Record, State], Result]) -> Callable[[Record, State], Result]:
        RECOGNISERS.append(Recogniser(f"{fn.__module__}.{fn.__name__}", keywords, fn))
        return fn

    return wrap


def finisher(fn: Finisher) -> Finisher:
    FINISHERS.append(fn)
    return fn


# The families register themselves on import, in this order (the order candidates are tried in).
from premortem.diagnose.recognisers import (  # noqa: E402, F401 - imported to register
    admission,
    cilium,
    disruption,
    etcd,
    kernel,
    nodes,
    pods,
)

_BY_KEYWORD: dict[str, list[Recogniser]] = {}
for _r in RECOGNISERS:
    for _k in _r.keywords:
        _BY_KEYWORD.setdefault(_k, []).append(_r)
_ORDER = {r.name: i for i, r in enumerate(RECOGNISERS)}


def _trie_pattern(words: list[str]) -> str:
    """One regex for many literals, factored by common prefix: Python's engine tries an alternation
    branch by branch, so ``abc|abd`` costs twice what ``ab(?:c|d)`` does on every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


# "Successfully assigned" is not a failure: Scheduled events feed the stories' "pods moved" steps.
KEYWORDS = re.compile(_trie_pattern([*_BY_KEYWORD, "Successfully assigned"]))


def candidates(haystack: str) -> list[Recogniser]:
    """Recognisers whose keywords occur in the text, in table order; empty for most lines."""
    if KEYWORDS.search(haystack) is None:
        return []
    seen: dict[str, Recogniser] = {}
    for keyword, found in _BY_KEYWORD.items():
        if keyword in haystack:
            for r in found:
                seen[r.name] = r
    return sorted(seen.values(), key=lambda r: _ORDER[r.name])


__all__ = [
    "FINISHERS",
    "KEYWORDS",
    "KNOWN",
    "RECOGNISERS",
    "Recogniser",
    "candidates",
    "finisher",
    "recogniser",
]
