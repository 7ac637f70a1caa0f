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
        return path != "-" and spec.match_file(relative_to(path, root))

    return excluded


def relative_to(path: str, base: str) -> str:
    """``path`` relative to ``base`` with '/' separators (as given, normalised, when outside it)."""
    relative = os.path.relpath(os.path.abspath(path), base)
    if relative.startswith(".."):
        relative = os.path.normpath(path)
    return relative.replace(os.sep, "/")


def without_excluded(files: list[str], settings: Settings) -> tuple[list[str], int]:
    """``files`` minus the excluded ones (and the config file itself), and how many were excluded."""
    config = os.path.abspath(settings.config_file) if settings.config_file else None
    candidates = [f for f in files if config is None or os.path.abspath(f) != config]
    excluded = exclusion(settings)
    kept = [f for f in candidates if not excluded(f)]
    return kept, len(candidates) - len(kept)
