"""Where the config file is: ``.premortem.yaml`` or ``[tool.premortem]`` in ``pyproject.toml``, in the
scanned path's directory or the nearest one above it, up to the repository root (the directory that
holds ``.git``). In one directory ``.premortem.yaml`` wins over ``pyproject.toml``."""

from __future__ import annotations

import os
from collections.abc import Iterable

CONFIG_NAME = ".premortem.yaml"
PYPROJECT = "pyproject.toml"


def find_config(paths: Iterable[str] = ()) -> str | None:
    """The config file that applies to ``paths`` (the first real path; the current directory for
    stdin or no path), or None."""
    start = next((p for p in paths if p != "-"), ".")
    directory = os.path.abspath(start)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        candidate = os.path.join(directory, CONFIG_NAME)
        if os.path.isfile(candidate):
            return candidate
        pyproject = os.path.join(directory, PYPROJECT)
        if os.path.isfile(pyproject) and _has_tool_section(pyproject):
            return pyproject
        parent = os.path.dirname(directory)
        if os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            return None
        directory = parent


def _has_tool_section(pyproject: str) -> bool:
    """Whether ``pyproject`` has ``[tool.premortem]``; a broken pyproject.toml is reported when it is
    read (find_config then returns it), not skipped."""
    from premortem.configfile.read import MAX_CONFIG_BYTES, ConfigError, load_toml

    try:
        with open(pyproject, encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError:
        return False
    try:
        if len(text) > MAX_CONFIG_BYTES:  # read_config says so, if it is premortem's
            raise ConfigError("too large", pyproject)
        data = load_toml(pyproject, text)
    except ConfigError:
        return "[tool.premortem" in text
    tool = data.get("tool")
    return isinstance(tool, dict) and "premortem" in tool
