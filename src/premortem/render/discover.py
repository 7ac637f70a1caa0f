"""Which inputs are render units: Helm charts and Kustomize kustomizations, met while expanding paths.

- A directory holding ``Chart.yaml`` is a chart: it is rendered, and nothing inside it is read as
  plain YAML (templates, values files, ``ci/``, dependency charts under ``charts/``). A chart archive
  (``.tgz``) named on the command line is a chart too.
- A directory holding ``kustomization.yaml``, ``kustomization.yml`` or ``Kustomization`` is a
  kustomization. Named on the command line it *is* that kustomization (as for ``kubectl kustomize``).
  In a tree walked from above, only the kustomizations that no other kustomization of the tree
  includes are built (components never alone), and every file a kustomization of the tree consumes
  (resources, patches, generator inputs, ...) is not also read as plain YAML.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from premortem.load import limits
from premortem.load.reader import MANIFEST_SUFFIXES, SKIPPED_DIRS

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CHART_FILE = "Chart.yaml"


@dataclass(frozen=True)
class RenderUnit:
    """One chart or kustomization to render; ``path`` is the directory (or chart archive) as met."""

    tool: Literal["helm", "kustomize"]
    path: str
    named: bool = False  # given on the command line rather than found in a tree


@dataclass
class InputPlan:
    """What to read: plain manifest files (``-`` for stdin), units to render, paths that do not exist,
    and files left out because a unit consumes them (for the record)."""

    files: list[str] = field(default_factory=list)
    units: list[RenderUnit] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)
    # Files under a kustomization's directory that none of the tree's builds uses (patches left out
    # of the kustomization, disabled resources): not what the cluster receives, so not scanned;
    # listed in the summary's skipped documents.
    unused: list[tuple[str, str]] = field(default_factory=list)  # (file, kustomization directory)


def kustomization_file(directory: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def is_chart(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, CHART_FILE))


def plan_inputs(paths: Iterable[str]) -> InputPlan:
    plan = InputPlan()
    for path in paths:
        if path == "-":
            plan.files.append(path)
        elif os.path.isdir(path):
            if is_chart(path):
                plan.units.append(RenderUnit("helm", path, named=True))
            elif kustomization_file(path):
                plan.units.append(RenderUnit("kustomize", path, named=True))
            elif (chart := _enclosing_chart(path)) is not None:  # e.g. CHART/templates/
                plan.units.append(RenderUnit("helm", chart, named=True))
            else:
                _walk(path, plan)
        elif not os.path.isfile(path) and (os.path.exists(path) or os.path.islink(path)):
            plan.files.append(path)  # a FIFO, a dangling link...: the loader reads it and says why
        elif os.path.isfile(path):
            base = os.path.basename(path)
            parent = os.path.dirname(path) or "."
            chart = _enclosing_chart(path)
            if chart is not None:
                # A template or values file of a chart (a pre-commit hook passes the files that
                # changed): the chart it belongs to is what can be checked.
                plan.units.append(RenderUnit("helm", chart, named=True))
            elif base in KUSTOMIZATION_FILES:
                plan.units.append(RenderUnit("kustomize", parent, named=True))
            elif base == CHART_FILE:
                plan.units.append(RenderUnit("helm", parent, named=True))
            elif path.endswith((".tgz", ".tar.gz")):
                plan.units.append(RenderUnit("helm", path, named=True))
            else:
                plan.files.append(path)
        else:
            plan.missing.append(path)
    plan.units = _unique(plan.units)
    return plan


def _enclosing_chart(path: str) -> str | None:
    """The chart directory ``path`` lies in (its nearest ancestor holding Chart.yaml), if any; for a
    dependency chart under another chart's ``charts/``, that outer chart: the dependency renders with
    it (and the values it gives), not alone and not twice."""
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        if is_chart(directory):
            while os.path.basename(os.path.dirname(directory)) == "charts" and is_chart(
                outer := os.path.dirname(os.path.dirname(directory))
            ):
                directory = outer
            relative = os.path.relpath(directory)
            return directory if os.path.isabs(path) or relative.startswith("..") else relative
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _unique(units: list[RenderUnit]) -> list[RenderUnit]:
    seen: set[str] = set()
    out = []
    for unit in units:
        key = _norm(unit.path)
        if key not in seen:
            seen.add(key)
            out.append(unit)
    return out


def unfixable_note(unit: RenderUnit) -> str:
    """Why ``premortem fix`` leaves a unit alone, and where to make the change instead."""
    if unit.tool == "helm":
        return (
            f"{unit.path} is a Helm chart: fix rewrites plain YAML, not templates. `premortem scan "
            f"{unit.path}` names, for each finding, the template line and the values file and line to edit."
        )
    return (
        f"{unit.path} is a kustomization: fix does not edit the files of a build (a base's fix can be "
        f"wrong for an overlay that patches it). `premortem scan {unit.path}` names the origin file or "
        "patch to edit; `premortem fix FILE` fixes one of its plain files when you name it."
    )


def _walk(root: str, plan: InputPlan) -> None:
    files: list[str] = []
    charts: list[str] = []
    kustomizations: list[str] = []
    unreadable: list[str] = []  # directories os.walk cannot list: loaded as files, they say why
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda exc: unreadable.append(exc.filename)):
        files.extend(unreadable)
        unreadable.clear()
        if is_chart(dirpath):
            charts.append(dirpath)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        if kustomization_file(dirpath):
            kustomizations.append(dirpath)
        files.extend(os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith(MANIFEST_SUFFIXES))

    files.extend(unreadable)
    consumed: set[str] = set()
    included: set[str] = set()
    components: set[str] = set()
    for directory in kustomizations:
        uses = kustomization_uses(directory)
        consumed |= uses.files
        included |= uses.directories
        if uses.is_component:
            components.add(_norm(directory))
    for directory in kustomizations:
        key = _norm(directory)
        if key not in included and key not in components:
            plan.units.append(RenderUnit("kustomize", directory))
    for chart in charts:
        if _norm(chart) not in included:
            plan.units.append(RenderUnit("helm", chart))
    kustomization_dirs = {_norm(d): d for d in kustomizations}
    for path in files:
        key = _norm(path)
        if key in consumed or os.path.basename(path) in KUSTOMIZATION_FILES:
            plan.consumed.append(path)
            continue
        owner = _owning_kustomization(key, kustomization_dirs)
        if owner is not None:
            plan.unused.append((path, owner))
        else:
            plan.files.append(path)


def _owning_kustomization(path: str, kustomizations: dict[str, str]) -> str | None:
    """The kustomization directory (as met) that ``path`` lies in or below, if any."""
    directory = os.path.dirname(path)
    while True:
        if directory in kustomizations:
            return kustomizations[directory]
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


@dataclass
class KustomizationUses:
    """The files and directories a kustomization reads (normalised absolute paths)."""

    files: set[str] = field(default_factory=set)
    directories: set[str] = field(default_factory=set)
    is_component: bool = False


def read_kustomization(directory: str) -> dict[str, Any]:
    """The kustomization of ``directory`` as a mapping ({} when it cannot be read: kustomize will say why)."""
    path = kustomization_file(directory)
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = limits.safe_load(handle.read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def kustomization_uses(directory: str) -> KustomizationUses:
    data = read_kustomization(directory)
    uses = KustomizationUses(is_component=data.get("kind") == "Component")
    for ref in _referenced(data):
        if "://" in ref or ref.startswith(("github.com/", "git@", "ssh:")):
            continue  # remote: kustomize fetches it, nothing in the tree
        target = _norm(os.path.join(directory, ref))
        if os.path.isdir(target):
            uses.directories.add(target)
            if not kustomization_file(target) and not is_chart(target):
                # A plain directory of files used as a whole (e.g. helmCharts' chartHome).
                uses.files.update(_norm(p) for p in _files_below(target))
        else:
            uses.files.add(target)
    home = data.get("helmGlobals")
    chart_home = home.get("chartHome") if isinstance(home, dict) else None
    for chart in _list(data.get("helmCharts")):
        if isinstance(chart, dict) and isinstance(chart.get("name"), str):
            base = os.path.join(directory, chart_home if isinstance(chart_home, str) else "charts")
            uses.directories.add(_norm(os.path.join(base, chart["name"])))
    return uses


def _files_below(directory: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        for name in filenames:
            yield os.path.join(dirpath, name)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _referenced(data: dict[str, Any]) -> Iterator[str]:
    """Every local path a kustomization names (resources, bases, components, patches, generator inputs,
    transformer configs, replacements, openapi schema, helm values)."""
    for key in ("resources", "bases", "components", "crds", "configurations", "generators", "transformers"):
        for item in _list(data.get(key)):
            if isinstance(item, str) and "\n" not in item:
                yield item
    for key in ("validators",):
        for item in _list(data.get(key)):
            if isinstance(item, str) and "\n" not in item:
                yield item
    for item in _list(data.get("patchesStrategicMerge")):
        if isinstance(item, str) and "\n" not in item.strip():
            yield item
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in _list(data.get(key)):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield item["path"]
    for key in ("configMapGenerator", "secretGenerator"):
        for generator in _list(data.get(key)):
            if not isinstance(generator, dict):
                continue
            for entry in _list(generator.get("files")):
                if isinstance(entry, str):
                    yield entry.split("=", 1)[-1]
            for entry in [*_list(generator.get("envs")), generator.get("env")]:
                if isinstance(entry, str):
                    yield entry
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield openapi["path"]
    for chart in _list(data.get("helmCharts")):
        if isinstance(chart, dict):
            for entry in [chart.get("valuesFile"), *_list(chart.get("additionalValuesFiles"))]:
                if isinstance(entry, str):
                    yield entry
