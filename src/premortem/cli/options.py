"""Options shared by several verbs, and the exit-code policy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from premortem.findings import INTERNAL_ERROR, SEVERITIES, Finding, Severity
from premortem.settings import Settings

if TYPE_CHECKING:
    from premortem.render.discover import InputPlan
    from premortem.render.stage import LoadedInputs

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

REPORT_FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")


def report_format_option(
    help: str = "Output format: text for people; json and sarif are stable contracts for CI; junit for test "
    "reports (Jenkins, GitLab); github for Actions annotations; markdown for pull-request comments.",
) -> Any:
    """``--format`` with every report format (report/write.py)."""
    return click.option(
        "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text", show_default=True, help=help
    )


format_option = report_format_option()
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "never"], case_sensitive=False),
    default=None,
    help="Exit 1 when any finding is at or above this severity (default: high; config: fail-on).",
)


def split_commas(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """``--select a,b --select c`` -> (a, b, c)."""
    return tuple(part.strip() for item in value for part in item.split(",") if part.strip())


select_option = click.option(
    "--select",
    multiple=True,
    callback=split_commas,
    metavar="RULE,...",
    help="Run only these rules (ids, names or categories; comma-separated or repeated). Replaces the "
    "config file's select.",
)
ignore_option = click.option(
    "--ignore",
    multiple=True,
    callback=split_commas,
    metavar="RULE,...",
    help="Skip these rules (ids, names or categories), in addition to the config file's ignore.",
)
exclude_option = click.option(
    "--exclude",
    multiple=True,
    callback=split_commas,
    metavar="GLOB",
    help="Do not read files matching these gitignore-style globs (relative to the config file's "
    "directory), in addition to the config file's exclude. Applies to files named on the command line too.",
)
config_option = click.option(
    "--config",
    "config_file",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Read settings from FILE (.premortem.yaml or pyproject.toml) instead of discovering one.",
)
no_config_option = click.option(
    "--no-config", is_flag=True, help="Ignore any config file: defaults and command-line options only."
)
min_severity_option = click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES, case_sensitive=False),
    default=None,
    help="Do not report findings below this severity (they are counted as hidden in the summary).",
)


def text_or_json_option(help: str = "Output format.") -> Any:
    """``--format text|json`` for verbs whose JSON is ``{findings, summary}`` (or their own document)."""
    return click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help=help
    )


color_option = click.option(
    "--color/--no-color", default=None, help="Force colour on or off (default: only on a terminal)."
)


def exit_code(findings: Iterable[Finding], fail_on: str | None) -> int:
    fail_on = fail_on or "high"
    if fail_on.lower() == "never":
        return EXIT_OK
    findings = list(findings)
    if any(f.rule == INTERNAL_ERROR for f in findings):
        return EXIT_USAGE  # a rule failed: something was not checked
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else EXIT_OK


def usage_error(message: str) -> Any:
    click.echo(f"premortem: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def manifest_paths(paths: Iterable[str], settings: Settings | None = None) -> tuple[list[str], bool, int]:
    """``manifest_files`` and how many files the settings excluded (plain files only; verbs that
    render charts and kustomizations use ``manifest_inputs``).

    The manifest files behind ``paths`` (default: the current directory) minus those the settings
    exclude, and whether any path was missing (reported on stderr; the caller exits 2 after its
    work). Nothing to read: exit 2."""
    from premortem.configfile.exclude import without_excluded
    from premortem.load.reader import expand_paths

    targets = list(paths) or ["."]
    files, missing = expand_paths(targets)
    for path in missing:
        click.echo(f"premortem: error: {path}: no such file or directory", err=True)
    if missing and not files:
        raise SystemExit(EXIT_USAGE)
    excluded = 0
    if settings is not None:
        files, excluded = without_excluded(files, settings)
    if not files:
        if excluded:  # e.g. pre-commit passing only excluded files: nothing to do is not an error
            click.echo(
                f"premortem: every file given is excluded by the settings ({excluded} file(s))", err=True
            )
            raise SystemExit(EXIT_OK)
        usage_error(f"no *.yaml, *.yml or *.json files found in {', '.join(targets)}")
    return files, bool(missing), excluded


def manifest_files(paths: Iterable[str], settings: Settings | None = None) -> tuple[list[str], bool]:
    """The manifest files behind ``paths`` minus the excluded ones, and whether a path was missing."""
    files, missing, _ = manifest_paths(paths, settings)
    return files, missing


def settings_options(fn: Any) -> Any:
    """--config, --no-config, --select, --ignore, --fail-on, --min-severity: the options every verb that
    reports findings shares (read them back with ``load_settings``)."""
    for option in reversed(
        (config_option, no_config_option, select_option, ignore_option, fail_on_option, min_severity_option)
    ):
        fn = option(fn)
    return fn


_FLAGS = {
    "select": "--select",
    "ignore": "--ignore",
    "exclude": "--exclude",
    "fail_on": "--fail-on",
    "min_severity": "--min-severity",
    "nodes": "--nodes",
    "jobs": "--jobs",
    "baseline": "--baseline",
    "kubernetes_version": "--kubernetes-version",
    "max_input_bytes": "--max-input-bytes",
}


max_input_option = click.option(
    "--max-input-bytes",
    "max_input_bytes",
    type=click.IntRange(min=1),
    default=None,
    metavar="BYTES",
    help="Refuse any single input (file, stdin, stream) larger than this (default: 256 MiB).",
)


def load_settings(paths: Iterable[str], options: dict[str, Any], **extra: tuple[Any, str]) -> Settings:
    """The run's settings: defaults <- config file <- the command-line ``options`` (a verb's keyword
    arguments; those named in _FLAGS are settings) <- ``extra`` (field -> (value, flag)).
    A bad config file or value is a usage error (exit 2) naming file, line and key."""
    from premortem.configfile import ConfigError, build_settings

    cli = {name: (options[name], flag) for name, flag in _FLAGS.items() if name in options}
    cli.update(
        {field: (options[name], flag) for name, (field, flag) in _RENDER_FLAGS.items() if name in options}
    )
    cli.update(extra)
    try:
        return build_settings(
            paths, cli, config=options.get("config_file"), use_config=not options.get("no_config", False)
        )
    except ConfigError as exc:
        return usage_error(str(exc))


def _check_kubernetes_version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from premortem.model.kubeversion import KubeVersion

    try:
        KubeVersion.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


kubernetes_version_option = click.option(
    "--kubernetes-version",
    "kubernetes_version",
    default=None,
    metavar="X.Y",
    callback=_check_kubernetes_version,
    help="The Kubernetes release to judge against (removed API versions, version-specific defaults); "
    "default: the newest release premortem knows.",
)


def kubernetes_version_settings(kubernetes_version: str | None) -> Any:
    """A context in which rules see ``--kubernetes-version`` on top of the settings already in use."""
    import contextlib
    import dataclasses

    from premortem.settings import current, use_settings

    if kubernetes_version is None:
        return contextlib.nullcontext()
    return use_settings(dataclasses.replace(current(), kubernetes_version=kubernetes_version))


# The render options (`render_options`): option name -> (Settings field, flag).
_RENDER_FLAGS = {
    "render_values": ("render.values", "--values"),
    "render_set": ("render.set_values", "--set"),
    "render_namespace": ("render.namespace", "--namespace"),
    "render_release": ("render.release_name", "--release-name"),
    "render_kube_version": ("render.kube_version", "--kube-version"),
    "render_helm": ("render.helm", "--helm"),
    "render_kustomize": ("render.kustomize", "--kustomize"),
}
_RENDER_OPTIONS = (
    click.option(
        "-f",
        "--values",
        "render_values",
        multiple=True,
        metavar="FILE",
        type=click.Path(exists=True, dir_okay=False),
        help="Helm values file for the charts rendered (repeatable, applied in order).",
    ),
    click.option("--set", "render_set", multiple=True, metavar="KEY=VALUE", help="Helm value (repeatable)."),
    click.option("--namespace", "render_namespace", default=None, help="Namespace to render charts into."),
    click.option(
        "--release-name",
        "render_release",
        default=None,
        help="Helm release name (default: the chart's name).",
    ),
    click.option(
        "--kube-version",
        "render_kube_version",
        default=None,
        metavar="VERSION",
        callback=_check_kubernetes_version,
        help="Kubernetes version charts render for (.Capabilities.KubeVersion; default: "
        "--kubernetes-version, else Helm's own).",
    ),
    click.option(
        "--helm", "render_helm", default=None, metavar="PATH", help="The helm binary (default: helm on PATH)."
    ),
    click.option(
        "--kustomize",
        "render_kustomize",
        default=None,
        metavar="PATH",
        help="kustomize or kubectl binary (default: kustomize if installed, else kubectl kustomize).",
    ),
)


def render_options(fn: Any) -> Any:
    """-f/--values, --set, --namespace, --release-name, --kube-version, --helm, --kustomize: how Helm
    charts and Kustomize trees met in the input are rendered (``load_settings`` puts them in
    ``Settings.render``)."""
    for option in reversed(_RENDER_OPTIONS):
        fn = option(fn)
    return fn


def manifest_inputs(
    paths: Iterable[str], settings: Settings, empty_report: bool = False
) -> tuple[InputPlan, bool, int]:
    """Like ``manifest_paths``, with the Helm charts and kustomizations met in ``paths`` as render
    units (docs/render.md): the plan, whether a path was missing, and how many inputs the settings
    excluded. When the settings exclude everything (or only unused patches are named), that is said
    on stderr and the process exits 0, or, with ``empty_report``, the empty plan is returned so the
    caller writes a report with no findings (a SARIF upload in CI needs a valid file)."""
    from premortem.configfile.exclude import without_excluded
    from premortem.render.discover import plan_inputs
    from premortem.render.users import builds_for_named_files

    targets = list(paths) or ["."]
    plan = plan_inputs(targets)
    builds_for_named_files(plan, targets)
    for path in plan.missing:
        click.echo(f"premortem: error: {path}: no such file or directory", err=True)
    if plan.missing and not plan.files and not plan.units:
        raise SystemExit(EXIT_USAGE)
    before = len(plan.files) + len(plan.units)
    plan.files, excluded = without_excluded(plan.files, settings)
    units = [u for u in plan.units if without_excluded([u.path], settings)[0]]
    excluded += len(plan.units) - len(units)
    plan.units = units
    if not plan.files and not plan.units:
        if before:  # e.g. pre-commit passing only excluded files: nothing to do is not an error
            click.echo(
                f"premortem: every file given is excluded by the settings ({before} input(s))", err=True
            )
        elif plan.unused:  # e.g. pre-commit passing only a patch no build uses: nothing to check
            for path, owner in plan.unused:
                click.echo(
                    f"premortem: {path} lies in the kustomization {owner} but none of its builds uses it: "
                    "not checked",
                    err=True,
                )
        else:
            usage_error(
                f"no *.yaml, *.yml or *.json files, charts or kustomizations found in {', '.join(targets)}"
            )
        if not empty_report:
            raise SystemExit(EXIT_OK)
    return plan, bool(plan.missing), excluded


def load_inputs(plan: InputPlan, settings: Settings, jobs: int = 1) -> LoadedInputs:
    """Plain files loaded and units rendered. A unit whose tool is missing is reported on stderr here
    (``unrendered``: the caller exits 2 after its work)."""
    from premortem.load.reader import load_files
    from premortem.render.stage import LoadedInputs, render_units

    given = [
        flag
        for key, flag in (("render.values", "--values"), ("render.set_values", "--set"))
        if settings.sources.get(key) == flag
    ]
    if given and not any(u.tool == "helm" for u in plan.units):
        click.echo(
            f"premortem: warning: {'/'.join(given)} given, but no Helm chart is among the inputs", err=True
        )
    plain = load_files(plan.files, jobs=jobs)  # the plan lists files: no directory to walk again
    for path, owner in plan.unused:
        plain.skipped.append((path, 1, f"lies in the kustomization {owner} but none of its builds uses it"))
    if not plan.units:
        return LoadedInputs(plain)
    outcome = render_units(plan.units, settings.render, settings.kubernetes_version, settings.root)
    for message in outcome.tool_errors:
        click.echo(f"premortem: error: {message}", err=True)
    return LoadedInputs(plain, outcome.units, bool(outcome.tool_errors), outcome.report)
