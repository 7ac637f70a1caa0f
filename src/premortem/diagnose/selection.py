"""``--select``/``--ignore`` for diagnose: rule ids (``DIAG-ETCD-SLOW-FSYNC``), id prefixes
(``DIAG-ETCD``, ``DIAG-ETCD-*``) and categories (``etcd``, ``resources``), as comma lists or repeated
options, like the other verbs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from premortem.diagnose.rules import DIAG_RULES
from premortem.findings import Finding


def split(values: Iterable[str]) -> tuple[str, ...]:
    """``("a,b", "c")`` -> ``("a", "b", "c")``; blanks dropped."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _matches(rule_id: str, category: str, name: str) -> bool:
    wanted = name.upper().rstrip("*").rstrip("-")
    return rule_id == wanted or rule_id.startswith(wanted + "-") or category.upper() == wanted


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def unknown(self) -> list[str]:
        """The names that match no diagnose rule or category."""
        return [
            name
            for name in (*self.select, *self.ignore)
            if not any(_matches(r.id, r.category, name) for r in DIAG_RULES.values())
        ]

    def keep(self, finding: Finding) -> bool:
        def hit(names: tuple[str, ...]) -> bool:
            return any(_matches(finding.rule, finding.category, n) for n in names)

        return (not self.select or hit(self.select)) and not hit(self.ignore)
