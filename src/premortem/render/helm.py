"""Render a Helm chart with ``helm template`` and locate rendered fields in its templates and values.

Each document of the output follows a ``# Source: CHART/templates/...`` header naming the template
that produced it. A finding on a rendered object is moved to that template (the path inside the chart
as the header gives it, under the chart directory as named) at the line whose key path matches the
offending field (template_index.py), and, where the template takes the value from ``.Values``, to
the values file and line that set it (values.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from premortem.configfile.exclude import as_typed, spelled_like
from premortem.load.document import Document, Path
from premortem.render.chartfiles import chart_file_label, chart_metadata, read_chart_file
from premortem.render.discover import RenderUnit
from premortem.render.rendered import Location, RenderFailure
from premortem.render.template_index import KeyLine, Segment, index_template, values_refs
from premortem.render.tools import OFFLINE_ENV, find_helm, run
from premortem.render.values import locate_value, values_sources
from premortem.settings import RenderSettings

_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)
_TEMPLATE_ERROR = re.compile(r"(?:template: |\()([^\s():]+\.(?:ya?ml|tpl|txt|json)):(\d+)")
_DEFAULT_NAMESPACE = "default"


@dataclass
class HelmRender:
    """``helm template`` output, or the reason there is none."""

    stream: str = ""
    failure: RenderFailure | None = None
    chart: ChartContext | None = None


@dataclass
class ChartContext:
    """What locating a field needs: the chart, how it was named, the values given, the output's headers."""

    path: str
    values: tuple[str, ...]
    set_values: tuple[str, ...]
    headers: list[tuple[int, str]] = field(default_factory=list)  # (1-based stream line, source)

    def source_at(self, stream_line: int) -> tuple[str | None, int]:
        """The ``# Source:`` of the document at ``stream_line`` and how many documents of that template
        came before it."""
        current: str | None = None
        seen: dict[str, int] = {}
        occurrence = 0
        for line, source in self.headers:
            if line > stream_line:
                break
            current = source
            occurrence = seen.get(source, 0)
            seen[source] = occurrence + 1
        return current, occurrence

    def file_of(self, source: str) -> str:
        return chart_file_label(self.path, source.split("/", 1)[1] if "/" in source else source)


def render_chart(
    unit: RenderUnit, settings: RenderSettings, kube_version: str | None, root: str | None = None
) -> HelmRender:
    tool = find_helm(settings.helm)  # raises ToolMissing
    meta = chart_metadata(unit.path)
    if meta.get("type") == "library":
        return HelmRender(stream="")
    name = settings.release_name or _release_name(meta, unit.path)
    values = (*chart_values_for(unit.path, settings, root), *settings.values)
    args = [
        "template",
        name,
        unit.path,
        "--namespace",
        settings.namespace or _DEFAULT_NAMESPACE,
        "--skip-tests",
    ]
    for path in values:
        args += ["--values", path]
    for assignment in settings.set_values:
        args += ["--set", assignment]
    version = settings.kube_version or kube_version
    if version:
        args += ["--kube-version", version]
    env = {**os.environ, **OFFLINE_ENV, "HELM_NAMESPACE": settings.namespace or _DEFAULT_NAMESPACE}
    done = run(tool, args, env=env)
    chart_file = os.path.join(unit.path, "Chart.yaml") if os.path.isdir(unit.path) else unit.path
    if done.returncode != 0:
        message = _helm_message(done.stderr or done.stdout)
        file, line = chart_file, _dependency_line(chart_file, message)
        located = _TEMPLATE_ERROR.search(message)
        if located and os.path.isdir(unit.path):
            candidate = os.path.join(unit.path, located.group(1).split("/", 1)[-1])
            if os.path.isfile(candidate):
                file, line = candidate, int(located.group(2))
        return HelmRender(failure=RenderFailure(message, file, line, _fix_for(message, unit.path)))
    context = ChartContext(unit.path, values, settings.set_values)
    stream = done.stdout
    context.headers = [(stream.count("\n", 0, m.start()) + 1, m.group(1)) for m in _SOURCE.finditer(stream)]
    return HelmRender(stream=stream, chart=context)


