"""Options shared by several verbs, and the exit-code policy."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from premortem.findings import SEVERITIES, Finding, Severity

if TYPE_CHECKING:
    from premortem.render.discover import InputPlan
    from premortem.render.stage import LoadedInputs
    from premortem.settings import RenderSettings

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format. JSON and SARIF are stable contracts for CI.",
)
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "never"], case_sensitive=False),
    default="high",
    show_default=True,
    help="Exit 1 when any finding is at or above this severity.",
)


def text_or_json_option(help: str = "Output format.") -> Any:
    """``--format text|json`` for verbs whose JSON is ``{findings, summary}`` (or their own document)."""
    return click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help=help
    )


color_option = click.option(
    "--color/--no-color", default=None, help="Force colour on or off (default: only on a terminal)."
)


def exit_code(findings: Iterable[Finding], fail_on: str) -> int:
    if fail_on.lower() == "never":
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else EXIT_OK


def usage_error(message: str) -> Any:
    click.echo(f"premortem: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def manifest_files(paths: Iterable[str]) -> tuple[list[str], bool]:
    """The manifest files behind ``paths`` (default: the current directory), and whether any path
    was missing (reported on stderr; the caller exits 2 after its work). Nothing to read: exit 2."""
    from premortem.load.reader import expand_paths

    targets = list(paths) or ["."]
    files, missing = expand_paths(targets)
    for path in missing:
        click.echo(f"premortem: error: {path}: no such file or directory", err=True)
    if missing and not files:
        raise SystemExit(EXIT_USAGE)
    if not files:
        usage_error(f"no *.yaml, *.yml or *.json files found in {', '.join(targets)}")
    return files, bool(missing)


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
        callback=lambda ctx, param, value: _check_kubernetes_version(ctx, param, value),
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


def render_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options for Helm charts and Kustomize trees met in the input, handed to the verb as one
    ``render`` keyword (a ``RenderSettings``)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from premortem.settings import RenderSettings

        kwargs["render"] = RenderSettings(
            values=tuple(kwargs.pop("render_values")),
            set_values=tuple(kwargs.pop("render_set")),
            namespace=kwargs.pop("render_namespace"),
            release_name=kwargs.pop("render_release"),
            kube_version=kwargs.pop("render_kube_version"),
            helm=kwargs.pop("render_helm"),
            kustomize=kwargs.pop("render_kustomize"),
        )
        return command(*args, **kwargs)

    for option in reversed(_RENDER_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def manifest_inputs(paths: Iterable[str]) -> tuple[InputPlan, bool]:
    """Like ``manifest_files``, with Helm charts and kustomizations met in ``paths`` as render units."""
    from premortem.render.discover import plan_inputs

    targets = list(paths) or ["."]
    plan = plan_inputs(targets)
    for path in plan.missing:
        click.echo(f"premortem: error: {path}: no such file or directory", err=True)
    if plan.missing and not plan.files and not plan.units:
        raise SystemExit(EXIT_USAGE)
    if not plan.files and not plan.units:
        usage_error(
            f"no *.yaml, *.yml or *.json files, charts or kustomizations found in {', '.join(targets)}"
        )
    return plan, bool(plan.missing)


def load_inputs(plan: InputPlan, render: RenderSettings, jobs: int = 1) -> LoadedInputs:
    """Plain files loaded and units rendered. A unit whose tool is missing is reported on stderr here
    (``unrendered``: the caller exits 2 after its work)."""
    from premortem.load.reader import load_paths
    from premortem.render.stage import LoadedInputs, render_units
    from premortem.settings import current

    plain = load_paths(plan.files, jobs=jobs)
    for path, owner in plan.unused:
        plain.skipped.append((path, 1, f"lies in the kustomization {owner} but none of its builds uses it"))
    if not plan.units:
        return LoadedInputs(plain)
    outcome = render_units(plan.units, render, current().kubernetes_version)
    for message in outcome.tool_errors:
        click.echo(f"premortem: error: {message}", err=True)
    return LoadedInputs(plain, outcome.units, bool(outcome.tool_errors), outcome.report)


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
