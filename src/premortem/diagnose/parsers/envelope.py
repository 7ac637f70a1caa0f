"""Prefixes other programs put in front of a component's own line: the CRI log file format
(``2026-11-25T19:30:00.123456789Z stderr F ...``), syslog and ``journalctl`` (``Nov 25 19:30:00 host
kubelet[812]: ...``, ``-o short-iso``) and a bare RFC 3339 timestamp."""

from __future__ import annotations

import re

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_rfc3339, syslog_time

_CRI = re.compile(r"^(\d{4}-\d{2}-\d{2}T\S+) (?:stdout|stderr) [FP] (.*)$")
_SYSLOG = re.compile(
    r"^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d) (\S+) ([^\s:\[]+)(?:\[\d+\])?: ?(.*)$"
)
_ISO_SYSLOG = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) (\S+) ([^\s:\[]+)(?:\[\d+\])?: ?(.*)$"
)
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d\S*)\s+(.*)$")
_KUBECTL_PREFIX = re.compile(r"^\[pod/([^/\]]+)/([^\]]+)\] (.*)$")  # kubectl logs --prefix


def strip(text: str, rec: Record) -> str:
    """Remove envelopes, recording their time, host and process on the record; return the inner line."""
    for _ in range(2):
        first = text[:1]
        if first.isdigit():
            m = _CRI.match(text)
            if m:
                rec.time = parse_rfc3339(m.group(1)) or rec.time
                text = m.group(2)
                continue
            m = _ISO_SYSLOG.match(text)
            if m:
                rec.time = parse_rfc3339(m.group(1)) or rec.time
                rec.host, rec.process, text = m.group(2), m.group(3), m.group(4)
                continue
            m = _ISO.match(text)
            if m and text[10:11] != " ":
                value = parse_rfc3339(m.group(1))
                if value is not None:
                    rec.time = value
                    text = m.group(2)
                    continue
        elif first == "[" and text.startswith("[pod/"):
            m = _KUBECTL_PREFIX.match(text)
            if m:
                rec.fields.setdefault("source_pod", m.group(1))
                rec.fields.setdefault("source_container", m.group(2))
                text = m.group(3)
                continue
        elif first.isupper():
            m = _SYSLOG.match(text)
            if m:
                value = syslog_time(m.group(1), m.group(2), m.group(3))
                if value is not None:
                    rec.time, rec.year_guessed = value, True
                rec.host, rec.process, text = m.group(4), m.group(5), m.group(6)
                continue
        break
    return text
