"""Rules: one module per topic. Every module in this package (and in ``premortem.analyses``) that
defines rules with the registry decorators is discovered here; adding a rule touches its module only."""

from __future__ import annotations

import importlib
import pkgutil

from premortem.rules.registry import RULES, Rule

_RULE_PACKAGES = ("premortem.rules", "premortem.analyses")
_loaded = False


def all_rules() -> list[Rule]:
    global _loaded
    if not _loaded:
        for package_name in _RULE_PACKAGES:
            package = importlib.import_module(package_name)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if not info.name.startswith("_") and info.name != "registry":
                    importlib.import_module(f"{package_name}.{info.name}")
        _loaded = True
    return sorted(RULES.values(), key=lambda r: r.id)
