"""``premortem rules`` and ``premortem explain RULE``."""

from __future__ import annotations

import sys

import click

from premortem.cli.options import EXIT_USAGE


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--category", default=None, help="Only rules of this category.")
def rules(fmt: str, category: str | None) -> None:
    """List every rule: id, category, severity, title."""
    from premortem.rules import all_rules

    selected = [r for r in all_rules() if category is None or r.category == category]
    if fmt == "json":
        from premortem.report.json_report import write_json

        write_json(
            {
                "rules": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "category": r.category,
                        "severity": r.severity.label,
                        "title": r.title,
                        "fixable": r.fixable,
                    }
                    for r in selected
                ]
            }
        )
        return
    width = max((len(r.name) for r in selected), default=10)
    for r in selected:
        fix = " (fixable)" if r.fixable else ""
        click.echo(f"{r.id:8} {r.name:{width}} {r.category:11} {r.severity.label:8} {r.title}{fix}")


@click.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print a rule's documentation (by id, e.g. RES001, or by name)."""
    from premortem.rules.registry import lookup

    found = lookup(rule)
    if found is None:
        click.echo(f"premortem: error: unknown rule {rule!r} (see `premortem rules`)", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"# {found.id} {found.name}: {found.title}")
    click.echo(
        f"category: {found.category}   default severity: {found.severity.label}"
        f"{'   fixable' if found.fixable else ''}\n"
    )
    click.echo(found.doc)
