"""``premortem rules`` and ``premortem explain RULE``.

Scan rules carry their full documentation. The ids raised by ``premortem diagnose`` (DIAG-*) and
``premortem etcd`` (ETM*) are listed with ``--source`` and explained from their tables, with a
pointer to the page that documents them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import click

from premortem.cli.options import EXIT_USAGE, config_option, load_settings, no_config_option
from premortem.rules.registry import Param


@dataclass(frozen=True)
class RuleEntry:
    id: str
    name: str
    category: str
    severity: str
    title: str
    fixable: bool
    source: str  # "scan", "diagnose" or "etcd"
    doc: str
    params: dict[str, Param] = field(default_factory=dict)


def _scan_entries() -> list[RuleEntry]:
    from premortem.fix.registry import all_fixers
    from premortem.rules import all_rules

    # a rule is fixable when `premortem fix` has a fixer for it that edits (not only explains)
    fixable = {rule for rule, f in all_fixers().items() if f.edits}
    return [
        RuleEntry(
            r.id, r.name, r.category, r.severity.label, r.title, r.id in fixable, "scan", r.doc, r.params
        )
        for r in all_rules()
    ]


def _diagnose_entries() -> list[RuleEntry]:
    from premortem.diagnose.rules import DIAG_RULES

    out = []
    for r in DIAG_RULES.values():
        doc = f"## What it recognises\n{r.title}.\n\nDocumented in docs/diagnose.md."
        if r.prevented_by:
            doc += f"\n\n## Prevented by\n{', '.join(r.prevented_by)} (see `premortem explain ID`)."
        if r.checked_by:
            doc += f"\n\n## Checked before the outage by\n{'; '.join(r.checked_by)}."
        out.append(
            RuleEntry(r.id, r.id.lower(), r.category, r.severity.label, r.title, False, "diagnose", doc)
        )
    return out


def _etcd_entries() -> list[RuleEntry]:
    from premortem.etcd.verdict import RULES

    return [
        RuleEntry(
            r.id,
            r.name,
            "etcd",
            r.severity.label,
            r.title,
            False,
            "etcd",
            f"## What it checks\n{r.title}.\n\nRaised by `premortem etcd`; documented in docs/etcd.md.",
        )
        for r in RULES.values()
    ]


_SOURCES = {"scan": _scan_entries, "diagnose": _diagnose_entries, "etcd": _etcd_entries}


def all_entries() -> list[RuleEntry]:
    """Every rule of every verb (scan, diagnose, etcd)."""
    return _entries("all")


def _entries(source: str) -> list[RuleEntry]:
    names = list(_SOURCES) if source == "all" else [source]
    return [e for name in names for e in _SOURCES[name]()]


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--category", default=None, help="Only rules of this category.")
@click.option(
    "--source",
    type=click.Choice(["scan", "diagnose", "etcd", "all"]),
    default="scan",
    show_default=True,
    help="Which verb's rules: scan (manifests), diagnose (incident evidence), etcd (metrics, disk).",
)
def rules(fmt: str, category: str | None, source: str) -> None:
    """List every rule: id, category, severity, title."""
    selected = [e for e in _entries(source) if category is None or e.category == category]
    if fmt == "json":
        from premortem.report.json_report import write_json

        write_json(
            {
                "rules": [
                    {
                        "id": e.id,
                        "name": e.name,
                        "category": e.category,
                        "severity": e.severity,
                        "title": e.title,
                        "fixable": e.fixable,
                        "source": e.source,
                        "params": {
                            name.replace("_", "-"): {"default": p.default, "help": p.help}
                            for name, p in e.params.items()
                        },
                    }
                    for e in selected
                ]
            }
        )
        return
    id_width = max((len(e.id) for e in selected), default=8)
    width = max((len(e.name) for e in selected), default=10)
    for e in selected:
        fix = " (fixable)" if e.fixable else ""
        click.echo(f"{e.id:{id_width}} {e.name:{width}} {e.category:11} {e.severity:8} {e.title}{fix}")


@click.command()
@click.argument("rule")
@config_option
@no_config_option
def explain(rule: str, config_file: str | None, no_config: bool) -> None:
    """Print a rule's documentation (by id, e.g. RES001, or by name)."""
    key = rule.strip()
    found = next(
        (e for e in _entries("all") if key.upper() == e.id.upper() or key.lower() == e.name.lower()), None
    )
    if found is None:
        click.echo(f"premortem: error: unknown rule {rule!r} (see `premortem rules --source all`)", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"# {found.id} {found.name}: {found.title}")
    click.echo(
        f"category: {found.category}   default severity: {found.severity}"
        f"{'   fixable' if found.fixable else ''}   raised by: premortem {found.source}\n"
    )
    click.echo(found.doc)
    settings = load_settings((), {"config_file": config_file, "no_config": no_config})
    configured = settings.severity.get(found.id)
    if configured:
        click.echo(
            f"\nThis repository's config sets its severity to {configured} ({settings.sources['severity']})."
        )
    if found.params:
        click.echo(
            parameters_section(found.id, found.params, settings.params.get(found.id, {}), settings.sources)
        )


def parameters_section(
    rule_id: str,
    params: dict[str, Param],
    configured: dict[str, Any] | None = None,
    sources: dict[str, str] | None = None,
) -> str:
    """The ``## Parameters`` part of an explain page: each tunable threshold, its default, the value
    this repository's config sets (if any), how to set it."""
    lines = [
        "",
        "## Parameters",
        "Set in `.premortem.yaml` (or `[tool.premortem.params.ID]` in pyproject.toml):",
        "",
    ]
    for name, param in params.items():
        line = f"- `{name.replace('_', '-')}` (default `{param.default!r}`): {param.help}"
        if configured and name in configured:
            line += f"; set to `{configured[name]!r}` by {(sources or {}).get('params', 'the config')}"
        lines.append(line)
    first = next(iter(params.items()))
    lines += [
        "",
        "```yaml",
        "params:",
        f"  {rule_id}:",
        f"    {first[0].replace('_', '-')}: {first[1].default!r}",
        "```",
    ]
    return "\n".join(lines)
