"""Small helpers shared by fixers: JSON pointers back to paths, and the container a finding names."""

from __future__ import annotations

from typing import Any

from premortem.findings import Finding
from premortem.load.document import Document, Path
from premortem.model.podspec import pod_spec_at


def parse_pointer(pointer: str) -> Path:
    """RFC 6901 pointer -> path (digits become list indexes)."""
    if not pointer:
        return ()
    parts: list[str | int] = []
    for raw in pointer.lstrip("/").split("/"):
        text = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(text) if text.isdigit() else text)
    return tuple(parts)


def pointer_path(finding: Finding) -> Path:
    return parse_pointer(finding.path)


def get(obj: Any, path: Path) -> Any:
    """Value at ``path`` or None."""
    value = obj
    for part in path:
        if isinstance(part, str) and isinstance(value, dict):
            value = value.get(part)
        elif isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value


def container_path(doc: Document, path: Path, name: str | None = None) -> Path | None:
    """Path of the container that ``path`` points into (or the one called ``name``)."""
    pod = pod_spec_at(doc, path)
    if pod is None:
        return None
    views = list(pod.containers(include_ephemeral=True))
    for view in views:
        if path[: len(view.path)] == view.path:
            return view.path
    for view in views:
        if name is not None and view.name == name:
            return view.path
    return None


def container_at(doc: Document, path: Path, name: str | None = None) -> dict[str, Any] | None:
    found = container_path(doc, path, name)
    value = get(doc.obj, found) if found is not None else None
    return value if isinstance(value, dict) else None
