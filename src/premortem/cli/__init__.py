"""The ``premortem`` command. Verbs live in their own modules and are imported only when used,
so ``premortem --version`` and a one-file scan start fast."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import os
import sys
import threading
from typing import Any

# verb -> "module:attribute"; a new verb adds one line here and its own module.
COMMANDS = {
    "scan": "premortem.cli.scan:scan",
    "rules": "premortem.cli.rules:rules",
    "explain": "premortem.cli.rules:explain",
    "capacity": "premortem.cli.capacity:capacity",
    "fix": "premortem.cli.fix:fix",
    "diagnose": "premortem.cli.diagnose:diagnose",
    "etcd": "premortem.cli.etcd:etcd",
    "config": "premortem.cli.config:config",
}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from premortem import __version__

        sys.stdout.write(f"premortem {__version__}\n")
        sys.exit(0)
    cli = _build()
    cli.main(args=args, prog_name="premortem")


# The exception that ended ``main``, kept until the process ends (see ``run``).
_FINISHED: list[BaseException] = []


def run() -> None:
    """The ``premortem`` command: ``main``, then an exit that skips freeing every object one by one.

    A scan of 100,000 objects holds a few million small Python objects when it is done; letting the
    interpreter tear them down took 1.4 s after the report was written. The output is flushed and
    the exit handlers run (temporary files, multiprocessing), then the process ends with the same
    code ``sys.exit`` would give. With another thread still running, the normal exit waits for it."""
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        # Its traceback holds the frames of the verb, and they hold the scan: once ``exc`` is let go
        # at the end of this block, every object would be freed one by one (0.4 s at 100,000).
        _FINISHED.append(exc)
    else:
        code = 0
    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed on stderr, status 1
        sys.stderr.write(f"{code}\n")
        status = 1
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`| head`) or a closed stream: there is nothing more to write to it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)


def _build() -> Any:
    import click

    from premortem import __version__

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(name for name, target in COMMANDS.items() if _available(target))

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            target = COMMANDS.get(name)
            if target is None:
                return None
            if not _available(target):
                return None
            module_name, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            """Each verb with the whole first line of its help (click would cut it to fit)."""
            rows = []
            for name in self.list_commands(ctx):
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, (command.help or "").strip().split("\n")[0]))
            if rows:
                with formatter.section("Commands"):
                    formatter.write_dl(rows)

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "--version", "-V", prog_name="premortem")
    def cli() -> None:
        """Find the next Kubernetes outage in your configuration before it happens."""

    return cli


def _available(target: str) -> bool:
    """A verb whose module is not part of this build is simply not offered."""
    return importlib.util.find_spec(target.split(":")[0]) is not None
