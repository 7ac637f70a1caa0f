"""Where a Helm value is set: the last ``--set`` or ``-f`` file that sets it, else the chart's
``values.yaml`` (for a dependency chart: the parent's values under the dependency's name, then its
own ``values.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from premortem.render.chartfiles import chart_file_label, read_chart_file, read_text_file

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class ValuesSource:
    """One values file (``label`` as shown to the user) and the key prefix its keys sit under."""

    label: str
    text: str | None
    prefix: Key = ()


@dataclass(frozen=True)
class ValuesHit:
    file: str
    line: int | None
    key: str
    exact: bool  # the whole key is set there (else: its deepest existing parent)


def values_sources(chart: str, subcharts: tuple[str, ...], files: tuple[str, ...]) -> list[ValuesSource]:
    """Values sources in precedence order, highest first, for a template of the dependency chain
    ``subcharts`` (empty for the chart itself): the ``-f`` files (last first), then the chart's
    ``values.yaml``, then each dependency's own, the deepest last."""
    out = [ValuesSource(path, read_text_file(path), subcharts) for path in reversed(files)]
    for depth in range(len(subcharts) + 1):
        relative = "".join(f"charts/{name}/" for name in subcharts[:depth])
        inside = f"{relative}values.yaml"
        out.append(
            ValuesSource(chart_file_label(chart, inside), read_chart_file(chart, inside), subcharts[depth:])
        )
    return out


def locate_value(sources: list[ValuesSource], key: Key, set_values: tuple[str, ...]) -> ValuesHit | None:
    """The highest-precedence source that sets ``key``; when none sets all of it, the highest one that
    sets its deepest parent (at least the first part)."""
    dotted = _dotted(key)
    for assignment in reversed(set_values):
        name = assignment.split("=", 1)[0]
        if name == dotted or dotted.startswith(name + ".") or name.startswith(dotted + "."):
            return ValuesHit("--set", None, name, name == dotted)
    best: tuple[int, ValuesSource, int] | None = None
    empty: ValuesHit | None = None
    for source in sources:
        if source.text is None:
            continue
        full = (*source.prefix, *key)
        depth, line, node = _deepest(_compose(source.text), full)
        depth -= len(source.prefix)
        if depth == len(key):
            hit = ValuesHit(source.label, line, _dotted(full), True)
            if not _is_empty(node):
                return hit
            # {} merges with what a lower-precedence file sets: that one decides.
            empty = empty or hit
        elif depth >= 1 and (best is None or depth > best[0]):
            best = (depth, source, line)
    if empty is not None:
        return empty
    if best is None:
        return None
    depth, source, line = best
    return ValuesHit(source.label, line, _dotted((*source.prefix, *key[:depth])), False)


def _dotted(key: Key) -> str:
    return ".".join(str(k) for k in key)


def _is_empty(node: Any) -> bool:
    """An empty mapping: Helm merges it with the mappings below it (null would delete the default,
    and a list replaces it, so those decide themselves)."""
    return isinstance(node, yaml.MappingNode) and not node.value


@lru_cache(maxsize=128)
def _compose(text: str) -> Any:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def _deepest(node: Any, key: Key) -> tuple[int, int, Any]:
    """How many parts of ``key`` exist under ``node``, the 1-based line of the deepest one, its node."""
    depth = 0
    line = 1
    for part in key:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == str(part):
                    found = (key_node.start_mark.line + 1, value_node)
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            item = node.value[part]
            found = (item.start_mark.line + 1, item)
        if found is None:
            break
        line, node = found
        depth += 1
    return depth, line, node