def chart_values_for(chart: str, settings: RenderSettings, root: str | None = None) -> tuple[str, ...]:
    """Values files the settings give for this chart (the config file's ``render.chart-values``, paths
    relative to its directory), applied before any ``-f``; spelled as the chart is (absolute for a chart
    named by an absolute path, else relative to the current directory, with its leading ``./``)."""
    base = root or os.getcwd()
    target = os.path.normpath(os.path.abspath(chart))

    def spell(path: str) -> str:
        return os.path.abspath(path) if os.path.isabs(chart) else spelled_like(chart, as_typed(path))

    for key, files in settings.chart_values.items():
        if os.path.normpath(os.path.join(base, key)) == target:
            return tuple(spell(os.path.join(base, f)) for f in files)
    return ()


def _release_name(meta: dict[str, Any], path: str) -> str:
    name = meta.get("name")
    if isinstance(name, str) and name:
        return name
    return os.path.basename(os.path.normpath(path)) or "release-name"


def _dependency_line(chart_file: str, message: str) -> int:
    """The Chart.yaml line of the first dependency Helm says is missing (1 if none is named)."""
    missing = re.search(r"missing in charts/ directory: ([\w.-]+)", message)
    text = read_chart_file(os.path.dirname(chart_file), "Chart.yaml") if missing else None
    if missing is None or text is None:
        return 1
    pattern = re.compile(rf"^\s*-?\s*name:\s*[\"']?{re.escape(missing.group(1))}[\"']?\s*$")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def _helm_message(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("walk.go:", "WARNING:"))] or lines
    message = " ".join(lines).removeprefix("Error: ")
    return message.replace(" Use --debug flag to render out invalid YAML", "")


def _fix_for(message: str, chart: str) -> str:
    if "helm dependency build" in message or "missing in charts/" in message:
        return f"Run `helm dependency build {chart}` (it fetches the dependencies into charts/), then scan again."
    if "required" in message or "nil pointer evaluating" in message:
        return (
            "Give the chart the values it needs (-f FILE or --set KEY=VALUE, as you would to helm install); "
            f"`helm template {chart}` shows the same error."
        )
    return f"Fix what Helm reports; `helm template {chart}` shows the same error."


class HelmOrigin:
    """Where a rendered document came from: one template of one chart."""

    __slots__ = ("chart", "occurrence", "source", "stream_line")

    def __init__(self, chart: ChartContext, source: str, occurrence: int, stream_line: int) -> None:
        self.chart = chart
        self.source = source
        self.occurrence = occurrence
        self.stream_line = stream_line

    def locate(self, doc: Document, path: Path) -> Location:
        chart = self.chart
        relative = self.source.split("/", 1)[1] if "/" in self.source else self.source
        file = chart.file_of(self.source)
        info: dict[str, Any] = {
            "tool": "helm",
            "chart": chart.path,
            "template": self.source,
            "line": None,
            "line_is_guess": True,
            "rendered_line": doc.line_of(path),
        }
        segment = _pick_segment(_segments(chart.path, relative), doc.kind, self.occurrence)
        if segment is None:
            info["line"] = 1
            return Location(file, 1, info)
        strings = tuple(p for p in path if isinstance(p, str))
        line, column, matched, candidates = _match(segment, path, doc.obj, doc.kind)
        info["line"] = line
        info["line_is_guess"] = matched < len(strings) or candidates != 1
        info["matched_path"] = ".".join(strings[:matched])
        if path:
            _add_values(info, chart, relative, segment, line, column, path, strings, matched)
        return Location(file, line, info)

    def start(self, doc: Document) -> tuple[str, int] | None:
        relative = self.source.split("/", 1)[1] if "/" in self.source else self.source
        segment = _pick_segment(_segments(self.chart.path, relative), doc.kind, self.occurrence)
        if segment is None:
            return None
        return self.chart.file_of(self.source), segment.keys[0].line if segment.keys else segment.start


@lru_cache(maxsize=256)
def _segments(chart: str, relative: str) -> tuple[Segment, ...]:
    text = read_chart_file(chart, relative)
    return tuple(index_template(text)) if text is not None else ()


