"""``premortem scan``: read manifests, run every rule, print findings."""

from __future__ import annotations

import gc
from typing import Any

import click

from premortem.cli.options import (
    EXIT_USAGE,
    exclude_option,
    format_option,
    kubernetes_version_option,
    load_inputs,
    load_settings,
    manifest_inputs,
    max_input_option,
    render_options,
    settings_options,
    usage_error,
)
from premortem.cli.report_options import report_and_exit, report_options


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@format_option
@settings_options
@exclude_option
@click.option(
    "--nodes",
    default=None,
    metavar="SPEC|FILE",
    help="Nodes for capacity findings, e.g. 3x16cpu/64Gi or an inventory YAML file.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Parse files (and pieces of a big multi-document file) in N worker processes and, from 3,000 "
    "objects, judge them in two processes when N >= 2 (0, the default: one per available core; 1: "
    "everything in this process). Small inputs are always read in-process. The output is the same for any N.",
)
@kubernetes_version_option
@max_input_option
@render_options
@report_options
def scan(paths: tuple[str, ...], fmt: str, **options: Any) -> None:
    """Scan manifests (files, directories, - for stdin; default: the current directory).

    Helm charts (a directory with Chart.yaml) are rendered with `helm template` and Kustomize
    directories (kustomization.yaml) with `kubectl kustomize`; findings point at the template, values
    file, origin file or patch to edit."""
    from premortem.engine import select_rules
    from premortem.render.stage import rendered_sources, scan_apart
    from premortem.rules import all_rules

    # A short-lived process that frees almost nothing: the cyclic GC would only re-walk every object
    # (the tree walk of 100,000 files and the rules' import included).
    gc.disable()
    settings = load_settings(paths, options)
    plan, missing, excluded = manifest_inputs(paths, settings, empty_report=True)
    nothing_to_check = not plan.files and not plan.units  # all excluded: an empty report, exit 0
    if settings.nodes:
        from premortem.analyses.capacity.nodes import NodeSpecError, nodes_from_option

        try:  # a malformed --nodes is a usage error, not a finding
            nodes_from_option(settings.nodes)
        except NodeSpecError as exc:
            usage_error(str(exc))

    rules = select_rules(all_rules(), settings.select, settings.ignore)

    jobs = settings.jobs
    if jobs == 0:
        from premortem.load.parallel import default_jobs

        jobs = default_jobs()
    from premortem.settings import use_settings

    with use_settings(settings):  # the loader reads max_input_bytes from the settings
        inputs = load_inputs(plan, settings, jobs=jobs)
    loaded = inputs.loaded
    missing = missing or inputs.unrendered
    if loaded.files_read == 0 and not nothing_to_check:
        click.echo("premortem: error: no input could be read", err=True)
        for problem in loaded.problems:
            click.echo(f"  {problem.file}: {problem.message}", err=True)
        raise SystemExit(EXIT_USAGE)

    options_for_rules = {"nodes": settings.nodes} if settings.nodes else {}
    result = scan_apart(inputs, rules, options_for_rules, settings)  # each chart or kustomization alone
    from premortem.triage.sources import source_texts

    report_and_exit(
        fmt=fmt,
        settings=settings,
        findings=result.findings,
        rules=rules,
        summary={**result.summary, "files_excluded": excluded},
        options=options,
        documents=result.documents,
        texts={  # the templates and origin files of rendered objects were not read by the loader
            **source_texts(plan.files, result.documents, loaded.may_suppress),
            **source_texts(rendered_sources(result.findings, result.documents), result.documents),
        },
        objects=result.objects,
        code=EXIT_USAGE if missing else 0,
        may_suppress=loaded.may_suppress,
    )
