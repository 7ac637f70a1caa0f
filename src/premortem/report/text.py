"""Human output: findings grouped by file and object, worst first, with file:line and the fix."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from itertools import groupby
from typing import Any, TextIO

from premortem.findings import Finding, Severity
from premortem.report.model import value_note

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def make_console(stream: TextIO | None = None, color: bool | None = None) -> Any:
    from rich.console import Console

    out = stream or sys.stdout
    return Console(
        file=out,
        highlight=False,
        soft_wrap=True,
        no_color=color is False,
        force_terminal=True if color else None,
        emoji=False,
    )


def render_findings(findings: Iterable[Finding], console: Any) -> None:
    from rich.markup import escape

    from premortem.redact import terminal_safe

    ordered = sorted(findings, key=lambda f: (f.file or "", f.line or 0))
    for file, in_file in groupby(
        ordered, key=lambda f: terminal_safe(f.file or "<no file>", keep_newlines=False)
    ):
        console.print(f"[bold underline]{escape(file)}[/]")
        by_object = sorted(in_file, key=lambda f: (f.object.display() if f.object else "", f.line or 0))
        for obj, group in groupby(by_object, key=lambda f: f.object.display() if f.object else ""):
            items = sorted(group, key=lambda f: (-int(f.severity), f.line or 0))
            if obj:
                console.print(f"  [bold]{escape(obj)}[/]")
            for f in items:
                style = SEVERITY_STYLE[f.severity]
                where = f"{file}:{f.line}" if f.line else file
                container = f" container [bold]{escape(f.container)}[/]" if f.container else ""
                console.print(
                    f"    [{style}]{f.severity.label.upper():8}[/] [bold]{f.rule}[/] "
                    f"[dim]{escape(where)}[/]{container}"
                )
                console.print(f"      {escape(f.message)}", style=None)
                if note := value_note(f):
                    console.print(f"      [cyan]{escape(note)}[/]")
                if f.fix:
                    console.print(f"      [green]fix:[/] {escape(f.fix)}")
        console.print()


def render_summary(summary: dict[str, Any], console: Any, verb: str = "scanned") -> None:
    sev = summary.get("by_severity", {})
    counts = ", ".join(f"{n} {s}" for s, n in sev.items() if n) or "no findings"
    line = f"{verb} {summary.get('files', 0)} files, {summary.get('objects', 0)} objects: {counts}"
    console.print(f"[bold]{line}[/]")
    skipped = summary.get("documents_skipped", 0)
    if skipped:
        console.print(
            f"[dim]{skipped} YAML document(s) were not Kubernetes objects (Helm values, CI configs...) "
            "and were skipped; --format json lists them under summary.skipped.[/]"
        )
