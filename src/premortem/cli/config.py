"""``premortem config``: the effective settings for a run over PATHS, and where each one came from."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from premortem.cli.options import exclude_option, load_settings, settings_options


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@settings_options
@exclude_option
@click.option("--nodes", default=None, metavar="SPEC|FILE", help="As for scan.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config(paths: tuple[str, ...], fmt: str, **options: Any) -> None:
    """Show the effective settings (defaults <- config file <- command line) and their sources."""
    from premortem.configfile.schema import config_fields
    from premortem.settings import Settings

    settings = load_settings(paths, options)
    values = _plain(settings, config_fields(Settings))
    sources = {_kebab(k): v for k, v in settings.sources.items()}
    # Rule parameters as the config file spells them (overcommit-ratio), so they can be copied into
    # it; Settings (and the JSON's settings.params, a contract) keep the rules' own snake_case names.
    written = _params_as_written(values.get("params", {}))
    if fmt == "json":
        report = {"config_file": settings.config_file, "settings": values, "sources": sources}
        click.echo(json.dumps({**report, "config_params": written}, indent=2))
        return
    if "params" in values:
        values["params"] = written
    from premortem.redact import terminal_safe  # values are the file's text: no escapes reach the terminal

    click.echo(
        terminal_safe(
            f"# config file: {settings.config_file or 'none found (defaults and command line only)'}", False
        )
    )
    for line in _lines(values, sources, ""):
        click.echo(terminal_safe(line, keep_newlines=False))


def _kebab(name: str) -> str:
    return name.replace("_", "-")


def _params_as_written(params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule: {_kebab(name): value for name, value in given.items()} for rule, given in params.items()}


def _plain(value: Any, fields: dict[str, Any] | None = None) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        from premortem.configfile.schema import config_fields

        names = fields or config_fields(type(value))
        return {key: _plain(getattr(value, f.name)) for key, f in names.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _lines(values: dict[str, Any], sources: dict[str, str], prefix: str) -> list[str]:
    out = []
    indent = "  " * prefix.count(".")
    for key, value in values.items():
        source = sources.get(prefix + key, "")
        if (
            isinstance(value, dict)
            and value
            and prefix + key in {s.rsplit(".", 1)[0] for s in sources if "." in s}
        ):
            out.append(f"{indent}{key}:")
            out.extend(_lines(value, sources, f"{prefix}{key}."))
            continue
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        out.append(f"{indent}{key}: {text}".ljust(48) + (f"  # {source}" if source else ""))
    return out
