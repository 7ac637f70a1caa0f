"""Documents that come out of a renderer, and how a finding on one is moved to the file to edit.

Rules see a rendered unit as one stream (as ``helm template ... | premortem scan -`` would give): every
document of the unit has the same ``file`` (``Unit.stream_name``), so rules that relate objects by file
treat the unit as one deployment, and the findings are the same as a scan of the renderer's output.
Once a finding is made, ``relocate`` moves it to the template or origin file and line, adds the
``rendered_from`` field, and rewrites ``stream:line`` references to other objects in its message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from premortem.load.document import Document, Path

if TYPE_CHECKING:
    from premortem.findings import Finding


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    rendered_from: dict[str, Any]
    note: str = ""  # appended to the message (which build it is, where one file feeds several)


@dataclass(frozen=True)
class RenderFailure:
    """Why a unit rendered nothing: the renderer's own words, where it points, what to do."""

    message: str
    file: str
    line: int = 1
    fix: str = ""
    # The renderer was stopped from fetching a remote resource (tools.OFFLINE_ENV): the input is not
    # broken, it could not be checked here; reported as an error (exit 2), not as a finding.
    offline: bool = False


# Helm names the template, line and column before the cause; the finding already points there.
_HELM_AT = re.compile(r'^template: \S+?:\d+(?::\d+)?: executing "[^"]*" at (<.*?>): ')
_HELM_EXECUTION = re.compile(r"^execution error at \(\S+?\): ")
_HELM_DEPENDENCIES = re.compile(
    r"^An error occurred while checking for chart dependencies\. .*?dependencies: "
)
# kustomize wraps its innermost error in contexts ("accumulating resources: accumulation err='...':
# must build at directory: ...") and spells a missing path three times.
_KUSTOMIZE_INNER = re.compile(r"accumulation err='(.*?)': must build at ")
_KUSTOMIZE_LSTAT = re.compile(r"evalsymlink failure on '([^']*)' : lstat \1: ")


def gist(message: str) -> str:
    """The cause in a renderer's error message, for a one-line report: Helm's without the template
    location, kustomize's innermost error without its repetitions; the message itself otherwise."""
    short = _HELM_AT.sub(r"\1: ", message, count=1)
    short = _HELM_DEPENDENCIES.sub("", _HELM_EXECUTION.sub("", short, count=1), count=1)
    inner = _KUSTOMIZE_INNER.search(short)
    if inner:
        short = inner.group(1)
    return _KUSTOMIZE_LSTAT.sub("", short)


class Origin(Protocol):
    def locate(self, doc: Document, path: Path) -> Location: ...

    def start(self, doc: Document) -> tuple[str, int] | None:
        """The file and line where the object's definition begins (its first key in the template or
        origin file), or None when no file holds it (a generated object)."""
        ...


@dataclass
class Unit:
    """One rendered chart or kustomization: its stream name and its documents by stream line."""

    stream_name: str
    by_line: dict[int, RenderedDocument] = field(default_factory=dict)
    path: str = ""  # the chart or kustomization directory as named: rendered_from's chart/kustomization
    _pattern: re.Pattern[str] | None = None

    def rewrite(self, text: str) -> str:
        """``stream:LINE`` of an object of this unit -> its template or origin ``file:line``."""
        if self.stream_name not in text:
            return text
        if self._pattern is None:
            self._pattern = re.compile(re.escape(self.stream_name) + r":(\d+)(?!\d)")

        def swap(match: re.Match[str]) -> str:
            doc = self.by_line.get(int(match.group(1)))
            if doc is None or doc.origin is None:
                return match.group(0)
            location = doc.origin.locate(doc, ())
            return f"{location.file}:{location.line}"

        return self._pattern.sub(swap, text)


@dataclass(slots=True)
class RenderedDocument(Document):
    origin: Origin | None = None
    unit: Unit | None = None

    @classmethod
    def of(cls, doc: Document, origin: Origin, unit: Unit) -> RenderedDocument:
        rendered = cls(
            doc.obj, doc.file, doc.line, doc.node, doc_index=doc.doc_index, item_index=doc.item_index
        )
        rendered.origin = origin
        rendered.unit = unit
        unit.by_line[doc.line] = rendered
        return rendered


def relocate(finding: Finding, doc: Document, path: Path) -> None:
    """Move a finding on a rendered document to the file and line to edit (no-op for other documents)."""
    if not isinstance(doc, RenderedDocument) or doc.origin is None:
        return
    location = doc.origin.locate(doc, path)
    finding.file = location.file
    finding.line = location.line
    finding.extra = {**finding.extra, "rendered_from": location.rendered_from}
    if doc.unit is not None:
        finding.message = doc.unit.rewrite(finding.message)
        finding.fix = doc.unit.rewrite(finding.fix)
    if location.note and location.note not in finding.message:
        finding.message = f"{finding.message} ({location.note})"


def same_stream(finding: Finding, doc: Document) -> bool:
    """Whether ``finding`` was made on ``doc``'s input: the same file, or for a rendered document the
    same chart or build (whose findings moved to templates, origin files and patches)."""
    if isinstance(doc, RenderedDocument) and doc.unit is not None and doc.origin is not None:
        origin = finding.extra.get("rendered_from")
        if not isinstance(origin, dict):
            return False
        return doc.unit.path in (origin.get("chart"), origin.get("kustomization"))
    return finding.file == doc.file


def definition_start(doc: Document) -> tuple[str, int]:
    """Where a person sees the object begin: its file and first line, or for a rendered object the
    template or origin file line where its definition starts."""
    if isinstance(doc, RenderedDocument) and doc.origin is not None:
        start = doc.origin.start(doc)
        if start is not None:
            return start
    return doc.file, doc.line


def object_location(doc: Document) -> dict[str, Any]:
    """``file``/``line``/``rendered_from`` of a rendered object for the ``objects[]`` summary ({} otherwise)."""
    if not isinstance(doc, RenderedDocument) or doc.origin is None:
        return {}
    location = doc.origin.locate(doc, ())
    return {"file": location.file, "line": location.line, "rendered_from": location.rendered_from}
