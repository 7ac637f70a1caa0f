"""Read incident evidence line by line (a 100 MB log streams; only event documents are held whole)
and hand every record to a sink. Block formats (event tables, JSON/YAML event lists, describe
output) are recognised from their first line; everything else is a single line, stripped of its
envelope (CRI, journald) and offered to the single-line parsers in turn."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from premortem.diagnose.parsers import (
    describe,
    drain,
    envelope,
    etcd_text,
    events_doc,
    events_table,
    golog,
    jsonlog,
    kernel,
    klog,
    logfmt,
    pods_table,
    prompt,
)
from premortem.diagnose.recognisers import KEYWORDS
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import describe_time

STDIN_NAME = "<stdin>"
Sink = Callable[[Record], bool]  # True when a recogniser claimed the record
_YAML_TOP = re.compile(r"^(?:apiVersion|items|kind|metadata):(?: |$)")
_YAML_CONT = re.compile(r'^(?:[ -]|[A-Za-z_"][\w"]*:(?: |$)|---|\.\.\.)')
# The first characters of every single-line format read here (klog, syslog/journald, RFC 3339 and
# capnslog stamps, dmesg, JSON, logfmt, kubectl drain, shell prompts).
_KNOWN_START = re.compile(
    r"(?:[a-z]*\d{4}/\d\d/\d\d \d\d:|\[(?:INFO|WARN|WARNING|ERROR|DEBUG|NOTICE)\] |[IWEF]\d{4} \d\d:|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:|\[|\{.*\}$|time=|ts=|"
    r"node/|pod/|evicting pod |error when evicting |error: unable to drain|There are pending pods|"
    r"Warning: |WARNING: |\$ |# |[\w@.:~/-]+[$#] )"
)
_SINGLE = (
    prompt.parse,
    klog.parse,
    etcd_text.parse,
    golog.parse,
    kernel.parse,
    jsonlog.parse,
    logfmt.parse,
    drain.parse,
)


@dataclass
class Stats:
    files: int = 0
    files_unreadable: list[dict[str, str]] = field(default_factory=list)
    lines: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    unknown_lines: int = 0
    unknown_samples: list[dict[str, object]] = field(default_factory=list)

    def unknown(self, file: str, line: int, text: str) -> None:
        self.unknown_lines += 1
        if len(self.unknown_samples) < 5:
            self.unknown_samples.append({"file": file, "line": line, "text": text[:160]})


class FileReader:
    def __init__(
        self, name: str, sink: Sink, stats: Stats, seq: list[int], hint: Callable[[str], None] | None = None
    ) -> None:
        self.name, self.sink, self.stats, self.seq, self.hint = name, sink, stats, seq, hint
        self.table: events_table.Table | None = None
        self.pods: pods_table.Table | None = None
        self.block: describe.Block | None = None
        self.doc: list[str] | None = None
        self.doc_json = False
        self.doc_start = 0

    # ------------------------------------------------------------------ records
    def record(self, line: int, text: str) -> Record:
        self.seq[0] += 1
        return Record(self.name, line, text, "text", text, seq=self.seq[0])

    def emit(self, rec: Record) -> bool:
        self.stats.formats[rec.source] += 1
        return self.sink(rec)

    # ------------------------------------------------------------------ driving
    def feed(self, lines: Iterable[str]) -> None:
        n = 0
        for n, raw in enumerate(lines, 1):
            self.line(n, raw.rstrip("\r\n"))
        self.close(n + 1)

    def close(self, n: int) -> None:
        if self.doc is not None:
            self.end_doc()
        self.end_block()

    def line(self, n: int, text: str) -> None:
        self.stats.lines += 1
        if self.doc is not None:
            if self.doc_json:
                self.doc.append(text)
                if text == "}" or text == "]":
                    self.end_doc()
                return
            if text and _YAML_CONT.match(text):
                self.doc.append(text)
                return
            self.end_doc()
        if not text.strip():
            self.table = self.pods = None
            self.end_block()
            return
        if "\x00" in text:
            self.stats.unknown(self.name, n, text)
            return
        if self.table is not None:
            if events_table.is_separator(text):
                return
            rec = self.record(n, text)
            if events_table.row(self.table, text, rec):
                if self.table.describe and self.block is not None:
                    b = self.block
                    rec.kind, rec.name, rec.namespace = b.kind, b.name, b.namespace
                    rec.node = b.node if b.kind == "Pod" else b.name
                self.emit(rec)
                return
            self.table = None
        if self.pods is not None:
            rec = self.record(n, text)
            if pods_table.row(self.pods, text, rec):
                self.emit(rec)
                return
            self.pods = None
        pods = pods_table.header(text)
        if pods is not None:
            self.pods = pods
            self.stats.formats["pods-header"] += 1
            return
        table = events_table.header(text)
        if table is not None:
            self.table = table
            self.stats.formats["events-header"] += 1
            return
        if self.block is not None:
            if text.startswith(" ") or re.match(r"^[A-Z][\w ]*:", text):
                name = describe.start(text)
                if name is not None:
                    self.end_block()
                    self.block = describe.Block(name, n)
                else:
                    self.block.feed(n, text)
                self.stats.formats["describe"] += 1
                return
            self.end_block()
        name = describe.start(text)
        if name is not None:
            self.block = describe.Block(name, n)
            self.stats.formats["describe"] += 1
            return
        if text in ("{", "[") or (
            text.startswith("{") and not text.rstrip().endswith("}") and text.count('"') < 2
        ):
            self.doc, self.doc_json, self.doc_start = [text], True, n
            return
        if _YAML_TOP.match(text):
            self.doc, self.doc_json, self.doc_start = [text], False, n
            return
        self.single(n, text)

    def single(self, n: int, text: str) -> None:
        if self.hint is not None and "pod=" in text:
            self.hint(text)
        if KEYWORDS.search(text) is None:
            # Nothing any recogniser looks for: only say whether the line is in a known format.
            if _KNOWN_START.match(text) or "level=" in text:
                self.stats.formats["skimmed"] += 1
            else:
                self.stats.unknown(self.name, n, text)
            return
        rec = self.record(n, text)
        inner = envelope.strip(text, rec)
        rec.message = inner
        parsed = False
        for parse in _SINGLE:
            if parse(inner, rec):
                parsed = True
                break
        if not parsed and rec.process is not None:
            rec.source = "syslog"
            parsed = True
        if not parsed and rec.time is not None:
            rec.source = "timestamped"
            parsed = True
        if rec.process == "kubelet" and rec.host:
            rec.node = rec.node or rec.host
        claimed = self.emit(rec)
        if not parsed and not claimed:
            self.stats.formats["text"] -= 1
            self.stats.unknown(self.name, n, text)

    # ------------------------------------------------------------------ blocks
    def end_doc(self) -> None:
        lines, start, is_json = self.doc or [], self.doc_start, self.doc_json
        self.doc = None
        doc = events_doc.load("\n".join(lines), is_json)
        items = events_doc.events(doc)
        if items is None:
            for i, text in enumerate(lines):
                if text.strip():
                    self.stats.unknown(self.name, start + i, text)
            return
        self.stats.formats["events-doc-lines"] += len(lines)
        cursor = 0
        for event in items:
            message = str(event.get("message") or event.get("note") or "")
            at = events_doc.locate(lines, message, cursor)
            cursor = at
            rec = self.record(start + at, lines[at].strip())
            events_doc.fill(event, rec)
            self.emit(rec)

    def end_block(self) -> None:
        b = self.block
        self.block = None
        if b is None:
            return
        for c in b.containers:
            text = "\n".join(t for _, t in c.lines)
            line = c.lines[0][0] if c.lines else c.line
            base = {"restarts": c.restarts}
            if c.last_reason == "OOMKilled" or c.state_reason == "OOMKilled":
                rec = self._describe_rec(b, line, text, "OOMKilled", c.name)
                rec.message = f"Last State: Terminated, Reason: OOMKilled, Exit Code: {c.exit_code or '137'}"
                rec.time = c.finished  # type: ignore[assignment]
                rec.fields.update(base)
                self.emit(rec)
            if c.state_reason == "CrashLoopBackOff":
                rec = self._describe_rec(b, line, text, "CrashLoopBackOff", c.name)
                rec.message = f"State: Waiting, Reason: CrashLoopBackOff, Restart Count: {c.restarts}"
                rec.fields.update(base)
                self.emit(rec)
        for cond in b.conditions:
            bad = (cond.type == "Ready" and cond.status != "True") or (
                cond.type.endswith("Pressure") and cond.status == "True"
            )
            if not bad:
                continue
            reason = "NodeNotReady" if cond.type == "Ready" else f"Condition{cond.type}"
            rec = self._describe_rec(b, cond.line, cond.text.strip(), reason, None)
            rec.message = f"{cond.type} {cond.status} {cond.reason}"
            rec.time = cond.since if cond.since else None  # type: ignore[assignment]
            self.emit(rec)

    def _describe_rec(
        self, b: describe.Block, line: int, text: str, reason: str, container: str | None
    ) -> Record:
        rec = self.record(line, text)
        rec.source = "describe"
        rec.reason = reason
        rec.kind, rec.name, rec.namespace, rec.container = b.kind, b.name, b.namespace, container
        rec.node = b.node if b.kind == "Pod" else b.name
        return rec


def _lines(handle: BinaryIO) -> Iterator[str]:
    for raw in handle:
        yield raw.decode("utf-8", errors="replace")


def read_path(
    path: str, sink: Sink, stats: Stats, seq: list[int], hint: Callable[[str], None] | None = None
) -> None:
    """Read one file (or ``-``); problems are recorded in ``stats.files_unreadable``, never raised."""
    import os

    if path == "-":
        stream = sys.stdin.buffer
        peek = getattr(stream, "peek", None)
        if peek is not None and b"\x00" in peek(8192)[:8192]:
            stats.files_unreadable.append({"file": STDIN_NAME, "error": "binary data, not a text log"})
            return
        stats.files += 1
        FileReader(STDIN_NAME, sink, stats, seq, hint).feed(_lines(stream))
        return
    if os.path.isdir(path):
        stats.files_unreadable.append({"file": path, "error": "is a directory (pass the log files in it)"})
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        stats.files_unreadable.append({"file": path, "error": exc.strerror or str(exc)})
        return
    with handle:
        head = handle.read(8192)
        if head[:2] == b"\x1f\x8b":  # rotated logs are often gzipped (kubelet.log.1.gz)
            import gzip

            handle.seek(0)
            stats.files += 1
            try:
                with gzip.open(handle, "rb") as unzipped:
                    FileReader(path, sink, stats, seq, hint).feed(_lines(unzipped))  # type: ignore[arg-type]
            except (OSError, EOFError) as exc:
                stats.files_unreadable.append({"file": path, "error": f"broken gzip data: {exc}"})
            return
        if b"\x00" in head:
            stats.files_unreadable.append({"file": path, "error": "binary data, not a text log"})
            return
        handle.seek(0)
        stats.files += 1
        FileReader(path, sink, stats, seq, hint).feed(_lines(handle))


__all__ = ["STDIN_NAME", "FileReader", "Stats", "describe_time", "read_path"]
