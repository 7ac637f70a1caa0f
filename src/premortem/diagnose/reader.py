"""Read incident evidence line by line and hand every record to a sink. Memory stays bounded: a log
streams (lines longer than ``MAX_LINE_BYTES`` are read up to that length), every input stops at the
size cap (``max_input_bytes``, decompressed bytes for gzip), and only an event document (JSON/YAML)
is held whole. Block formats (event and pod tables, describe output, documents) are recognised from
their first line; every other line is a single line, stripped of its envelope (CRI, journald) and
offered to the single-line parsers in turn. A JSON log line wrapped by the terminal it was copied
from is joined back before it is read.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import stat
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, Protocol, cast

from premortem.diagnose.parsers import (
    describe,
    drain,
    envelope,
    etcd_text,
    event_row,
    events_doc,
    events_table,
    golog,
    journal_json,
    jsonlog,
    kernel,
    klog,
    logfmt,
    pod_doc,
    pods_table,
    prompt,
    resource_rows,
)
from premortem.diagnose.recognisers import KEYWORDS
from premortem.diagnose.records import Record, number_too_long
from premortem.diagnose.timeparse import parse_rfc3339
from premortem.settings import DEFAULT_MAX_INPUT_BYTES

STDIN_NAME = "<stdin>"
MAX_LINE_BYTES = 64 * 1024
_PROMPT_CMD = re.compile(r"^[\w@.:~/-]*[$#] (\S.*)$")
_DESCRIBED_KINDS = {"node": "Node", "nodes": "Node", "no": "Node", "pod": "Pod", "pods": "Pod", "po": "Pod"}
_ASSIGNED = re.compile(
    r"Successfully assigned ([a-z0-9][-a-z0-9]{0,62})/([a-z0-9][-a-z0-9.]{0,252}) to (\S{1,253})"
)
# A member of a pretty-printed JSON document pasted without the document around it
# (``      "containerStatuses": [``): the lines after it are read as that document.
_JSON_MEMBER = re.compile(r'^ {0,40}"[A-Za-z_][\w.-]{0,63}": [\[{]$')
# Records whose message a paste may have hard-wrapped: event rows and lines in no other format
# (kubectl's errors, a message pasted alone). A line ending a sentence ends the message.
_CONTINUED = frozenset({"event-row", "text"})
_SENTENCE_END = (".", "!", '"', "'", ")", "]", "}")
_NOT_CONTINUATION = (" ", "\t", "{", "[", "<", '"', "#", "$", "-", "=", "*", ">", "|")
_CONTINUATION_LINES = 6
# A terminal hard-wraps a line at its width: a log line at least this long that stops in the middle of
# a word may go on in the next line, whatever its format (a kernel line wrapped inside a pod UID).
_WRAP_WIDTH = 80
_GOES_ON = (":", ",", "=", "-", "/", "(")  # a line ending so has more to say
_PROGRAM_SAYS = re.compile(r"^[a-z][\w.-]{0,30}: ")  # ``make: *** [deploy] Error``: another program's line
_STAMP_START = re.compile(r"^\d{1,4}[-/:.,_]\d")  # a time, date or address: a line of its own
_JOIN_LINES = 8  # a wrapped JSON line is joined from at most this many pieces
# A multi-line document (an event list, a pod as YAML or JSON) held until it closes is at most this
# big; past it, or at a line no pretty-printed JSON has, its lines are read one by one instead.
MAX_DOC_BYTES = 8 * 1024 * 1024
_YAML_TOP = re.compile(r"^(?:apiVersion|items|kind|metadata|status):(?: |$)")
_YAML_CONT = re.compile(r'^(?:[ -]|[A-Za-z_"][\w"]*:(?: |$)|---|\.\.\.)')
_JOURNAL_BANNER = re.compile(r"^-- (?:Logs begin at|Journal begins at) \w{3} (\d{4})-(\d\d)-(\d\d)")
# The first characters of every single-line format read here (klog, syslog/journald, RFC 3339 and
# capnslog stamps, dmesg, JSON, logfmt, kubectl drain, shell prompts).
_KNOWN_START = re.compile(
    r"(?:[a-z]{0,16}\d{4}/\d\d/\d\d \d\d:|\[(?:INFO|WARN|WARNING|ERROR|DEBUG|NOTICE)\] |[IWEF]\d{4} \d\d:|[A-Za-z]{3} [ \d]\d \d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:|\[|time=|ts=|"
    r"node/|pod/|evicting pod |error when evicting |error: unable to drain|There are pending pods|"
    r"Warning: |WARNING: |Error from server|error: |\$ |# |[\w@.:~/-]{1,64}[$#] |-- )"
)


def _known_start(text: str) -> bool:
    """The line begins like one of the formats read here (or is a JSON object)."""
    return _KNOWN_START.match(text) is not None or (text[:1] == "{" and text.rstrip().endswith("}"))


_SINGLE = (
    prompt.parse,
    klog.parse,
    etcd_text.parse,
    golog.parse,
    kernel.parse,
    jsonlog.parse,
    logfmt.parse,
    drain.parse,
    resource_rows.parse,
    event_row.parse,
)


class Sink(Protocol):
    def process(self, rec: Record) -> bool:
        """Recognise one record; True when a recogniser claimed it."""

    def note_text(self, text: str) -> None:
        """See a raw line (the pod UIDs kubelet lines name)."""

    def note_start(self, start: date) -> None:
        """The day the evidence begins (journald's banner)."""

    def end_file(self, name: str) -> None:
        """The end of one input: what recognisers kept for later becomes findings."""


@dataclass
class Stats:
    files: int = 0
    files_unreadable: list[dict[str, str]] = field(default_factory=list)
    files_skipped: list[dict[str, str]] = field(default_factory=list)  # inside directories: binary, special
    files_truncated: list[dict[str, str]] = field(default_factory=list)  # stopped at the size cap
    lines: int = 0
    lines_truncated: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    unknown_lines: int = 0
    unknown_samples: list[dict[str, object]] = field(default_factory=list)

    def unknown(self, file: str, line: int, text: str) -> None:
        self.unknown_lines += 1
        if len(self.unknown_samples) < 5:
            self.unknown_samples.append({"file": file, "line": line, "text": text[:160]})


class FileReader:
    def __init__(self, name: str, sink: Sink, stats: Stats, seq: list[int]) -> None:
        self.name, self.sink, self.stats, self.seq = name, sink, stats, seq
        self.table: events_table.Table | None = None
        self.pods: pods_table.Table | None = None
        self.block: describe.Block | None = None
        self.doc: list[str] | None = None
        self.doc_json = False
        self.doc_start = 0
        self.doc_bytes = 0
        self.loose = False
        # the object of the last ``$ kubectl describe node X`` prompt: a describe output without its
        # Name line is that object's
        self.described: tuple[str, str, str | None] | None = (
            None  # re-reading an abandoned document's lines: none of them opens another
        )
        self.partial: list[tuple[int, str]] | None = None  # the pieces of a JSON line the paste wrapped
        self.gap = False  # a blank line inside an open describe block
        # a single-line record whose message may go on in the next lines (a hard wrap): (line, text,
        # record, parsed, continuation lines taken)
        self.pending: tuple[int, str, Record, bool, int] | None = None

    # ------------------------------------------------------------------ records
    def record(self, line: int, text: str) -> Record:
        self.seq[0] += 1
        return Record(self.name, line, text, "text", text, seq=self.seq[0])

    def emit(self, rec: Record) -> bool:
        if self.pending is not None and self.pending[2] is not rec:
            self.flush_pending()
        self.stats.formats[rec.source] += 1
        return self.sink.process(rec)

    # ------------------------------------------------------------------ driving
    def feed(self, lines: Iterable[str]) -> None:
        n = 0
        for n, raw in enumerate(lines, 1):
            self.line(n, raw.rstrip("\r\n"))
        self.close()

    def close(self) -> None:
        self.flush_partial()
        self.flush_pending()
        if self.doc is not None:
            self.end_doc()
        self.end_block()
        self.sink.end_file(self.name)

    def line(self, n: int, text: str) -> None:
        self.stats.lines += 1
        if self.partial is not None and self.join(n, text):
            return
        try:
            self.dispatch(n, text)
        except ValueError as exc:  # a parser met a number of thousands of digits: not a line it reads
            if not number_too_long(exc):
                raise
            self.stats.unknown(self.name, n, text)

    def dispatch(self, n: int, text: str) -> None:
        if self.pending is not None:
            if self.continues(text):
                self.extend_pending(text)
                return
            self.flush_pending()
        if self.doc is not None:
            self.doc_bytes += len(text) + 1
            if self.doc_bytes > MAX_DOC_BYTES:
                self.abandon_doc()
            elif self.doc_json:
                # Pretty-printed JSON (kubectl -o json, jq): every line inside is indented.
                if text[:1] in (" ", "\t", "") or text in ("}", "]", "},", "],"):
                    self.doc.append(text)
                    if text in ("}", "]"):
                        self.end_doc()
                    return
                self.abandon_doc()
            elif text and _YAML_CONT.match(text):
                self.doc.append(text)
                return
            else:
                self.end_doc()
        if not text.strip():
            self.table = self.pods = None
            if self.block is not None and self.block.section != "Events":
                # A describe block may go on after a blank line: some consoles copy every line
                # followed by an empty one. The next line decides.
                self.gap = True
                return
            self.end_block()
            return
        if "\x00" in text:
            self.stats.unknown(self.name, n, text)
            return
        if self.table is not None and self.table_row(n, text):
            return
        if self.pods is not None:
            rec = self.record(n, text)
            if pods_table.row(self.pods, text, rec):
                self.emit(rec)
                return
            self.pods = None
        if self.header(text):
            return
        if self.describe_line(n, text):
            return
        if not self.loose and (
            text.strip() in ("{", "[")
            or (text.startswith(('{"', '{ "')) and not text.rstrip().endswith("}") and text.count('"') <= 4)
            or (text[:1] in (" ", '"') and _JSON_MEMBER.match(text) is not None)
        ):
            self.doc, self.doc_json, self.doc_start, self.doc_bytes = [text], True, n, len(text) + 1
            return
        if not self.loose and _YAML_TOP.match(text):
            self.doc, self.doc_json, self.doc_start, self.doc_bytes = [text], False, n, len(text) + 1
            return
        if text.startswith("-- "):
            banner = _JOURNAL_BANNER.match(text)
            if banner:
                try:
                    self.sink.note_start(date(*(int(g) for g in banner.groups())))
                except ValueError:
                    self.stats.unknown(self.name, n, text)
                    return
                self.stats.formats["journal-banner"] += 1
                return
        if text[:1] in ("$", "#") or "$ " in text[:40]:
            self.note_prompt(text)
        self.single(n, text)

    def note_prompt(self, text: str) -> None:
        """A shell prompt: a ``kubectl describe`` of one node or pod names what follows; any other
        command ends that."""
        m = _PROMPT_CMD.match(text)
        if m is None:
            return
        self.described = _described(m.group(1).split()[:12])

    def header(self, text: str) -> bool:
        pods = pods_table.header(text)
        if pods is not None:
            self.pods = pods
            self.stats.formats["pods-header"] += 1
            return True
        table = events_table.header(text)
        if table is not None:
            self.table = table
            self.stats.formats["events-header"] += 1
            return True
        return False

    def table_row(self, n: int, text: str) -> bool:
        """One row of the open events table: sliced by the header, or read from its words when the
        paste lost the padding; False ends the table."""
        table = self.table
        assert table is not None
        if events_table.is_separator(text):
            return True
        rec = self.record(n, text)
        if not events_table.row(table, text, rec):
            rec = self.record(n, text)
            if not event_row.parse(text, rec):
                self.table = None
                return False
        if table.describe and self.block is not None and self.block.name:
            b = self.block
            rec.kind, rec.name, rec.namespace = b.kind, b.name, b.namespace
            rec.node = (b.node if b.kind == "Pod" else b.name) or rec.node
        elif table.describe:
            assigned = _ASSIGNED.search(rec.message) if rec.reason == "Scheduled" else None
            if assigned:
                table.subject = (assigned.group(1), assigned.group(2), assigned.group(3))
            if table.subject is not None and rec.name is None:
                rec.kind = "Pod"
                rec.namespace, rec.name, node = table.subject
                rec.node = rec.node or node
        self.emit(rec)
        return True

    def describe_line(self, n: int, text: str) -> bool:
        if self.block is not None and self.gap:
            self.gap = False
            if not (text[:1] in (" ", "\t") or describe.start(text) or describe.CONDITION.match(text)):
                self.end_block()
        if self.block is not None and self.block.section == "Events":
            self.end_block()  # an Events table whose header was not recognised: its rows are single lines
            return False
        if self.block is not None:
            indented = text[:1] in (" ", "\t")
            if describe.start(text) and text.startswith("Name:"):
                self.end_block()
            elif indented or describe.start(text) or not _known_start(text):
                self.block.feed(n, text)
                self.stats.formats["describe"] += 1
                return True
            else:
                self.end_block()
        if describe.start(text) or describe.CONDITION.match(text):
            self.block = describe.Block(None, n)
            if self.described is not None:
                kind, name, namespace = self.described
                self.block.kind, self.block.name, self.block.namespace = kind, name, namespace
            self.block.feed(n, text)
            self.stats.formats["describe"] += 1
            return True
        return False

    def single(self, n: int, text: str, hold: bool = True) -> None:
        if "pod=" in text:
            self.sink.note_text(text)
        if hold and _wrapped_json_start(text):
            self.partial = [(n, text)]
            return
        if KEYWORDS.search(text) is None:
            # Nothing any recogniser looks for: only say whether the line is in a known format.
            if _known_start(text) or "level=" in text:
                self.stats.formats["skimmed"] += 1
            else:
                self.stats.unknown(self.name, n, text)
            return
        rec = self.record(n, text)
        inner = envelope.strip(text, rec).lstrip()
        journal = journal_json.unwrap(inner, rec)
        if journal is not None:
            inner = journal.lstrip()
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
        if self.pending is not None:
            self.flush_pending()
        if not rec.text.rstrip().endswith(_SENTENCE_END) and (
            rec.source in _CONTINUED or (len(text) >= _WRAP_WIDTH and text[-1:].isalnum())
        ):
            self.pending = (n, text, rec, parsed, 0)  # its message may go on in the next lines
            return
        self.finish_single(n, text, rec, parsed)

    def finish_single(self, n: int, text: str, rec: Record, parsed: bool) -> None:
        claimed = self.emit(rec)
        if not parsed and not claimed:
            self.stats.formats["text"] -= 1
            self.stats.unknown(self.name, n, text)

    # ------------------------------------------------------------------ hard-wrapped messages
    def continues(self, text: str) -> bool:
        """The line goes on with the held record's message: a hard-wrapped event or error message
        (``desc = failed to pull ...`` under ``Failed to pull image "x": rpc error: code = Unknown``).
        Only text in no format of its own, flush left, a few lines at most."""
        assert self.pending is not None
        if self.pending[4] >= _CONTINUATION_LINES or not text.strip() or text[:1] in _NOT_CONTINUATION:
            return False
        if (
            _known_start(text)
            or _STAMP_START.match(text)
            or (KEYWORDS.search(text) is None and len(text) < 12)
        ):
            return False
        if pods_table.header(text) is not None or events_table.header(text) is not None:
            return False
        if describe.start(text) or describe.CONDITION.match(text):
            return False
        held = self.pending[2].text
        mid_sentence = text[:1].islower() or text[:1].isdigit() or held.rstrip().endswith(_GOES_ON)
        if not mid_sentence or _PROGRAM_SAYS.match(text) or text.split(None, 1)[0] == held.split(None, 1)[0]:
            return False  # a new message: capitalised, another program's, or the same kind of line again
        probe = Record(self.name, 0, text, "text", text)
        return not any(parse(text, probe) for parse in _SINGLE)

    def extend_pending(self, text: str) -> None:
        assert self.pending is not None
        n, first, rec, parsed, count = self.pending
        rec.text = f"{rec.text}\n{text}"
        rec.message = f"{rec.message.rstrip()} {text.strip()}"
        self.stats.formats["continued"] += 1
        done = text.rstrip().endswith(_SENTENCE_END) or len(rec.text) > MAX_LINE_BYTES
        self.pending = (n, first, rec, parsed, count + 1)
        if done:
            self.flush_pending()

    def flush_pending(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            n, text, rec, parsed, _ = pending
            self.finish_single(n, text, rec, parsed)

    # ------------------------------------------------------------------ wrapped JSON
    def join(self, n: int, text: str) -> bool:
        """Add a piece to a JSON line the paste wrapped; True when the line was taken."""
        assert self.partial is not None
        pieces = [*self.partial, (n, text)]
        joined = "".join(t for _, t in pieces)
        if not text.strip():
            self.flush_partial()
            return False
        if joined.rstrip().endswith("}") and _is_json(joined[joined.find('{"') :]):
            self.partial = None
            self.single(pieces[0][0], joined, hold=False)
            return True
        if len(pieces) < _JOIN_LINES and len(joined) < MAX_LINE_BYTES:
            self.partial = pieces
            return True
        self.flush_partial()
        return False

    def flush_partial(self) -> None:
        """Pieces that never became one JSON line are read one by one, as they are."""
        pieces, self.partial = self.partial or [], None
        for i, (n, text) in enumerate(pieces):
            if i == 0:
                self.single(n, text, hold=False)
            else:
                self.dispatch(n, text)

    # ------------------------------------------------------------------ blocks
    def abandon_doc(self) -> None:
        """A document that never closes (a cut paste, a stray brace): what it holds up to the cut is read
        when closing its brackets makes it valid JSON; otherwise its opening line is unknown and the rest
        is read line by line, as if no document had begun."""
        lines, start = self.doc or [], self.doc_start
        self.doc = None
        if self.doc_json and len(lines) > 1 and self.read_cut(lines, start):
            return  # (an opening line alone holds nothing to read)
        self.stats.unknown(self.name, start, lines[0] if lines else "")
        self.loose = True
        try:
            for i, text in enumerate(lines[1:], 1):
                self.dispatch(start + i, text)
        finally:
            self.loose = False

    def end_doc(self) -> None:
        lines, start, is_json = self.doc or [], self.doc_start, self.doc_json
        self.doc = None
        doc = events_doc.load("\n".join(lines), is_json)
        if doc is None and is_json and self.read_cut(lines, start):
            return  # cut before its end, or a member pasted without its braces
        if not self.read_doc(lines, start, doc):
            for i, line in enumerate(lines):
                if line.strip():
                    self.stats.unknown(self.name, start + i, line)

    def read_cut(self, lines: list[str], start: int) -> bool:
        """A JSON document cut short, read up to the cut: True when it held events or pod facts. The
        lines dropped to close it (an unfinished member) are counted unknown."""
        closed = events_doc.close_cut("\n".join(lines))
        doc = events_doc.load(closed, True)
        if doc is None or not self.read_doc(lines, start, doc):
            return False
        kept = closed.count("\n") + 1
        for i in range(kept, len(lines)):
            if lines[i].strip():
                self.stats.unknown(self.name, start + i, lines[i])
        return True

    def read_doc(self, lines: list[str], start: int, doc: object) -> bool:
        """Emit the events or pod facts of a parsed document; False when it holds neither."""
        items = events_doc.events(doc)
        if items is None:
            pod_facts = pod_doc.facts(doc)
            if pod_facts is None:
                return False
            self.stats.formats["pod-doc-lines"] += len(lines)
            for fact in pod_facts:
                at = events_doc.locate(lines, fact.reason, 0)
                rec = self.record(start + at, lines[at].strip())
                rec.source, rec.reason, rec.message = "pod-doc", fact.reason, fact.message
                rec.kind, rec.name, rec.namespace, rec.node = "Pod", fact.pod, fact.namespace, fact.node
                rec.container = fact.container
                if fact.exit_code is not None:
                    rec.fields["exit_code"] = fact.exit_code
                if fact.restarts:
                    rec.fields["restarts"] = fact.restarts
                if fact.finished:
                    rec.time = parse_rfc3339(str(fact.finished))
                self.emit(rec)
            return True
        self.stats.formats["events-doc-lines"] += len(lines)
        cursor = 0
        for event in items:
            message = str(event.get("message") or event.get("note") or "")
            at = events_doc.locate(lines, message, cursor)
            cursor = at
            rec = self.record(start + at, lines[at].strip())
            events_doc.fill(event, rec)
            self.emit(rec)
        return True

    def end_block(self) -> None:
        b = self.block
        self.block, self.gap = None, False
        if b is None:
            return
        if b.reason == "Evicted" or (b.status == "Failed" and "low on resource" in b.message):
            rec = self._describe_rec(
                b, b.message_line or b.line, f"Reason: {b.reason}, Message: {b.message}", "Evicted", None
            )
            rec.message = b.message
            self.emit(rec)
        for c in b.containers:
            text = "\n".join(t for _, t in c.lines)
            line = c.lines[0][0] if c.lines else c.line
            base: dict[str, object] = {"restarts": c.restarts}
            if c.exit_code:
                base["exit_code"] = c.exit_code
            if c.last_reason == "OOMKilled" or c.state_reason == "OOMKilled":
                rec = self._describe_rec(b, line, text, "OOMKilled", c.name)
                rec.message = "Terminated, Reason: OOMKilled" + (
                    f", Exit Code: {c.exit_code}" if c.exit_code else ""
                )
                rec.time = c.finished
                rec.fields.update(base)
                self.emit(rec)
            if c.state_reason in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"):
                rec = self._describe_rec(b, line, text, c.state_reason, c.name)
                rec.message = f"State: Waiting, Reason: {c.state_reason}, Restart Count: {c.restarts}"
                if c.state_reason != "CrashLoopBackOff":
                    rec.reason = f"Status{c.state_reason}"
                    rec.message = f"State: Waiting, Reason: {c.state_reason}"
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
            rec.kind, rec.name = "Node", b.name if b.kind == "Node" else b.node
            rec.message = f"{cond.type} {cond.status} {cond.reason} {cond.message}".strip()
            rec.time = cond.since
            self.emit(rec)
        for line, taint in b.taints:
            rec = self._describe_rec(b, line or b.line, f"Taints: {taint}", "", None)
            rec.reason = None
            rec.kind, rec.name = "Node", b.name
            rec.message = taint
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


def _described(words: list[str]) -> tuple[str, str, str | None] | None:
    """``kubectl [-n NS] describe node|pod[/]NAME [-n NS]`` (also ``oc``, ``k``): (kind, name, namespace)."""
    if not words or words[0] not in ("kubectl", "oc", "k") or "describe" not in words:
        return None
    namespace = None
    rest = []
    skip = False
    for i, word in enumerate(words[1:], 1):
        if skip:
            skip = False
            continue
        if word in ("-n", "--namespace"):
            namespace, skip = (words[i + 1] if i + 1 < len(words) else None), True
        elif word.startswith(("-n=", "--namespace=")):
            namespace = word.partition("=")[2]
        elif not word.startswith("-"):
            rest.append(word)
    if rest[:1] != ["describe"] or len(rest) < 2:
        return None
    kind_word, _, name = rest[1].partition("/")
    if not name and len(rest) == 3:
        name = rest[2]
    kind = _DESCRIBED_KINDS.get(kind_word.lower())
    if kind is None or not name or len(rest) > 3:
        return None
    return kind, name, namespace if kind == "Pod" else None


def _wrapped_json_start(text: str) -> bool:
    """A JSON log line cut by the terminal: ``{"`` right at the start or after an envelope
    (journald's ``k3s[820]: ``, CRI's ``stderr F ``, a node address ``10.200.1.5: ``), and no closing
    brace."""
    if text.rstrip().endswith("}"):
        return False
    offset = text.find('{"')
    if offset < 0:
        return False
    before = text[:offset]
    return (
        not before.strip()
        or before.endswith(("]: ", " F ", " P "))
        or (before.endswith(": ") and before[:1].isdigit() and before[:-2].replace(".", "").isdigit())
        or (before.endswith(": ") and envelope.is_prefix(before))
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the stack
        return False
    return True


# ---------------------------------------------------------------------------------------------- inputs


class _Capped:
    """Lines of a binary stream, each at most ``MAX_LINE_BYTES`` (the rest of a longer line is read
    and dropped), stopping after ``limit`` bytes in all."""

    def __init__(self, handle: BinaryIO, limit: int, stats: Stats) -> None:
        self.handle, self.limit, self.stats = handle, limit, stats
        self.read = 0
        self.truncated = False

    def __iter__(self) -> Iterator[str]:
        handle = self.handle
        first = True
        while True:
            if self.read >= self.limit:
                if handle.read(1):
                    self.truncated = True
                return
            raw = handle.readline(min(MAX_LINE_BYTES, self.limit - self.read) + 1)
            if not raw:
                return
            self.read += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self.stats.lines_truncated += 1
                raw = raw[:MAX_LINE_BYTES]
                while True:  # skip the rest of the line in bounded pieces
                    rest = handle.readline(MAX_LINE_BYTES)
                    self.read += len(rest)
                    if not rest or rest.endswith(b"\n") or self.read >= self.limit:
                        break
            if first:
                first = False
                raw = raw.removeprefix(_UTF8_BOM)  # Windows editors and PowerShell's Out-File write one
            yield raw.decode("utf-8", errors="replace")


_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class _Utf16:
    """A UTF-16 text stream with its byte-order mark (what Windows PowerShell 5.1's ``>`` writes: ``kubectl
    get events > events.txt``) read as UTF-8 lines, each at most ``MAX_LINE_BYTES`` characters per read."""

    def __init__(self, handle: BinaryIO) -> None:
        self.text = io.TextIOWrapper(handle, encoding="utf-16", errors="replace", newline="")

    def readline(self, size: int = -1) -> bytes:
        return self.text.readline(size).encode("utf-8")

    def read(self, size: int = -1) -> bytes:
        return self.text.read(size).encode("utf-8")


def _is_utf16(head: bytes) -> bool:
    return head[:2] in _UTF16_BOMS


def _read_stream(name: str, handle: BinaryIO, sink: Sink, stats: Stats, seq: list[int], limit: int) -> None:
    lines = _Capped(handle, limit, stats)
    FileReader(name, sink, stats, seq).feed(lines)
    if lines.truncated:
        stats.files_truncated.append(
            {"file": name, "error": f"larger than the input size cap ({limit} bytes): read up to the cap"}
        )


def read_path(
    path: str, sink: Sink, stats: Stats, seq: list[int], limit: int = DEFAULT_MAX_INPUT_BYTES
) -> None:
    """Read one file, directory (every readable log in it) or ``-``; problems are recorded in
    ``stats``, never raised."""
    if path == "-":
        stream = sys.stdin.buffer
        peek = getattr(stream, "peek", None)
        if peek is not None and _is_utf16(peek(8192)[:2]):
            stats.files += 1
            _read_stream(STDIN_NAME, cast(BinaryIO, _Utf16(stream)), sink, stats, seq, limit)
            return
        if peek is not None and b"\x00" in peek(8192)[:8192]:
            stats.files_unreadable.append({"file": STDIN_NAME, "error": "binary data, not a text log"})
            return
        stats.files += 1
        _read_stream(STDIN_NAME, stream, sink, stats, seq, limit)
        return
    if os.path.isdir(path):
        _read_directory(path, sink, stats, seq, limit)
        return
    _read_file(path, sink, stats, seq, limit, problems=stats.files_unreadable)


def _read_directory(path: str, sink: Sink, stats: Stats, seq: list[int], limit: int) -> None:
    found = False
    for root, dirs, files in os.walk(
        path,
        onerror=lambda e: stats.files_unreadable.append(
            {"file": str(e.filename), "error": e.strerror or str(e)}
        ),
    ):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = os.path.join(root, name)
            try:
                info = os.stat(full)
            except OSError as exc:
                stats.files_skipped.append({"file": full, "error": f"unreadable: {exc.strerror or exc}"})
                continue
            if not stat.S_ISREG(info.st_mode):
                stats.files_skipped.append({"file": full, "error": "not a regular file"})
                continue
            found = True
            _read_file(full, sink, stats, seq, limit, problems=stats.files_skipped)
    if not found:
        stats.files_unreadable.append({"file": path, "error": "a directory with no readable file in it"})


def _read_file(
    path: str, sink: Sink, stats: Stats, seq: list[int], limit: int, problems: list[dict[str, str]]
) -> None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        problems.append({"file": path, "error": exc.strerror or str(exc)})
        return
    with handle:
        try:
            head = handle.read(8192)
            if head[:2] == b"\x1f\x8b":  # rotated logs are often gzipped (kubelet.log.1.gz)
                import gzip

                handle.seek(0)
                with gzip.open(handle, "rb") as unzipped:
                    if b"\x00" in unzipped.peek(8192)[:8192]:
                        problems.append(
                            {"file": path, "error": "binary data inside the gzip stream, not a text log"}
                        )
                        return
                    stats.files += 1
                    _read_stream(path, cast(BinaryIO, unzipped), sink, stats, seq, limit)
                return
            handle.seek(0)
            if _is_utf16(head):
                stats.files += 1
                _read_stream(path, cast(BinaryIO, _Utf16(handle)), sink, stats, seq, limit)
                return
            if b"\x00" in head:
                problems.append({"file": path, "error": "binary data, not a text log"})
                return
        except (OSError, EOFError, zlib.error) as exc:
            problems.append({"file": path, "error": f"cannot be read: {exc}"})
            return
        stats.files += 1
        try:
            _read_stream(path, handle, sink, stats, seq, limit)
        except (OSError, EOFError, zlib.error) as exc:  # a gzip stream cut short, an I/O error part-way
            stats.files_unreadable.append({"file": path, "error": f"read stopped part-way: {exc}"})


__all__ = ["MAX_LINE_BYTES", "STDIN_NAME", "FileReader", "Sink", "Stats", "read_path"]
