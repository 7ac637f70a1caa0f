"""Options shared by several verbs, and the exit-code policy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from premortem.findings import SEVERITIES, Finding, Severity

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
