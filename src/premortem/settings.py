"""One typed settings object for every verb: defaults <- config file <- command line.

Every verb builds a ``Settings`` and passes it down; nothing reads ad-hoc option dicts. Rules read
their tunable thresholds with ``Rule.param(name)`` (see rules/registry.py), which looks at the
settings of the scan in progress (``use_settings``) and falls back to the default the rule declares.

``sources`` records where each setting came from ("default", "FILE:LINE", "--flag") for
``premortem config``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# One input (file, stdin, log, decompressed stream) larger than this is refused with a message.
DEFAULT_MAX_INPUT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RenderSettings:
    """How Helm charts and Kustomize trees met in the input are rendered before loading."""

    values: tuple[str, ...] = ()  # -f/--values files, applied in order
    set_values: tuple[str, ...] = ()  # --set KEY=VALUE
    namespace: str | None = None
    release_name: str | None = None
    kube_version: str | None = None
    helm: str | None = None  # path to the helm binary (default: helm on PATH)
    kustomize: str | None = None  # path to kustomize or kubectl (default: kubectl kustomize)
    # Chart directory -> values files applied to it before any -f (the config file's per-chart values).
    chart_values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignore:
    """A reasoned suppression from the config file: these rules, on these paths and/or objects."""

    rules: tuple[str, ...] = ()  # rule ids, names or categories
    paths: tuple[str, ...] = ()  # gitignore-style globs, relative to the config file's directory
    objects: tuple[str, ...] = ()  # "Kind namespace/name" or "Kind name", fnmatch globs
    containers: tuple[str, ...] = ()  # only findings about these containers (globs)
    reason: str = ""
    where: str = field(default="", metadata={"config": False})  # "FILE:LINE" of the entry


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # gitignore-style globs
    fail_on: str = "high"
    severity: dict[str, str] = field(default_factory=dict)  # rule id -> severity label
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> name -> value
    nodes: str | None = None
    kubernetes_version: str | None = None  # None: the newest release the rules know
    jobs: int = 0  # 0: one worker per available core
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    render: RenderSettings = field(default_factory=RenderSettings)
    # Reporting (premortem/report, premortem/triage): what is shown, what is compared.
    min_severity: str = "info"  # findings below are not reported
    baseline: str | None = None  # report only findings not recorded in this baseline file
    ignores: tuple[Ignore, ...] = ()  # reasoned per-path / per-object suppressions
    # Where the config file was found (None: no config file); globs and paths in it are relative to root.
    config_file: str | None = field(default=None, metadata={"config": False})
    root: str | None = field(default=None, metadata={"config": False})
    sources: dict[str, str] = field(default_factory=dict, metadata={"config": False})


_ACTIVE: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("premortem_settings", default=None)


def current() -> Settings:
    """The settings of the run in progress (defaults outside ``use_settings``)."""
    active = _ACTIVE.get()
    return active if active is not None else _DEFAULT


@contextlib.contextmanager
def use_settings(settings: Settings | None) -> Iterator[Settings]:
    """Make ``settings`` the ones rules see while the block runs."""
    chosen = settings if settings is not None else _DEFAULT
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)


_DEFAULT = Settings()
