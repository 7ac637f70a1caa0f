"""Build a kustomization with origin annotations and locate rendered fields in the files behind them.

The user's kustomization is never edited: a temporary kustomization outside their tree includes it
(by a relative path: kustomize refuses absolute ones) and adds ``buildMetadata: [originAnnotations,
transformerAnnotations]``. Every object of the output then names the file that defined it
(``config.kubernetes.io/origin``) and the kustomizations whose transformers ran on it
(``alpha.config.kubernetes.io/transformations``). The annotations are removed again before the rules
see the objects, so the findings are those of a plain ``kubectl kustomize`` build. A finding points at
the origin file, or at the patch (in a kustomization that patched the object) that sets the field.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import yaml

from premortem.configfile.exclude import spelled_like
from premortem.load import limits
from premortem.load.document import Document, Path
from premortem.render.discover import RenderUnit, kustomization_file, read_kustomization
from premortem.render.patches import (
    find_image_override,
    find_patch,
    find_source_doc,
    generator_line,
    translate_path,
)
from premortem.render.rendered import Location, RenderFailure
from premortem.render.tools import OFFLINE_ENV, ToolMissing, find_helm, find_kustomize, run
from premortem.settings import RenderSettings

ORIGIN = "config.kubernetes.io/origin"
TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"
_WRAPPER = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- {target}
buildMetadata: [originAnnotations, transformerAnnotations]
"""
_PATCH_TRANSFORMERS = frozenset(
    {"PatchTransformer", "PatchStrategicMergeTransformer", "PatchJson6902Transformer"}
)
# What kustomize (and the git and helm it runs) says when OFFLINE_ENV stops a fetch.
_OFFLINE_REFUSAL = re.compile(
    r"127\.0\.0\.1:9\b|transport '\w+' not allowed|GIT_SSH_COMMAND|Could not resolve host"
)
_WRAPPED = re.compile(
    r"accumulating resources: accumulation err='accumulating resources from '[^']*': '[^']*' must resolve "
    r"to a file': recursed accumulation of path '[^']*': "
)


@dataclass
class KustomizeRender:
    stream: str = ""
    failure: RenderFailure | None = None
    build: BuildContext | None = None


@dataclass
class BuildContext:
    unit: str  # the kustomization directory as named
    wrapper: str  # the temporary directory the annotations' paths are relative to
    keep_annotations: bool  # the user's own kustomization asks for them

    def display(self, annotated: str) -> str:
        """An annotation's path as the user would write it (relative when the unit was named so)."""
        absolute = os.path.normpath(os.path.join(self.wrapper, annotated))
        return absolute if os.path.isabs(self.unit) else spelled_like(self.unit, os.path.relpath(absolute))


