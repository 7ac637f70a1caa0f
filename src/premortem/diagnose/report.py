"""Text and JSON output for ``premortem diagnose``.

Evidence is pasted text: it may carry credentials (a curl -u in a probe command, a bearer token in
a URL) and terminal escape sequences (an arrow key pressed while copying). Findings are cleaned when
they are made (premortem.findings: credentials masked, control characters escaped); everything else
printed here that comes from the input (evidence lines, names, unknown samples) goes through
``_safe``: masked, and escaped for the terminal. JSON escapes control characters itself.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from premortem.diagnose.story import Story
from premortem.findings import Finding
from premortem.redact import redact, redact_data, terminal_safe
from premortem.report.text import SEVERITY_STYLE

_MAX_EVIDENCE_TEXT = 220


def public(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    return {k: v for k, v in data.items() if not k.startswith("_")}


def to_json(findings: list[Finding], stories: list[Story], summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "findings": [public(f) for f in findings],
        "stories": [redact_data(s.to_json()) for s in stories],
        "summary": redact_data(summary),
    }


def _safe(text: str) -> str:
    """Input text fit for a terminal: credentials masked, control characters (newlines too) escaped."""
    return terminal_safe(redact(text), keep_newlines=False)


def _clock(value: str | None, dated: bool = False) -> str:
    if not value:
        return "                   " if dated else "        "
    return f"{value[:10]} {value[11:19]}" if dated else value[11:19]


def _subject(f: Finding) -> str:
    o = f.extra.get("objects", {})
    if o.get("pod"):
        pod = f"{o['namespace']}/{o['pod']}" if o.get("namespace") else o["pod"]
        return f"{pod} ({o['container']})" if o.get("container") else pod
    for key in ("webhook", "etcd", "apiserver", "node", "process", "image"):
        if o.get(key):
            return f"{key} {o[key]}"
    return ""


def headline(f: Finding) -> str:
    count = f.extra.get("count", 1)
    times = f" x{count}" if count > 1 else ""
    subject = _safe(_subject(f))
    return f"{f.extra.get('title', f.rule)}{': ' + subject if subject else ''}{times}"


def _short(text: str) -> str:
    text = _safe(text.replace("\n", " | "))
    return text if len(text) <= _MAX_EVIDENCE_TEXT else text[: _MAX_EVIDENCE_TEXT - 3] + "..."


def render_text(findings: list[Finding], stories: list[Story], summary: dict[str, Any], console: Any) -> None:
    if stories:
        console.print("[bold underline]What happened[/]")
        for n, story in enumerate(stories, 1):
            console.print(f"[bold]Story {n}: {escape(story.title)}[/]")
            dated = story.spans_days()
            for step in story.steps:
                if step.finding is not None:
                    f = step.finding
                    style = SEVERITY_STYLE[f.severity]
                    console.print(
                        f"  {_clock(f.extra.get('time'), dated)}  [{style}]{f.severity.label.upper():8}[/] "
                        f"{escape(headline(f))} [dim]({f.rule}, {escape(_safe(f'{f.file}:{f.line}'))})[/]"
                    )
                elif step.moved is not None:
                    p = step.moved
                    when = _clock(p.rec.time.isoformat() if p.rec.time else None, dated)
                    console.print(
                        f"  {when}  [cyan]{'MOVED':8}[/] {escape(_safe(p.namespace))}/{escape(_safe(p.pod))} scheduled onto "
                        f"{escape(_safe(p.node))} [dim]({escape(_safe(f'{p.rec.file}:{p.rec.line}'))})[/]"
                    )
            if story.prevented_by:
                console.print(f"  [green]would have been prevented by:[/] {', '.join(story.prevented_by)}")
            console.print()
    if findings:
        console.print("[bold underline]Findings[/]")
    for f in findings:
        sev_style = SEVERITY_STYLE[f.severity]
        when_text = f.extra.get("time")
        console.print(
            f"  [{sev_style}]{f.severity.label.upper():8}[/] [bold]{f.rule}[/] {escape(headline(f))}"
            + (f" [dim]at {when_text}[/]" if when_text else "")
        )
        console.print(f"    {escape(f.message)}")
        console.print(f"    [green]fix:[/] {escape(f.fix)}")
        evidence = f.extra.get("evidence", [])
        for i, e in enumerate(evidence):
            if i == len(evidence) - 1 and i > 0 and f.extra.get("count", 1) > 2:
                console.print(f"      [dim]... {f.extra['count'] - 2} more[/]")
            console.print(
                f"      [dim]{escape(_safe(e['file']))}:{e['line']}[/]  {escape(_short(e['text']))}"
            )
        prevented = f.extra.get("prevented_by") or []
        checked = f.extra.get("checked_by") or []
        if prevented:
            console.print(f"    [green]prevented by:[/] {', '.join(prevented)} (premortem scan)")
        if checked:
            console.print(f"    [green]checked by:[/] {'; '.join(checked)}")
        console.print()
    render_summary(summary, console)


def render_summary(summary: dict[str, Any], console: Any) -> None:
    sev = summary.get("by_severity", {})
    counts = ", ".join(f"{n} {s}" for s, n in sev.items() if n) or "no findings"
    console.print(
        f"[bold]diagnosed {summary['files']} file(s), {summary['lines']} lines: {counts}; "
        f"{summary['stories']} story(ies)[/]"
    )
    if summary.get("lines_unknown"):
        console.print(
            f"[dim]{summary['lines_unknown']} line(s) were in no format premortem reads and were skipped "
            "(--format json lists samples under summary.unknown_samples).[/]"
        )
    if summary.get("lines_truncated"):
        console.print(
            f"[dim]{summary['lines_truncated']} line(s) longer than 64 KiB were read up to 64 KiB.[/]"
        )
    for key, verb in (
        ("files_unreadable", "could not read"),
        ("files_truncated", "stopped reading"),
        ("files_skipped", "skipped"),
    ):
        for problem in summary.get(key, []):
            console.print(f"[yellow]{verb} {escape(_safe(problem['file']))}: {escape(problem['error'])}[/]")
