"""``premortem capacity``: will the workloads fit, survive losing a node, let a node drain?"""

from __future__ import annotations

import sys
from typing import Any

import click

from premortem.cli.options import (
    EXIT_USAGE,
    color_option,
    exclude_option,
    exit_code,
    kubernetes_version_option,
    load_inputs,
    load_settings,
    manifest_inputs,
    max_input_option,
    render_options,
    report_format_option,
    settings_options,
    usage_error,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--nodes",
    default=None,
    metavar="SPEC|FILE",
    help="The nodes: e.g. 3x16cpu/64Gi, 2x8cpu/32Gi,1x4cpu/16Gi, or an inventory YAML file. "
    "Default: the Node objects read.",
)
@report_format_option(
    "Output format: text (the simulation and its findings), json (see docs/capacity.md), or the "
    "findings as sarif, junit, github or markdown, as for scan."
)
@click.option(
    "--html",
    "html_file",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report (charts and tables, no network needed).",
)
@settings_options
@exclude_option
@kubernetes_version_option
@max_input_option
@render_options
@color_option
def capacity(
    paths: tuple[str, ...],
    fmt: str,
    html_file: str | None,
    color: bool | None,
    **options: Any,
) -> None:
    """Simulate scheduling: steady state, losing each node, draining each node, memory overcommit."""
    from premortem.analyses.capacity.nodes import NodeSpecError
    from premortem.analyses.capacity.rules import CAPACITY_RULES, hits, report_for
    from premortem.engine import make_finding, problem_finding, select_rules
    from premortem.findings import SEVERITIES, Finding
    from premortem.model.index import ObjectIndex
    from premortem.model.limitrange import apply_limit_ranges
    from premortem.render.stage import rendered_sources
    from premortem.report.model import not_reported
    from premortem.settings import use_settings
    from premortem.triage import triage
    from premortem.triage.sources import source_texts

    settings = load_settings(paths, options)
    click.get_current_context().with_resource(use_settings(settings))
    plan, missing, _ = manifest_inputs(paths, settings)
    inputs = load_inputs(plan, settings)
    loaded = inputs.loaded
    missing = missing or inputs.unrendered
    if loaded.files_read == 0:
        for problem in loaded.problems:  # say why, as scan does
            click.echo(f"  {problem.file}: {problem.message}", err=True)
        usage_error("no input could be read")
    apply_limit_ranges(loaded.documents)  # pods a LimitRange covers get its default requests
    index = ObjectIndex.build(loaded.documents)
    try:
        report = report_for(index, settings.nodes)
    except NodeSpecError as exc:
        usage_error(str(exc))
    if report is None and any(True for _ in index.of_kind("Node")):
        usage_error(
            "the Node objects read have no status.allocatable or status.capacity with cpu and memory "
            "(manifests, not `kubectl get nodes -o yaml`?): pass --nodes, e.g. 3x16cpu/64Gi or an inventory file"
        )
    if report is None:
        usage_error(
            "no nodes to simulate: pass --nodes (e.g. 3x16cpu/64Gi or an inventory file) or include Node "
            "objects (kubectl get nodes -o yaml) with status.allocatable or status.capacity"
        )
    assert report is not None

    findings: list[Finding] = [problem_finding(p) for p in loaded.problems]
    rules = select_rules(CAPACITY_RULES, settings.select, settings.ignore)
    for rule in rules:
        for hit in hits(rule.id, report):
            assert hit.doc is not None
            findings.append(make_finding(rule, hit.doc, hit))
    ran = {k for r in rules for k in (r.id, r.category)}
    texts = {  # the templates and origin files of rendered objects were not read by the loader
        **source_texts(plan.files, loaded.documents, loaded.may_suppress),
        **source_texts(rendered_sources(findings, loaded.documents), loaded.documents),
    }
    triaged = triage(findings, settings, loaded.documents, texts, ran, loaded.may_suppress)
    findings = triaged.findings
    code = exit_code(findings, settings.fail_on)
    if missing:
        code = EXIT_USAGE

    if html_file:
        from premortem.analyses.capacity.html import render_html

        try:
            with open(html_file, "w", encoding="utf-8") as handle:
                handle.write(render_html(report, findings))
        except OSError as exc:
            usage_error(f"cannot write {html_file}: {exc.strerror or exc}")
        click.echo(f"premortem: wrote {html_file}", err=True)

    if fmt == "json":
        from premortem.analyses.capacity.render import report_json
        from premortem.report.json_report import write_json

        payload = report_json(report, findings)
        payload["suppressed"] = [{**f.to_json(), "suppression": s.to_json()} for f, s in triaged.suppressed]
        write_json(payload)
    elif fmt != "text":
        from premortem.report.model import Report
        from premortem.report.write import write_report

        totals = triaged.summary({"files": loaded.files_read, "objects": len(loaded.documents)})
        write_report(
            fmt,
            Report(findings, totals, rules, triaged.suppressed, verb="simulated", fail_on=settings.fail_on),
        )
    else:
        from premortem.analyses.capacity.render import render_text
        from premortem.report.text import make_console, render_findings

        console = make_console(sys.stdout, color)
        render_text(report, console)
        render_findings(findings, console)
        counts: dict[str, int] = {}
        for f in findings:
            counts[f.severity.label] = counts.get(f.severity.label, 0) + 1
        summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts.get(s)) or "no findings"
        summary += "".join(f"; {note}" for note in not_reported(triaged.summary({})))
        console.print(
            f"[bold]capacity of {len(report.nodeset.nodes)} nodes, {len(report.workloads)} workloads: {summary}[/]"
        )
    sys.exit(code)