def render_kustomization(unit: RenderUnit, settings: RenderSettings) -> KustomizeRender:
    tool = find_kustomize(settings.kustomize)  # raises ToolMissing
    own = read_kustomization(unit.path)
    keep = _asks_for_annotations(own)
    wrapper = tempfile.mkdtemp(prefix="premortem-kustomize-")
    try:
        target = os.path.relpath(os.path.abspath(unit.path), wrapper)
        with open(os.path.join(wrapper, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            handle.write(_WRAPPER.format(target=target))
        args = [wrapper]
        try:
            helm = find_helm(settings.helm)
        except ToolMissing:
            helm = None
        if helm is not None:
            args += ["--enable-helm", "--helm-command", helm.path]
        done = run(tool, args, env={**os.environ, **OFFLINE_ENV})
    finally:
        # The paths stay meaningful without the directory: only its location is used from now on.
        shutil.rmtree(wrapper, ignore_errors=True)
    if done.returncode != 0:
        return _failure(unit, done.stderr or done.stdout, wrapper, helm is None)
    return KustomizeRender(stream=done.stdout, build=BuildContext(unit.path, wrapper, keep))


def _asks_for_annotations(kustomization: dict[str, Any]) -> bool:
    metadata = kustomization.get("buildMetadata")
    return isinstance(metadata, list) and bool(
        {"originAnnotations", "transformerAnnotations"} & set(metadata)
    )


def _failure(unit: RenderUnit, text: str, wrapper: str, no_helm: bool) -> KustomizeRender:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("# Warning")] or lines
    message = " ".join(lines)
    # kubectl wraps the error in a klog line: keep kustomize's own words.
    match = re.search(r'err=(?:"(.*)"|<(.*)>)\s*$', message)
    if match:
        message = (match.group(1) or match.group(2) or "").strip().replace('\\"', '"')
    message = message.removeprefix("Error: ")
    # The layer the temporary wrapping kustomization adds around the user's error.
    wrapped = _WRAPPED.match(message)
    if wrapped:
        message = message[wrapped.end() :]
        if message.endswith("'") and message.count("'") % 2:
            message = message[:-1]
    message = message.replace(wrapper + "/", "").replace(wrapper, "")
    if not os.path.isabs(unit.path):
        message = message.replace(os.getcwd() + os.sep, "")
    file = kustomization_file(unit.path) or unit.path
    line = 1
    # Point at the file kustomize names (when it is in the tree), else at the entry of the
    # kustomization that names it.
    for candidate, number in _file_mentions(message):
        for base in (unit.path, os.path.dirname(unit.path) or "."):
            path = candidate if os.path.isabs(candidate) else os.path.normpath(os.path.join(base, candidate))
            if os.path.isfile(path):
                file, line = path, number
                break
        else:
            continue
        break
    if line == 1 and file == kustomization_file(unit.path):
        line = _line_naming(file, message)
    fix = f"Fix what kustomize reports; `kubectl kustomize {unit.path}` shows the same error."
    offline = bool(_OFFLINE_REFUSAL.search(message))
    if offline:
        fix = (
            "premortem renders offline: remote bases, git URLs and chart repositories are not fetched while "
            f"scanning. Vendor them into the repository, or render yourself: `kubectl kustomize {unit.path} | "
            "premortem scan -`."
        )
    if "helm" in message.lower() and no_helm:
        fix = "Install Helm (or pass --helm PATH): this kustomization inflates helmCharts with it."
    return KustomizeRender(failure=RenderFailure(message, file, line, fix, offline=offline))


def _file_mentions(message: str) -> list[tuple[str, int]]:
    """(path, line) of every YAML/JSON file (or ``Kustomization``) an error message names, as
    ``path`` or ``path:line`` (token by token: linear in the message's length)."""
    found = []
    for token in re.split(r"[\s'\"`\[\]]+", message):
        token = token.rstrip(":,;.")
        path, _, number = token.partition(":")
        if path.endswith((".yaml", ".yml", ".json")) or path == "Kustomization":
            found.append((path, int(number) if number.isdigit() else 1))
    return found


def _line_naming(file: str, message: str) -> int:
    """The line of the kustomization that names a path the error message mentions."""
    try:
        with open(file, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    for number, text in enumerate(lines, start=1):
        entry = text.strip().lstrip("-").strip().strip("'\"")
        if len(entry) > 2 and ":" not in entry and entry in message:
            return number
    return 1


def strip_annotations(doc: Document, build: BuildContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Take the build annotations off the object (unless the user asked for them) and return them parsed."""
    meta = doc.obj.get("metadata") if isinstance(doc.obj, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return {}, []
    origin = _parse(annotations.get(ORIGIN))
    transformations = _parse(annotations.get(TRANSFORMATIONS))
    if not build.keep_annotations:
        annotations.pop(ORIGIN, None)
        annotations.pop(TRANSFORMATIONS, None)
        if not annotations and isinstance(meta, dict):
            del meta["annotations"]
    return (
        origin if isinstance(origin, dict) else {},
        [t for t in transformations if isinstance(t, dict)] if isinstance(transformations, list) else [],
    )


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return limits.safe_load(text)
    except yaml.YAMLError:
        return None


class KustomizeOrigin:
    """Where a built object came from: its origin file, and the kustomizations that patched it."""

    __slots__ = ("build", "image_set_in", "origin", "patched_in")

    def __init__(self, build: BuildContext, origin: dict[str, Any], transformations: list[dict[str, Any]]):
        self.build = build
        self.origin = origin
        self.patched_in = self._configured_in(transformations, _PATCH_TRANSFORMERS)
        self.image_set_in = self._configured_in(transformations, frozenset({"ImageTagTransformer"}))

    def _configured_in(self, transformations: list[dict[str, Any]], kinds: frozenset[str]) -> list[str]:
        """The kustomization files whose transformers of these kinds ran on the object, in order."""
        found: list[str] = []
        for entry in transformations:
            by = entry.get("configuredBy")
            where = entry.get("configuredIn")
            if isinstance(by, dict) and by.get("kind") in kinds and isinstance(where, str):
                path = self.build.display(where)
                if path not in found:
                    found.append(path)
        return found

    def locate(self, doc: Document, path: Path) -> Location:
        build = self.build
        info: dict[str, Any] = {
            "tool": "kustomize",
            "kustomization": build.unit,
            "rendered_line": doc.line_of(path),
        }
        annotated = self.origin.get("path")
        if not isinstance(annotated, str):
            return self._generated(doc, info)
        origin_file = build.display(annotated)
        info["origin_file"] = origin_file
        source = find_source_doc(origin_file, doc)
        if source is None:
            info.update(origin_line=1, line_is_guess=True)
            return Location(origin_file, 1, info)
        translated, complete = translate_path(doc.obj, source.obj, path)
        origin_line = source.line_of(translated)
        info.update(origin_line=origin_line, line_is_guess=not complete)
        original_name = (source.ref.name or "") if source is not None else ""
        note = f"in the build of {build.unit}"
        for kustomization in reversed(self.patched_in):
            patch = find_patch(kustomization, doc, original_name, path)
            # A patch that merges fields into a block the origin already has (a pod spec, a container)
            # is not where a finding about that block belongs; one that sets the value, or adds the
            # block, is.
            if patch is not None and (patch[2] or not complete):
                info.update(patch_file=patch[0], patch_line=patch[1], line_is_guess=False)
                return Location(patch[0], patch[1], info, note)
        if path and path[-1] == "image":
            image = find_image_override(self.image_set_in, doc, path)
            if image is not None:
                info.update(images_file=image[0], images_line=image[1])
                return Location(image[0], image[1], info, note)
        return Location(origin_file, origin_line, info, note)

    def start(self, doc: Document) -> tuple[str, int] | None:
        annotated = self.origin.get("path")
        if not isinstance(annotated, str):
            return None  # generated: no file defines it
        origin_file = self.build.display(annotated)
        source = find_source_doc(origin_file, doc)
        return (origin_file, source.line) if source is not None else None

    def _generated(self, doc: Document, info: dict[str, Any]) -> Location:
        """An object a generator made (helmCharts, configMapGenerator...): the entry that configures it."""
        where = self.origin.get("configuredIn")
        file = (
            self.build.display(where) if isinstance(where, str) else kustomization_file(self.build.unit) or ""
        )
        by = self.origin.get("configuredBy")
        generator = str(by.get("kind")) if isinstance(by, dict) and by.get("kind") else ""
        line = generator_line(file, generator, doc.ref.name or "") if generator else 1
        info.update(origin_file=file, origin_line=line, line_is_guess=True, generated_by=generator or None)
        return Location(file, line, info, f"in the build of {self.build.unit}")
