"""The render stage in front of loading: render each unit, load its output as one stream, and give
every document its origin (template or origin file) for locations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from premortem.findings import Finding, sort_findings
from premortem.load.document import Document, LoadProblem, LoadResult
from premortem.load.reader import load_text
from premortem.render.discover import RenderUnit
from premortem.render.helm import HelmOrigin, render_chart
from premortem.render.kustomize import KustomizeOrigin, render_kustomization, strip_annotations
from premortem.render.rendered import RenderedDocument, RenderFailure, Unit, definition_start, gist
from premortem.render.tools import ToolMissing
from premortem.settings import RenderSettings

if TYPE_CHECKING:
    from premortem.engine import ScanResult
    from premortem.rules.registry import Rule
    from premortem.settings import Settings

_INSTALL_HELM = (
    "install Helm 3 (https://helm.sh/docs/intro/install/, or your package manager) or pass --helm PATH; "
    "or render it yourself: helm template NAME {path} | premortem scan -"
)
_INSTALL_KUSTOMIZE = (
    "install kubectl or kustomize, or pass --kustomize PATH; or render it yourself: "
    "kubectl kustomize {path} | premortem scan -"
)


@dataclass
class RenderOutcome:
    units: list[LoadResult] = field(default_factory=list)  # one per unit rendered (or failed)
    # One message per unit whose renderer is not installed (the command exits 2 after scanning the rest).
    tool_errors: list[str] = field(default_factory=list)
    # summary.rendered: {tool, path, objects, rendered} per unit, in order.
    report: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LoadedInputs:
    """The plain files and each rendered unit, loaded. ``loaded`` is all of it as one input (capacity
    packs everything onto the nodes); ``scan_apart`` scans each part on its own."""

    plain: LoadResult
    units: list[LoadResult] = field(default_factory=list)
    unrendered: bool = False
    report: list[dict[str, Any]] = field(default_factory=list)

    @property
    def loaded(self) -> LoadResult:
        if not self.units:
            return self.plain
        merged = LoadResult()
        for part in (self.plain, *self.units):
            merged.extend(part)
        return merged


def rendered_sources(findings: list[Finding], documents: Sequence[Document] = ()) -> list[str]:
    """The templates, origin files and patches rendered findings point at, and the files rendered
    objects are defined in (for comment suppressions written there: ``# premortem: ignore RULE`` in
    a template or a base, on a line or above the object)."""
    files = {f.file for f in findings if f.file and "rendered_from" in f.extra}
    files.update(definition_start(d)[0] for d in documents if isinstance(d, RenderedDocument))
    return sorted(f for f in files if os.path.isfile(f))


def scan_apart(
    inputs: LoadedInputs,
    rules: list[Rule],
    options: dict[str, Any] | None,
    settings: Settings | None = None,
) -> ScanResult:
    """Scan the plain files together and each rendered unit on its own, then merge.

    Each chart or kustomization is one deployment: two overlays of one base are alternatives (dev,
    prod), never neighbours, so no rule may relate an object of one to an object of another (a PDB of
    one overlay "selecting" the pods of the other). Each unit's findings are then those of a scan of
    that unit's rendered output alone."""
    from premortem.engine import ScanResult, scan, summarize

    if not inputs.units:
        result = scan(inputs.plain, rules, options, settings=settings)
    else:
        parts = [scan(part, rules, options, settings=settings) for part in (inputs.plain, *inputs.units)]
        findings = [f for part in parts for f in part.findings]
        sort_findings(findings)
        objects = [o for part in parts for o in part.objects]
        documents = [d for part in parts for d in part.documents]
        result = ScanResult(findings, objects, summarize(findings, inputs.loaded), documents)
    result.summary["rendered"] = inputs.report
    return result


def stream_name(unit: RenderUnit) -> str:
    """The one file name every document of the unit shares while rules run (see rendered.py)."""
    label = "helm template" if unit.tool == "helm" else "kustomize build"
    return f"{unit.path.rstrip(os.sep) or os.sep}{os.sep}({label})"


