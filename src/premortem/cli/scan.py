"""``premortem scan``: read manifests, run every rule, print findings."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

import click

from premortem.cli.options import (
    EXIT_USAGE,
    color_option,
    exit_code,
    fail_on_option,
    format_option,
    kubernetes_version_option,
    kubernetes_version_settings,
    load_inputs,
    manifest_inputs,
    render_options,
    usage_error,
)

if TYPE_CHECKING:
    from premortem.settings import RenderSettings


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@format_option
@fail_on_option
@click.option("--select", multiple=True, metavar="RULE|CATEGORY", help="Run only these rules or categories.")
@click.option("--ignore", multiple=True, metavar="RULE|CATEGORY", help="Skip these rules or categories.")
@click.option(
    "--nodes",
    "nodes_spec",
    default=None,
    metavar="SPEC|FILE",
    help="Nodes for capacity findings, e.g. 3x16cpu/64Gi or an inventory YAML file.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Parse files in N worker processes (0: one per available core; 1: in this process). "
    "Small inputs are always read in-process. The output is the same for any N.",
)
@kubernetes_version_option
@render_options
@color_option
def scan(
    paths: tuple[str, ...],
    fmt: str,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    nodes_spec: str | None,
    jobs: int,
    kubernetes_version: str | None,
    color: bool | None,
    render: RenderSettings,
) -> None:
    """Scan manifests (files, directories, - for stdin; default: the current directory).

    Helm charts (a directory with Chart.yaml) are rendered with `helm template` and Kustomize
    directories (kustomization.yaml) with `kubectl kustomize`; findings point at the template, values
    file, origin file or patch to edit."""
    from premortem.engine import select_rules
    from premortem.render.stage import scan_apart
    from premortem.rules import all_rules

    click.get_current_context().with_resource(kubernetes_version_settings(kubernetes_version))
    plan, missing = manifest_inputs(paths)
    if nodes_spec:
        from premortem.analyses.capacity.nodes import NodeSpecError, nodes_from_option

        try:  # a malformed --nodes is a usage error, not a finding
            nodes_from_option(nodes_spec)
        except NodeSpecError as exc:
            usage_error(str(exc))

    rules = all_rules()
    if select or ignore:
        known = {k.upper() for r in rules for k in (r.id, r.name, r.category)}
        unknown = [s for s in (*select, *ignore) if s.upper() not in known]
        if unknown:
            usage_error(f"unknown rule or category: {', '.join(unknown)} (see `premortem rules`)")
        rules = select_rules(rules, select, ignore)

    # A short-lived process that frees almost nothing: the cyclic GC would only re-walk every object.
    gc.disable()
    if jobs == 0:
        from premortem.load.parallel import default_jobs

        jobs = default_jobs()
    inputs = load_inputs(plan, render, jobs=jobs)
    loaded = inputs.loaded
    missing = missing or inputs.unrendered
    if loaded.files_read == 0:
        click.echo("premortem: error: no input could be read", err=True)
        for problem in loaded.problems:
            click.echo(f"  {problem.file}: {problem.message}", err=True)
        raise SystemExit(EXIT_USAGE)

    options = {"nodes": nodes_spec} if nodes_spec else {}
    result = scan_apart(inputs, rules, options)  # each chart or kustomization on its own
    code = exit_code(result.findings, fail_on)
    if missing:
        code = EXIT_USAGE

    if fmt == "json":
        from premortem.report.json_report import write_json

        write_json(result.to_json())
    elif fmt == "sarif":
        from premortem.report.json_report import write_json
        from premortem.report.sarif import to_sarif

        write_json(to_sarif(result.findings, rules))
    else:
        from premortem.report.text import make_console, render_findings, render_summary

        console = make_console(sys.stdout, color)
        render_findings(result.findings, console)
        render_summary(result.summary, console)
    sys.exit(code)
