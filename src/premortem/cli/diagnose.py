"""``premortem diagnose``: from incident evidence (logs, events, describe output) to causes."""

from __future__ import annotations

import sys
from typing import Any

import click

from premortem.cli.options import (
    EXIT_USAGE,
    color_option,
    exit_code,
    load_settings,
    settings_options,
    text_or_json_option,
    usage_error,
)
from premortem.redact import terminal_safe


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@text_or_json_option()
@settings_options
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="TIME",
    help="When the evidence was captured (RFC 3339): turns `kubectl get events` ages into times.",
)
@click.option(
    "--boot-time",
    "boot_text",
    default=None,
    metavar="TIME",
    help="When the node booted (RFC 3339): turns dmesg's seconds-since-boot into times.",
)
@color_option
def diagnose(
    paths: tuple[str, ...],
    fmt: str,
    now_text: str | None,
    boot_text: str | None,
    color: bool | None,
    **options: Any,
) -> None:
    """Diagnose an incident from logs, events and describe output (files, directories, or - for stdin)."""
    from premortem.diagnose import Selection
    from premortem.diagnose import diagnose as run
    from premortem.diagnose.selection import split
    from premortem.diagnose.timeparse import parse_rfc3339
    from premortem.triage import triage

    settings = load_settings(paths, options)

    if not paths:
        usage_error("give the evidence to read: log files, directories of logs, event dumps, or - for stdin")
    # Names given on this command line must be diagnose rules or categories; a config file's select
    # and ignore speak to every verb, so names of other verbs' rules are left to them.
    given = set(split(options.get("select") or ())) | set(split(options.get("ignore") or ()))
    everything = Selection(split(settings.select), split(settings.ignore))
    unknown = [name for name in everything.unknown() if name in given]
    foreign = set(everything.unknown())
    selection = Selection(
        tuple(n for n in everything.select if n not in foreign),
        tuple(n for n in everything.ignore if n not in foreign),
    )
    if unknown:
        usage_error(
            f"unknown diagnose rule or category: {', '.join(unknown)} (see `premortem rules --source diagnose`)"
        )
    now = None
    if now_text is not None:
        now = parse_rfc3339(now_text)
        if now is None:
            usage_error(f"--now {now_text!r} is not an RFC 3339 time (e.g. 2026-11-25T19:40:00Z)")
    boot = None
    if boot_text is not None:
        boot = parse_rfc3339(boot_text)
        if boot is None:
            usage_error(f"--boot-time {boot_text!r} is not an RFC 3339 time (e.g. 2026-11-20T08:00:00Z)")
    result = run(paths, now=now, boot=boot, max_input_bytes=settings.max_input_bytes, selection=selection)
    summary = result.summary
    for problem in (*summary["files_unreadable"], *summary["files_truncated"]):
        click.echo(f"premortem: error: {terminal_safe(problem['file'])}: {problem['error']}", err=True)
    if summary["files"] == 0 or summary["lines"] == 0:
        click.echo(
            "premortem: error: no input could be read"
            + (" (the input is empty)" if summary["files"] else ""),
            err=True,
        )
        raise SystemExit(EXIT_USAGE)
    if summary["lines_unknown"] == summary["lines"]:
        click.echo(
            "premortem: error: no line of the input is in a format premortem reads (events, describe output, "
            "kernel, kubelet, API server, etcd, drain or cilium logs); see `premortem diagnose --help`",
            err=True,
        )
        raise SystemExit(EXIT_USAGE)
    findings = triage(result.findings, settings).findings  # severity overrides; selection done above
    code = exit_code(findings, settings.fail_on)
    if summary["files_unreadable"] or summary["files_truncated"]:
        code = EXIT_USAGE
    if fmt == "json":
        from premortem.diagnose.report import to_json
        from premortem.report.json_report import write_json

        write_json(to_json(findings, result.stories, summary))
    else:
        from premortem.diagnose.report import render_text
        from premortem.report.text import make_console

        render_text(findings, result.stories, summary, make_console(sys.stdout, color))
    sys.exit(code)
