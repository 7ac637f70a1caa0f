"""Prefixes other programs put in front of a component's own line: the CRI log file format
(``2026-11-25T19:30:00.123456789Z stderr F ...``), syslog and ``journalctl`` (``Nov 25 19:30:00 host
kubelet[812]: ...`` in any month case, ``-o short-iso``, or only ``kubelet[812]: ...``), a bare RFC
3339 timestamp, ``kubectl logs --prefix`` (``[pod/web-1/web] ...``), tilt's ``[event: pod ns/name]``,
a node address (``talosctl logs``: ``10.200.1.5: ...``) and the Rancher UI's ``Tue, Mar 15 2022 5:04:44 pm | ...``."""

from __future__ import annotations

import re

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_rfc3339, syslog_time

_CRI = re.compile(r"^(\d{4}-\d{2}-\d{2}T\S{1,40}) (?:stdout|stderr) [FP] (.*)$")
_SYSLOG = re.compile(
    r"^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d{1,9})? (\S{1,253}) ([^\s:\[]{1,64})(?:\[\d{1,10}\])?: ?(.*)$"
)
_ISO_SYSLOG = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) (\S{1,253}) ([^\s:\[]{1,64})(?:\[\d{1,10}\])?: ?(.*)$"
)
# ``talosctl logs`` and other multi-node tools: ``10.200.1.5: <the node's line>``.
_NODE_IP = re.compile(r"^((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}): (.*)$")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d\S{0,40})\s+(.*)$")
_IDENT = re.compile(r"^([a-z][\w.-]{0,63})\[\d{1,10}\]: (.*)$")  # journald without its date and host
_KUBECTL_PREFIX = re.compile(r"^\[pod/([^/\]]{1,253})/([^\]]{1,253})\] (.*)$")  # kubectl logs --prefix
_TILT_EVENT = re.compile(r"^\[event: (?:pod )?([a-z0-9][-a-z0-9]{0,62})/([a-z0-9][-a-z0-9.]{0,252})\] (.*)$")
_RANCHER = re.compile(r"^\w{3}, \w{3} \d{1,2} \d{4} \d{1,2}:\d\d:\d\d [ap]m \| (.*)$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def strip(text: str, rec: Record) -> str:
    """Remove envelopes, recording their time, host and process on the record; return the inner line."""
    for _ in range(3):
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
            m = _NODE_IP.match(text)
            if m:
                rec.host, text = m.group(1), m.group(2)
                continue
            m = _ISO.match(text)
            if m and text[10:11] != " ":
                value = parse_rfc3339(m.group(1))
                if value is not None:
                    rec.time = value
                    text = m.group(2)
                    continue
        elif first == "[":
            m = _KUBECTL_PREFIX.match(text) if text.startswith("[pod/") else None
            if m:
                rec.fields.setdefault("source_pod", m.group(1))
                rec.fields.setdefault("source_container", m.group(2))
                text = m.group(3)
                continue
            m = _TILT_EVENT.match(text) if text.startswith("[event: ") else None
            if m:
                rec.kind, rec.namespace, rec.name = "Pod", m.group(1), m.group(2)
                text = m.group(3)
                continue
        elif first.isalpha():
            if text[:3].lower() in _MONTHS:
                m = _SYSLOG.match(text)
                if m:
                    value = syslog_time(m.group(1), m.group(2), m.group(3))
                    if value is not None:
                        rec.time, rec.year_guessed = value, True
                    rec.host, rec.process, text = m.group(4), m.group(5), m.group(6)
                    continue
            if first.islower() and "]: " in text[:80]:
                m = _IDENT.match(text)
                if m:
                    rec.process, text = m.group(1), m.group(2)
                    continue
            if text[3:5] == ", ":
                m = _RANCHER.match(text)
                if m:
                    text = m.group(1)
                    continue
        break
    return text
