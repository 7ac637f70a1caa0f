"""JSON output: one object on stdout. Field names are a contract: extend, never rename.

Written as ``json.dumps(payload, indent=2)`` writes it, with one difference for big reports: a list
of more than ``ONE_PER_LINE_ABOVE`` objects (the findings and objects of a cluster-sized scan) has
each object on one line. json's indenting encoder is pure Python; one line per object is encoded by
its C encoder, several times faster (100,000 objects), and stays easy to grep and to diff.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import IO, TYPE_CHECKING, Any, TextIO, overload

from premortem.report.model import Report

if TYPE_CHECKING:
    from premortem.findings import Finding

ONE_PER_LINE_ABOVE = 100
# Pieces of text joined per write (json.dump wrote each small chunk on its own).
_PIECES_PER_WRITE = 4096


# A lone surrogate (an input's "\\ud800" escape) can only sit inside a JSON string; no encoding can
# write it raw, so it is written as the \\u escape JSON allows.
_SURROGATE = re.compile("[\ud800-\udfff]")


def write_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    pieces = list(_pieces(payload, ""))
    theirs = _split(pieces)
    if theirs is None:
        _write_text([*pieces, "\n"], out)
        return
    try:
        _write_text(pieces[: theirs.first], out)
        theirs.copy_to(out, pieces)  # the child's share: every piece from ``first`` on
        out.write("\n")
    finally:
        theirs.close()


def _encodable(text: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _SURROGATE.search(text) else text


# json's C encoder, made once: json.dumps makes a new one for every call, which costs as much as
# encoding a finding (ensure_ascii=False, default=str, compact separators as json.dumps writes them).
_ENCODE = (
    c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)


def _compact(value: Any) -> str:
    if _ENCODE is not None:
        try:
            return "".join(_ENCODE(value, 0))
        except RecursionError:  # a value that holds itself: json.dumps says so (ValueError)
            pass
    return json.dumps(value, ensure_ascii=False, default=str)


def _pieces(value: Any, indent: str) -> Any:
    """The text of ``value`` at ``indent``, as json.dumps(indent=2) writes it (see the module doc)."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        yield "{"
        last = len(value) - 1
        for position, (key, item) in enumerate(value.items()):
            yield f"\n{inner}{_compact(_key(key))}: "
            yield from _pieces(item, inner)
            if position < last:
                yield ","
        yield f"\n{indent}}}"
    elif isinstance(value, Mapped):
        if len(value) > ONE_PER_LINE_ABOVE:
            yield "["
            yield _Items(value, 0, len(value), inner)
            yield f"\n{indent}]"
        else:
            yield from _pieces(list(value), indent)
    elif isinstance(value, list | tuple) and value:
        yield "["
        if len(value) > ONE_PER_LINE_ABOVE and all(isinstance(v, dict) for v in value):
            yield _Items(value, 0, len(value), inner)
        else:
            last = len(value) - 1
            for position, item in enumerate(value):
                yield f"\n{inner}"
                yield from _pieces(item, inner)
                if position < last:
                    yield ","
        yield f"\n{indent}]"
    else:
        yield _compact(value)


class Mapped(Sequence[Any]):
    """``items`` written as ``transform(item)`` each: a big report's findings become dicts where
    they are written (half of them in the child of ``_split``), not all of them beforehand."""

    def __init__(self, items: Sequence[Any], transform: Callable[[Any], dict[str, Any]]) -> None:
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.transform(item) for item in self.items[index]]
        return self.transform(self.items[index])


class _Items:
    """Items ``start`` to ``end`` of a list written one per line at ``indent`` (see the module doc)."""

    __slots__ = ("end", "indent", "items", "start")

    def __init__(self, items: Sequence[Any], start: int, end: int, indent: str) -> None:
        self.items, self.start, self.end, self.indent = items, start, end, indent

    def texts(self) -> Iterator[str]:
        last = len(self.items) - 1
        for position in range(self.start, self.end):
            yield f"\n{self.indent}{_compact(self.items[position])}" + ("," if position < last else "")