class RenderedOffline(Exception):
    """A build that needs the network, which renderers do not get (tools.OFFLINE_ENV)."""

    def __init__(self, failure: RenderFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def render_units(
    units: list[RenderUnit],
    settings: RenderSettings,
    kube_version: str | None = None,
    root: str | None = None,
) -> RenderOutcome:
    """Render every unit. ``kube_version`` is --kubernetes-version (for charts without --kube-version);
    ``root`` is the config file's directory, which ``chart_values`` paths are relative to."""
    outcome = RenderOutcome()
    for unit in units:
        entry: dict[str, Any] = {"tool": unit.tool, "path": unit.path, "objects": 0, "rendered": False}
        outcome.report.append(entry)
        try:
            loaded, ok = (
                _helm(unit, settings, kube_version, root)
                if unit.tool == "helm"
                else _kustomize(unit, settings)
            )
        except RenderedOffline as exc:
            outcome.tool_errors.append(
                f"{unit.path}: is a kustomization and was not scanned: it names a remote resource "
                f"(“{gist(exc.failure.message.rstrip('. '))}”). {exc.failure.fix}"
            )
            continue
        except ToolMissing as exc:
            advice = _INSTALL_HELM if unit.tool == "helm" else _INSTALL_KUSTOMIZE
            kind = "a Helm chart" if unit.tool == "helm" else "a kustomization"
            outcome.tool_errors.append(
                f"{unit.path}: is {kind} and was not scanned: {exc}; {advice.format(path=unit.path)}"
            )
            continue
        outcome.units.append(loaded)
        entry["objects"] = len(loaded.documents)
        entry["rendered"] = ok
    return outcome


def _helm(
    unit: RenderUnit, settings: RenderSettings, kube_version: str | None, root: str | None
) -> tuple[LoadResult, bool]:
    rendered = render_chart(unit, settings, kube_version, root)
    if rendered.failure is not None:
        return _failed("helm template", rendered.failure), False
    if rendered.chart is None:  # a library chart: nothing to render
        result = LoadResult(files_read=1)
        result.skipped.append((unit.path, 1, "Helm library chart: renders no objects of its own"))
        return result, True
    chart = rendered.chart
    name = stream_name(unit)
    loaded = load_text(rendered.stream, name)
    group = Unit(name, path=unit.path)
    documents: list[Document] = []
    for doc in loaded.documents:
        source, occurrence = chart.source_at(doc.line)
        if source is None:
            documents.append(doc)
            continue
        documents.append(RenderedDocument.of(doc, HelmOrigin(chart, source, occurrence, doc.line), group))
    loaded.documents = documents
    for problem in loaded.problems:
        source, _ = chart.source_at(problem.line)
        _move_problem(
            problem,
            chart.file_of(source) if source else unit.path,
            f"helm template output line {problem.line}",
        )
    loaded.skipped = [
        (chart.file_of(s) if (s := chart.source_at(line)[0]) else unit.path, line, why)
        for _, line, why in loaded.skipped
    ]
    return loaded, True


def _kustomize(unit: RenderUnit, settings: RenderSettings) -> tuple[LoadResult, bool]:
    rendered = render_kustomization(unit, settings)
    if rendered.failure is not None:
        if rendered.failure.offline:
            raise RenderedOffline(rendered.failure)
        return _failed("kustomize", rendered.failure), False
    build = rendered.build
    assert build is not None
    name = stream_name(unit)
    loaded = load_text(rendered.stream, name)
    group = Unit(name, path=unit.path)
    documents: list[Document] = []
    for doc in loaded.documents:
        origin, transformations = strip_annotations(doc, build)
        documents.append(RenderedDocument.of(doc, KustomizeOrigin(build, origin, transformations), group))
    loaded.documents = documents
    for problem in loaded.problems:
        _move_problem(problem, unit.path, f"kustomize output line {problem.line}")
    return loaded, True


def _move_problem(problem: LoadProblem, file: str, where: str) -> None:
    """A problem in the rendered stream: at the template or kustomization (the stream's line is in
    the message: nothing on disk has it)."""
    problem.file = file
    problem.line = 1
    problem.message = f"{problem.message} (in the rendered output: {where})"


def _failed(tool: str, failure: RenderFailure) -> LoadResult:
    result = LoadResult(files_read=1)
    # The renderer's own words in “ ”: the one-line report (report/model.py: headline) keeps them whole,
    # so it gets their gist (the cause, without the location the finding already gives), and the
    # message keeps them in full after it.
    words = failure.message.rstrip(". ")
    short = gist(words)
    message = f"{tool} failed: “{short}”. Nothing it would render was checked."
    if short != words:
        message += f" {tool} said: “{words}”."
    result.problems.append(LoadProblem(failure.file, failure.line, message, failure.fix, rule="INP001"))
    return result
