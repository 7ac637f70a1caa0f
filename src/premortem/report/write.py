"""One entry point for every output format, so every verb that reports findings offers the same."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

from premortem.report.model import Report


@dataclass(frozen=True)
class TextOptions:
    verbose: bool = False
    quiet: bool = False
    show_suppressed: bool = False
    color: bool | None = None  # None: colour only on a terminal


def write_report(
    fmt: str, report: Report, text: TextOptions | None = None, out: TextIO | None = None
) -> None:
    stream = out or sys.stdout
    options = text or TextOptions()
    if fmt == "json":
        from premortem.report.json_report import scan_json, write_json

        write_json(scan_json(report), stream)
    elif fmt == "sarif":
        from premortem.report.json_report import write_json
        from premortem.report.sarif import to_sarif

        write_json(to_sarif(report), stream)
    elif fmt == "junit":
        from premortem.report.junit import write_junit

        write_junit(report, stream)
    elif fmt == "github":
        from premortem.report.github import write_github

        write_github(report, stream)
    elif fmt == "markdown":
        from premortem.report.markdown import write_markdown

        write_markdown(report, stream)
    else:
        write_text(report, options, stream)


def write_text(report: Report, options: TextOptions, out: TextIO) -> None:
    from premortem.report.concise import painter, write_concise, write_summary

    color = options.color if options.color is not None else _isatty(out)
    if options.quiet:
        write_summary(report, out, painter(color))
    elif options.verbose:
        from premortem.report.text import make_console, render_findings

        console = make_console(out, color)
        render_findings(_printable(report.findings), console)
        if options.show_suppressed and report.suppressed:
            console.print("[bold]suppressed[/]")
            render_findings(_printable([f for f, _ in report.suppressed]), console)
        write_summary(report, out, painter(color))
    else:
        write_concise(report, out, color, options.show_suppressed)
    out.flush()


def _printable(findings: list[Any]) -> list[Any]:
    import dataclasses

    from premortem.report.model import printable

    return [
        dataclasses.replace(
            f,
            message=printable(f.message),
            fix=printable(f.fix),
            file=printable(f.file) if f.file else f.file,
        )
        for f in findings
    ]


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