def _split(pieces: list[Any]) -> _Encoded | None:
    """Hand the second half of the items of a big report to a forked child, which encodes them into
    a temporary file while this process writes the first half; None when not worth it. ``pieces``
    gets the split: the parent's share stays an ``_Items``, the child's is replaced by its range."""
    from premortem.fork import worth_splitting
    from premortem.settings import current

    runs = [(position, piece) for position, piece in enumerate(pieces) if isinstance(piece, _Items)]
    total = sum(piece.end - piece.start for _, piece in runs)
    if not runs or not worth_splitting(total, current().jobs):
        return None
    # The halves by characters, not items: a finding is longer than an object's summary.
    weights = [len(_compact(piece.items[0])) * (piece.end - piece.start) for _, piece in runs]
    half, seen, run = sum(weights) / 2, 0, 0
    while run < len(runs) - 1 and seen + weights[run] <= half:
        seen += weights[run]
        run += 1
    position, piece = runs[run]
    cut = piece.start + int((half - seen) / max(weights[run], 1) * (piece.end - piece.start))
    if cut <= piece.start:  # the child starts with this run whole
        first = position
    else:  # this run is cut: the parent keeps its head, the child starts with the tail
        pieces[position : position + 1] = [
            _Items(piece.items, piece.start, cut, piece.indent),
            _Items(piece.items, cut, piece.end, piece.indent),
        ]
        first = position + 1
    return _Encoded.start(pieces, first)


class _Encoded:
    """The text of ``pieces[first:]``, written by a forked child into an unlinked temporary file
    (its pages are the kernel's file cache, not the memory of either process)."""

    def __init__(self, pid: int, file: IO[bytes], first: int) -> None:
        self.pid, self.file, self.first = pid, file, first
        self._reaped = False

    @classmethod
    def start(cls, pieces: list[Any], first: int) -> _Encoded | None:
        try:
            file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), after the copy
        except OSError:  # no writable temporary directory: one process writes everything
            return None
        pid = os.fork()
        if pid == 0:  # the child: write the pieces, leave without the parent's exit handlers
            status = 0
            try:
                _write_pieces(pieces[first:], file)
                file.flush()
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        return cls(pid, file, first)

    def copy_to(self, out: TextIO, pieces: list[Any]) -> None:
        """Write the child's text to ``out`` (or, if the child failed, encode the pieces here)."""
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if status != 0:
            _write_text(pieces[self.first :], out)
            return
        self.file.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while block := self.file.read(_COPY_BLOCK):
            out.write(decoder.decode(block))
        out.write(decoder.decode(b"", final=True))

    def close(self) -> None:
        if not self._reaped:  # the parent failed first (a closed pipe): stop the child
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
        self.file.close()


def _pieces_text(pieces: list[Any]) -> Iterator[str]:
    for piece in pieces:
        if isinstance(piece, _Items):
            yield from piece.texts()
        else:
            yield piece


def _write_text(pieces: list[Any], out: TextIO) -> None:
    pending: list[str] = []
    for text in _pieces_text(pieces):
        pending.append(text)
        if len(pending) >= _PIECES_PER_WRITE:
            out.write(_encodable("".join(pending)))
            pending.clear()
    out.write(_encodable("".join(pending)))


def _write_pieces(pieces: list[Any], file: IO[bytes]) -> None:
    writer = io.TextIOWrapper(file, encoding="utf-8", write_through=True)
    _write_text(pieces, writer)
    writer.flush()
    writer.detach()


# Bytes read at a time when the child's text is copied to the output.
_COPY_BLOCK = 1 << 20


def _key(key: Any) -> str:
    """A mapping key as json writes it: strings as they are, numbers, booleans and null as text."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, int | float):
        return json.dumps(key) if isinstance(key, float) else str(int(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _finding_json(finding: Finding) -> dict[str, Any]:
    from premortem.triage.fingerprint import fingerprint

    return {**finding.to_json(), "fingerprint": fingerprint(finding)}


def scan_json(report: Report) -> dict[str, Any]:
    """``{findings, objects, summary, suppressed}``: each finding with its fingerprint; suppressed
    findings (not in ``findings``, not counted for the exit code) with their ``suppression``."""
    return {
        "findings": Mapped(report.findings, _finding_json),
        "objects": report.objects,
        "summary": report.summary,
        "suppressed": [{**_finding_json(f), "suppression": s.to_json()} for f, s in report.suppressed],
    }
