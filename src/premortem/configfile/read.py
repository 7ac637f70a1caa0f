"""Read a config file into plain data plus the line of every key, for errors that say file:line:key."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from premortem.load import limits

KeyPath = tuple[str | int, ...]


class ConfigError(Exception):
    """A config file (or option) that cannot be used: where, which key, and why."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, key: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = self.file or ""
        if self.file and self.line:
            where += f":{self.line}"
        parts = [p for p in (where, self.key) if p]
        return ": ".join([*parts, self.message])


@dataclass
class RawConfig:
    file: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    base_line: int = 1  # the line of the section itself ([tool.premortem]), for keys not found

    def line(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest parent that has one."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return self.base_line

    def where(self, path: KeyPath) -> str:
        return f"{self.file}:{self.line(path)}"


# A config file is a few hundred lines; parsing 4 MB of YAML takes 4 s and 250 MB.
MAX_CONFIG_BYTES = 1024 * 1024


def read_config(path: str) -> RawConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_CONFIG_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read the config file: {reason}", path) from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB: not read (a config file is a few KB)", path
        )
    if os.path.basename(path) == "pyproject.toml":
        return _read_pyproject(path, text)
    return _read_yaml(path, text)


# libyaml's composer (it refuses nesting deeper than 1000 levels) instead of PyYAML's recursive one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOO_DEEP = "nested too deeply (premortem's settings are a few levels deep)"


def _read_yaml(path: str, text: str) -> RawConfig:
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = limits.safe_load(text)
        lines: dict[KeyPath, int] = {}
        _node_lines(node, (), lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", path, line) from None
    except RecursionError:
        raise ConfigError(TOO_DEEP, path) from None
    if data is None:
        return RawConfig(path, {})
    if not isinstance(data, dict):
        raise ConfigError("the config file must be a mapping of keys (select:, ignore:, ...)", path, 1)
    return RawConfig(path, data, lines)


def _node_lines(node: Any, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _node_lines(item, (*path, index), lines)


_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
# A bare key has no dot (TOML): dots only separate the parts, so no two ways to split a dotted key
# exist and the pattern stays linear on a long line without '='.
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)


# tomllib's time is quadratic in the parts of one dotted key (32,000 parts: 19 s): refused before it.
MAX_KEY_PARTS = 64


def load_toml(path: str, text: str) -> dict[str, Any]:
    """``tomllib.loads``, bounded: a ConfigError for invalid TOML, nesting deeper than Python's stack
    and dotted keys long enough to make tomllib run for minutes."""
    for number, line in enumerate(text.splitlines(), start=1):
        if ("=" in line or line.lstrip().startswith("[")) and line.partition("=")[0].count(
            "."
        ) >= MAX_KEY_PARTS:
            raise ConfigError(f"a key of more than {MAX_KEY_PARTS} dotted parts: {TOO_DEEP}", path, number)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"not valid TOML: {exc}", path, int(match.group(1)) if match else None) from None
    except RecursionError:
        raise ConfigError(TOO_DEEP, path) from None


def _read_pyproject(path: str, text: str) -> RawConfig:
    data = load_toml(path, text)
    tool = data.get("tool", {}).get("premortem", {})
    if not isinstance(tool, dict):
        raise ConfigError("[tool.premortem] must be a table", path)
    lines, base = _toml_lines(text)
    return RawConfig(path, tool, lines, base)


def _toml_lines(text: str) -> tuple[dict[KeyPath, int], int]:
    """Lines of the keys under [tool.premortem] (tables, arrays of tables, dotted keys). Values that
    span lines (arrays) are found by their key; that is all error messages need."""
    lines: dict[KeyPath, int] = {}
    base = 1
    table: KeyPath | None = None
    counts: dict[KeyPath, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            parts = _split_key(header.group(2))
            if parts[:2] != ["tool", "premortem"]:
                table = None
                continue
            rest: KeyPath = tuple(parts[2:])
            if header.group(1) == "[[":
                index = counts.get(rest, 0)
                counts[rest] = index + 1
                rest = (*rest, index)
            if not rest:
                base = number
            table = rest
            for end in range(1, len(rest) + 1):
                lines.setdefault(rest[:end], number)
            continue
        if table is None:
            continue
        key = _KEY.match(line)
        if key:
            path = (*table, *_split_key(key.group(1)))
            for end in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:end], number)
    return lines, base


def _split_key(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r""""[^"]*"|'[^']*'|[^.]+""", text)]
