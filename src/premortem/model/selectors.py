"""Label selectors with the API's semantics.

``matchLabels`` AND ``matchExpressions`` (In, NotIn, Exists, DoesNotExist). An empty selector (``{}``)
matches everything; a null/absent selector matches nothing where the API says so (policy/v1 PDBs).
Set-based semantics follow apimachinery ``labels.Selector``: ``NotIn`` and ``DoesNotExist`` also match
objects that do not carry the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from premortem.redact import shorten


class SelectorError(ValueError):
    """The selector is malformed (the API server would reject it). The engine turns it into an input
    finding on the object that carries it (engine.py), and judges the other objects without it."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            return self.key in labels and labels[self.key] in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        raise SelectorError(f"unknown operator {op!r}")  # pragma: no cover - rejected at parse


@dataclass(frozen=True, slots=True)
class Selector:
    requirements: tuple[Requirement, ...]
    matches_nothing: bool = False

    @property
    def is_empty(self) -> bool:
        """Matches every object (``{}``)."""
        return not self.requirements and not self.matches_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.matches_nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)


NOTHING = Selector((), matches_nothing=True)
EVERYTHING = Selector(())


def parse_selector(value: Any, null_matches: bool = False) -> Selector:
    """Parse a ``LabelSelector``. ``null_matches`` says what an absent selector means for this field."""
    if value is None:
        return EVERYTHING if null_matches else NOTHING
    if not isinstance(value, dict):
        raise SelectorError("a label selector must be a mapping with matchLabels/matchExpressions")
    requirements: list[Requirement] = []
    match_labels = value.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        raise SelectorError("matchLabels must be a mapping of label to value")
    for key, val in match_labels.items():
        if isinstance(val, dict | list):
            raise SelectorError(
                f"matchLabels value of {shorten(key, 40)} must be a string, not {shorten(val, 40)}"
            )
        requirements.append(Requirement(str(key), "In", frozenset({_label_value(val)})))
    expressions = value.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    for expr in expressions:
        if not isinstance(expr, dict) or "key" not in expr or "operator" not in expr:
            raise SelectorError("each matchExpressions entry needs key and operator")
        op = expr["operator"]
        values = expr.get("values") or []
        if not isinstance(values, list) or any(isinstance(v, dict | list) for v in values):
            raise SelectorError(
                f"matchExpressions values must be a list of strings, not {shorten(values, 40)}"
            )
        if not isinstance(op, str) or isinstance(expr["key"], dict | list):
            raise SelectorError("matchExpressions key and operator must be strings")
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise SelectorError(f"unknown selector operator {op!r}")
        if op in ("In", "NotIn") and not values:
            raise SelectorError(f"operator {op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"operator {op} takes no values")
        requirements.append(Requirement(str(expr["key"]), op, frozenset(_label_value(v) for v in values)))
    return Selector(tuple(requirements))


def parse_map_selector(value: Any) -> Selector:
    """A plain ``map[string]string`` selector (Service, ReplicationController): empty/absent = nothing."""
    if not isinstance(value, dict) or not value:
        return NOTHING
    return Selector(tuple(Requirement(str(k), "In", frozenset({_label_value(v)})) for k, v in value.items()))


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
