"""Kustomize patches and origin files: which document of a file an object came from, and which patch
of a kustomization sets a field of it (strategic-merge or JSON 6902, from a file or inline)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

import yaml

from premortem.configfile.exclude import spelled_like
from premortem.load import limits
from premortem.load.document import Document, Path
from premortem.load.reader import load_file
from premortem.render.chartfiles import read_text_file

_IDENTIFYING = frozenset({("metadata", "name"), ("metadata", "namespace"), ("kind",), ("apiVersion",)})
_MERGE_KEYS = ("name", "containerPort", "mountPath", "port", "ip", "topologyKey")


@lru_cache(maxsize=256)
def _documents(path: str) -> tuple[Document, ...]:
    return tuple(load_file(path).documents)


def find_source_doc(path: str, rendered: Document) -> Document | None:
    """The document of ``path`` the rendered object was built from: same kind, and the name the
    rendered one was made from (name prefixes and suffixes added), else the only one of its kind."""
    candidates = [d for d in _documents(path) if d.kind == rendered.kind]
    if not candidates:
        return None
    name = rendered.ref.name or ""
    exact = [d for d in candidates if d.ref.name == name]
    if exact:
        return exact[0]
    inside = [d for d in candidates if d.ref.name and d.ref.name in name]
    if inside:
        return max(inside, key=lambda d: len(d.ref.name or ""))
    return candidates[0]


def translate_path(rendered: Any, source: Any, path: Path) -> tuple[Path, bool]:
    """``path`` of the rendered object as a path of ``source`` (list items matched by their merge key,
    e.g. a container's name), and whether all of it exists there."""
    out: list[str | int] = []
    for part in path:
        if isinstance(part, str):
            if not isinstance(source, dict) or part not in source:
                return tuple(out), False
            out.append(part)
            rendered = rendered.get(part) if isinstance(rendered, dict) else None
            source = source[part]
            continue
        if not isinstance(source, list):
            return tuple(out), False
        item = rendered[part] if isinstance(rendered, list) and 0 <= part < len(rendered) else None
        index = _same_item(item, source)
        if index is None:
            if item is not None and not isinstance(item, dict) and item in source:
                index = source.index(item)
            elif 0 <= part < len(source) and not isinstance(item, dict):
                index = part
            else:
                return tuple(out), False
        out.append(index)
        rendered, source = item, source[index]
    return tuple(out), True


def _same_item(item: Any, items: list[Any]) -> int | None:
    if not isinstance(item, dict):
        return None
    for key in _MERGE_KEYS:
        if key in item:
            for index, candidate in enumerate(items):
                if isinstance(candidate, dict) and candidate.get(key) == item[key]:
                    return index
            return None
    return None


# --- patches ---------------------------------------------------------------------------------------


def find_patch(
    kustomization: str, doc: Document, original_name: str, path: Path
) -> tuple[str, int, bool] | None:
    """(file, line, whole) of the last patch of ``kustomization`` that targets ``doc`` and reaches
    ``path``; ``whole``: the patch sets its value outright (a scalar, or a JSON 6902 operation), rather
    than merging some fields into a mapping or list the object already had."""
    if not path:
        return None
    data, root = _kustomization(kustomization)
    if not isinstance(data, dict):
        return None
    directory = os.path.dirname(kustomization)
    found: tuple[str, int, bool] | None = None
    for text, file, offset, target in _patch_texts(data, root, kustomization, directory):
        hit = _in_patch(text, target, doc, original_name, path)
        if hit is not None:
            found = (file, hit[0] + offset, hit[1])
    return found


@lru_cache(maxsize=128)
def _kustomization(path: str) -> tuple[Any, Any]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
        return limits.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None, None


def _patch_texts(
    data: dict[str, Any], root: Any, kustomization: str, directory: str
) -> list[tuple[str, str, int, dict[str, Any] | None]]:
    """(text, file, line offset, target) of every patch, in the order kustomize applies them."""
    out: list[tuple[str, str, int, dict[str, Any] | None]] = []
    for key in ("patchesStrategicMerge", "patchesJson6902", "patches"):
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        nodes = _value_node(root, key)
        for index, entry in enumerate(entries):
            node = nodes.value[index] if nodes is not None and index < len(nodes.value) else None
            target = entry.get("target") if isinstance(entry, dict) else None
            target = target if isinstance(target, dict) else None
            if isinstance(entry, str) and "\n" not in entry.strip():
                entry = {"path": entry}
            elif isinstance(entry, str):
                entry = {"patch": entry}
                node = _wrap(node)
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("path"), str):
                file = spelled_like(directory, os.path.normpath(os.path.join(directory, entry["path"])))
                text = read_text_file(file)
                if text is not None:
                    out.append((text, file, 0, target))
            elif isinstance(entry.get("patch"), str):
                out.append(
                    (entry["patch"], kustomization, _inline_offset(_value_node(node, "patch")), target)
                )
    return out


def _wrap(node: Any) -> Any:
    """An inline patch given as a bare string: a mapping node {patch: node} for _value_node."""
    return yaml.MappingNode(
        "tag:yaml.org,2002:map", [(yaml.ScalarNode("tag:yaml.org,2002:str", "patch"), node)]
    )


def _value_node(node: Any, key: str) -> Any:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


def _inline_offset(node: Any) -> int:
    """Lines to add to a 1-based line of an inline patch to get the kustomization's line."""
    if not isinstance(node, yaml.ScalarNode):
        return 0
    if node.style in ("|", ">"):
        return node.start_mark.line + 1
    return node.start_mark.line