def _pick_segment(segments: tuple[Segment, ...], kind: str | None, occurrence: int) -> Segment | None:
    if not segments:
        return None
    of_kind = [s for s in segments if s.kind_line(kind) is not None]
    if len(of_kind) == 1:
        return of_kind[0]
    with_keys = of_kind or [s for s in segments if s.keys] or list(segments)
    return with_keys[min(occurrence, len(with_keys) - 1)]


def _match(segment: Segment, path: Path, obj: Any, kind: str | None) -> tuple[int, int, int, int]:
    """(line, column, parts matched, candidates) of the key line deepest along ``path``'s keys; among
    lines of equal depth, the one in the list item named like the rendered item (a container's name
    written literally), else in the item at the rendered position."""
    strings = tuple(p for p in path if isinstance(p, str))
    best: list[KeyLine] = []
    depth = 0
    for key in segment.keys:
        keys = key.keys
        if len(keys) > len(strings) or len(keys) < depth:
            continue
        if all(k == "*" or k == s for k, s in zip(keys, strings, strict=False)):
            if len(keys) > depth:
                depth, best = len(keys), [key]
            elif len(keys) == depth:
                best.append(key)
    if depth == 0 or not best:
        line = segment.kind_line(kind) or (segment.keys[0].line if segment.keys else segment.start)
        return line, 0, 0, 1 if not strings else 0
    if len(best) == 1:
        return best[0].line, best[0].column, depth, 1
    indexes = tuple(p for p in path if isinstance(p, int))
    names = _item_names(obj, path)

    def score(key: KeyLine) -> tuple[int, int]:
        named = sum(
            1
            for line, name in zip(key.item_lines, names, strict=False)
            if name and re.search(rf"name:\s*[\"']?{re.escape(name)}[\"']?\s*$", segment.text_of(line))
        )
        placed = 0
        for mine, theirs in zip(key.items, indexes, strict=False):
            if mine != theirs:
                break
            placed += 1
        return named, placed

    ranked = sorted(best, key=score, reverse=True)
    top = score(ranked[0])
    ties = sum(1 for key in ranked if score(key) == top)
    return ranked[0].line, ranked[0].column, depth, ties


def _item_names(obj: Any, path: Path) -> list[str | None]:
    """The ``name`` of each list item the rendered path passes through (None where it has none)."""
    names: list[str | None] = []
    node = obj
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            names.append(name if isinstance(name, str) else None)
            node = item
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return names


def _add_values(
    info: dict[str, Any],
    chart: ChartContext,
    relative: str,
    segment: Segment,
    line: int,
    column: int,
    path: Path,
    strings: tuple[str, ...],
    matched: int,
) -> None:
    refs = values_refs(segment, line, column)
    # The rendered path below the matched key continues inside the value (e.g. limits.memory under
    # resources: {{ toYaml .Values.resources }}).
    remainder: list[str | int] = []
    if matched < len(strings):
        seen = 0
        for index, part in enumerate(path):
            if isinstance(part, str):
                seen += 1
                if seen == matched:
                    remainder = list(path[index + 1 :])
                    break
    leaf = strings[matched - 1] if matched else ""
    following = next((p for p in remainder if isinstance(p, str)), None)
    ref = None
    for candidate in (*refs.on_line, *refs.scope, *refs.block):
        last = candidate.rsplit(".", 1)[-1]
        if last == leaf:
            ref = candidate
            break
        if following is not None and last == following:
            ref = candidate
            remainder = remainder[remainder.index(following) + 1 :]
            break
    if ref is None and refs.on_line:
        # Several values on the line, none named like the key: the last one. In an image reference
        # ("{{ .Values.image.repository }}:{{ .Values.image.tag }}") that is the tag or digest, the
        # part the image rules judge and the value a release changes.
        ref = refs.on_line[-1]
    if ref is None and refs.scope and refs.uses_dot:
        ref = refs.scope[0]
    if ref is None:
        return
    key: tuple[str | int, ...] = (*ref.split("."), *remainder)
    subcharts = tuple(re.findall(r"(?:^|/)charts/([^/]+)", relative.rsplit("/templates/", 1)[0]))
    sources = values_sources(chart.path, subcharts, chart.values)
    hit = locate_value(sources, key, chart.set_values)
    if hit is None:
        return
    info["values_file"] = hit.file
    info["values_line"] = hit.line
    info["values_key"] = hit.key
    info["values_key_is_set"] = hit.exact
