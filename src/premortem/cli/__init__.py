"""The ``premortem`` command. Verbs live in their own modules and are imported only when used,
so ``premortem --version`` and a one-file scan start fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

# verb -> "module:attribute"; a new verb adds one line here and its own module.
COMMANDS = {
    "scan": "premortem.cli.scan:scan",
    "rules": "premortem.cli.rules:rules",
    "explain": "premortem.cli.rules:explain",
}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from premortem import __version__

        sys.stdout.write(f"premortem {__version__}\n")
        sys.exit(0)
    cli = _build()
    cli.main(args=args, prog_name="premortem")


def _build() -> Any:
    import click

    from premortem import __version__

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            target = COMMANDS.get(name)
            if target is None:
                return None
            module_name, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "--version", "-V", prog_name="premortem")
    def cli() -> None:
        """Find the next Kubernetes outage in your configuration before it happens."""

    return cli
