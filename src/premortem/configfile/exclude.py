"""``exclude``: gitignore-style globs (pathspec's gitignore semantics), relative to the config file's
directory, or to the current directory without a config file."""

from __future__ import annotations

import os
from collections.abc import Callable

from premortem.settings import Settings


def exclusion(settings: Settings) -> Callable[[str], bool]:
    """A predicate: is this file excluded by ``settings.exclude``?"""
    if not settings.exclude:
        return lambda path: False
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(settings.exclude)
    root = settings.root or os.getcwd()

    def excluded(path: str) -> bool:
        if path == "-":
            return False
        relative = relative_to(path, root)
        # A chart or kustomization is a directory: "charts/app/" (gitignore's directory-only form)
        # must match it, and pathspec knows a directory only by its trailing slash.
        if os.path.isdir(path) and not relative.endswith("/"):
            relative += "/"
        return spec.match_file(relative)

    return excluded


def relative_to(path: str, base: str) -> str:
    """``path`` relative to ``base`` with '/' separators (as given, normalised, when outside it)."""
    relative = os.path.relpath(os.path.abspath(path), base)
    if relative.startswith(".."):
        relative = os.path.normpath(path)
    return relative.replace(os.sep, "/")


def as_typed(path: str) -> str:
    """A path premortem found or resolved (the config file, the values files it names) as a user in
    the current directory would type it, relative to it (``../charts/app/values.yaml`` beside a chart
    named ``../charts/app``): reports, GitHub annotations and SARIF then name repository files the way
    they name the files given."""
    return os.path.relpath(os.path.abspath(path))


def spelled_like(reference: str, path: str) -> str:
    """``path`` (relative, normalised) with the leading ``./`` of ``reference`` when it has one:
    `premortem scan .` names its plain files ./x.yaml and its units ./overlays/prod, so their origin
    files and patches are ./base/x.yaml too, and one file is never reported under two spellings."""
    dot = f".{os.sep}"
    if reference.startswith(dot) and not path.startswith(".") and not os.path.isabs(path):
        return dot + path
    return path


def without_excluded(files: list[str], settings: Settings) -> tuple[list[str], int]:
    """``files`` minus the excluded ones, and how many were excluded. premortem's own files (the config
    file, the baseline) are never manifests: left out, not counted as excluded."""
    own = {os.path.abspath(f) for f in (settings.config_file, settings.baseline) if f}
    candidates = [f for f in files if not own or os.path.abspath(f) not in own]
    excluded = exclusion(settings)
    kept = [f for f in candidates if not excluded(f)]
    return kept, len(candidates) - len(kept)
