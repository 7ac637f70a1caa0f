"""Reading a chart's own files (templates, values.yaml, Chart.yaml) from a directory or an archive,
including dependency charts kept as archives under ``charts/``."""

from __future__ import annotations

import os
import tarfile
from functools import lru_cache
from typing import Any

import yaml

from premortem.load import limits


def chart_file_label(chart: str, relative: str) -> str:
    """Where ``relative`` (a path inside the chart) is, as a user opens it: the file under the chart
    directory, or ``ARCHIVE:PATH`` inside a chart archive (the chart itself, or a dependency that
    ``helm dependency build`` left as ``charts/NAME-VERSION.tgz``)."""
    if not os.path.isdir(chart):
        return f"{chart}:{relative}"
    path = os.path.join(chart, relative)
    parts = relative.split("/")
    if not os.path.exists(path) and len(parts) > 2 and parts[0] == "charts":
        for archive in _archives(os.path.join(chart, "charts")):
            if _from_archive(archive, parts[1], "/".join(parts[2:])) is not None:
                return f"{archive}:{'/'.join(parts[2:])}"
    return path


def read_chart_file(chart: str, relative: str) -> str | None:
    """The text of ``relative`` (a path inside the chart, e.g. ``templates/x.yaml`` or
    ``charts/dep/templates/y.yaml``), or None when it cannot be read."""
    if os.path.isdir(chart):
        path = os.path.join(chart, relative)
        if os.path.isfile(path):
            return read_text_file(path)
        parts = relative.split("/")
        if len(parts) > 2 and parts[0] == "charts":  # a dependency kept as an archive
            for archive in _archives(os.path.join(chart, "charts")):
                text = _from_archive(archive, parts[1], "/".join(parts[2:]))
                if text is not None:
                    return text
        return None
    return _from_archive(chart, None, relative)


def chart_metadata(chart: str) -> dict[str, Any]:
    text = read_chart_file(chart, "Chart.yaml")
    try:
        data = limits.safe_load(text) if text else None
    except yaml.YAMLError:
        data = None
    return data if isinstance(data, dict) else {}


def read_text_file(path: str) -> str | None:
    """A text file's content, None when it cannot be read (the caller reports what that means)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _archives(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names if n.endswith((".tgz", ".tar.gz"))]


@lru_cache(maxsize=64)
def _archive_members(archive: str) -> dict[str, str]:
    """Text members of a chart archive by path (the archive's top directory kept)."""
    out: dict[str, str] = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not member.isfile() or member.size > 4 * 1024 * 1024:
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                try:
                    out[member.name] = handle.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    continue
    except (OSError, tarfile.TarError):
        return {}
    return out


def _from_archive(archive: str, top: str | None, relative: str) -> str | None:
    members = _archive_members(archive)
    for name, text in members.items():
        head, _, rest = name.partition("/")
        if rest == relative and (top is None or head == top):
            return text
    return None