def _in_patch(
    text: str, target: dict[str, Any] | None, doc: Document, original_name: str, path: Path
) -> tuple[int, bool] | None:
    """The 1-based line (in ``text``) where this patch reaches ``path`` of ``doc``, if it does, and
    whether it sets the value outright."""
    try:
        roots = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if target is not None and not _targets(target, doc, original_name):
        return None
    pointer = [str(p) for p in path]
    for root in roots:
        if isinstance(root, yaml.SequenceNode):  # JSON 6902 operations
            if target is None:
                continue
            line = None
            for op in root.value:
                op_path = _value_node(op, "path")
                if not isinstance(op_path, yaml.ScalarNode):
                    continue
                parts = [p.replace("~1", "/").replace("~0", "~") for p in op_path.value.split("/")[1:]]
                if parts and parts == pointer[: len(parts)]:
                    line = op.start_mark.line + 1
            if line is not None:
                return line, True
            continue
        if not isinstance(root, yaml.MappingNode):
            continue
        if target is None and not _names(root, doc, original_name):
            continue
        if tuple(path[:2]) in _IDENTIFYING:
            continue  # a strategic-merge patch names its target with these; it does not set them
        found = _set_by(root, doc.obj, path)
        if found is not None:
            return found
    return None


def _targets(target: dict[str, Any], doc: Document, original_name: str) -> bool:
    kind = target.get("kind")
    if isinstance(kind, str) and kind and kind != doc.kind:
        return False
    name = target.get("name")
    if isinstance(name, str) and name:
        names = {original_name, doc.ref.name or ""}
        try:
            pattern = re.compile(name)
        except re.error:
            return name in names
        if not any(pattern.fullmatch(n) for n in names if n):
            return False
    namespace = target.get("namespace")
    return not (
        isinstance(namespace, str) and namespace and doc.ref.namespace and namespace != doc.ref.namespace
    )


def _names(root: Any, doc: Document, original_name: str) -> bool:
    kind = _value_node(root, "kind")
    if isinstance(kind, yaml.ScalarNode) and kind.value != doc.kind:
        return False
    name = _value_node(_value_node(root, "metadata"), "name")
    return not isinstance(name, yaml.ScalarNode) or name.value in (original_name, doc.ref.name)


def _set_by(node: Any, rendered: Any, path: Path) -> tuple[int, bool] | None:
    """Line where the strategic-merge patch ``node`` reaches the whole of ``path`` (list items matched
    by merge key), and whether the value there is a scalar; None when it does not reach that far, or
    only names a list item."""
    line = None
    last = None
    for part in path:
        if isinstance(part, str):
            value = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if getattr(key_node, "value", None) == part:
                        line, value = key_node.start_mark.line + 1, value_node
                        break
            if value is None:
                return None
            node, last = value, None
            rendered = rendered.get(part) if isinstance(rendered, dict) else None
            continue
        item = rendered[part] if isinstance(rendered, list) and 0 <= part < len(rendered) else None
        if not isinstance(node, yaml.SequenceNode) or not isinstance(item, dict):
            return None
        match = None
        for candidate in node.value:
            if isinstance(candidate, yaml.MappingNode) and any(
                isinstance(v, yaml.ScalarNode)
                and k.value in _MERGE_KEYS
                and str(item.get(k.value)) == v.value
                for k, v in candidate.value
            ):
                match = candidate
                break
        if match is None:
            return None
        node, last, rendered = match, match, item
        line = match.start_mark.line + 1
    if last is not None and {k.value for k, _ in last.value} <= set(_MERGE_KEYS):
        return None  # the patch only names the item (to reach something else in it)
    return (line, isinstance(node, yaml.ScalarNode)) if line is not None else None


def find_image_override(kustomizations: list[str], doc: Document, path: Path) -> tuple[str, int] | None:
    """(file, line) of the last ``images:`` entry of these kustomizations that rewrote the image at
    ``path`` (matched by the rendered image's name or the entry's newName)."""
    image: Any = doc.obj
    for part in path:
        if isinstance(image, dict) and isinstance(part, str):
            image = image.get(part)
        elif isinstance(image, list) and isinstance(part, int) and 0 <= part < len(image):
            image = image[part]
        else:
            return None
    if not isinstance(image, str):
        return None
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    name = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]  # without tag or digest
    found = None
    for kustomization in kustomizations:
        data, root = _kustomization(kustomization)
        entries = data.get("images") if isinstance(data, dict) else None
        nodes = _value_node(root, "images")
        if not isinstance(entries, list) or nodes is None:
            continue
        for entry, node in zip(entries, nodes.value, strict=False):
            if isinstance(entry, dict) and name in (entry.get("newName"), entry.get("name")):
                found = (kustomization, node.start_mark.line + 1)
    return found


_GENERATOR_KEYS = {
    "HelmChartInflationGenerator": "helmCharts",
    "ConfigMapGenerator": "configMapGenerator",
    "SecretGenerator": "secretGenerator",
}


def generator_line(kustomization: str, generator: str, name: str) -> int:
    """The line of the kustomization entry that generated an object named ``name`` (1 if unknown)."""
    data, root = _kustomization(kustomization)
    key = _GENERATOR_KEYS.get(generator)
    entries = data.get(key) if key and isinstance(data, dict) else None
    nodes = _value_node(root, key) if key else None
    if not isinstance(entries, list) or nodes is None or not nodes.value:
        return 1
    for entry, node in zip(entries, nodes.value, strict=False):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"] in name:
            return int(node.start_mark.line) + 1
    return int(nodes.value[0].start_mark.line) + 1
