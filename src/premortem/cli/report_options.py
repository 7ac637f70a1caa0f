"""Options of the verbs that report findings: how much text, suppressed findings, the baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from premortem.cli.options import color_option

if TYPE_CHECKING:
    from collections.abc import Set

    from premortem.findings import Finding
    from premortem.load.document import Document
    from premortem.rules.registry import Rule
    from premortem.settings import Settings

quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Print every finding in full (explanation and fix), grouped by file and object.",
)
show_suppressed_option = click.option(
    "--show-suppressed", is_flag=True, help="Also list the suppressed findings, with their reasons."
)
baseline_option = click.option(
    "--baseline",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Report only findings that are not in this baseline (config: baseline).",
)
write_baseline_option = click.option(
    "--write-baseline",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Record today's findings in FILE (then report against it: everything in it is accepted).",
)


def report_options(fn: Any) -> Any:
    for option in reversed(
        (
            quiet_option,
            verbose_option,
            show_suppressed_option,
            baseline_option,
            write_baseline_option,
            color_option,
        )
    ):
        fn = option(fn)
    return fn


def report_and_exit(
    *,
    fmt: str,
    settings: Settings,
    findings: list[Finding],
    rules: list[Rule],
    summary: dict[str, Any],
    options: dict[str, Any],
    documents: list[Document] | None = None,
    texts: dict[str, str] | None = None,
    objects: list[dict[str, Any]] | None = None,
    verb: str = "scanned",
    code: int = 0,
    may_suppress: Set[str] | None = None,
) -> None:
    """The end of every verb that reports findings: triage (suppressions, baseline, min-severity),
    write the baseline if asked, print the report in ``fmt``, exit (``code`` when it is worse)."""
    import dataclasses

    from premortem.cli.options import exit_code, usage_error
    from premortem.report.model import Report
    from premortem.report.write import TextOptions, write_report
    from premortem.rules.registry import lookup
    from premortem.triage import triage
    from premortem.triage.baseline import BaselineError, write_baseline

    new_baseline = options.get("write_baseline")
    if new_baseline:
        settings = dataclasses.replace(settings, baseline=None)
    ran = {k for r in rules for k in (r.id, r.category)}
    try:
        triaged = triage(findings, settings, documents, texts, ran, may_suppress)
        if new_baseline:
            count = write_baseline(new_baseline, triaged.unbaselined)
            click.echo(f"premortem: recorded {count} finding(s) in {new_baseline}", err=True)
            triaged.baselined, triaged.findings, triaged.hidden = triaged.unbaselined, [], []
    except BaselineError as exc:
        usage_error(str(exc))
    reported_rules = {r.id: r for r in rules}
    for f in [*triaged.findings, *(f for f, _ in triaged.suppressed)]:
        if f.rule not in reported_rules and (rule := lookup(f.rule)) is not None:
            reported_rules[f.rule] = rule
    report = Report(
        findings=triaged.findings,
        summary=triaged.summary(summary),
        rules=sorted(reported_rules.values(), key=lambda r: r.id),
        suppressed=triaged.suppressed,
        objects=objects or [],
        verb=verb,
        fail_on=settings.fail_on,
    )
    text = TextOptions(
        verbose=bool(options.get("verbose")),
        quiet=bool(options.get("quiet")),
        show_suppressed=bool(options.get("show_suppressed")),
        color=options.get("color"),
    )
    from premortem.settings import use_settings

    with use_settings(settings):  # -j: whether a big JSON report is encoded in two processes
        write_report(fmt, report, text)
    raise SystemExit(max(code, exit_code(triaged.findings, settings.fail_on)))
