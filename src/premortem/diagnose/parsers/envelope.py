"""Prefixes other programs put in front of a component's own line: the CRI log file format
(``2026-11-25T19:30:00.123456789Z stderr F ...``), syslog and ``journalctl`` (``Nov 25 19:30:00 host
kubelet[812]: ...`` in any month case, ``-o short-iso``, or only ``kubelet[812]: ...``), a bare RFC
3339 timestamp (and ``6月 16 21:40:45 host kubelet[691]: ...`` in CJK locales), ``kubectl logs --prefix`` (``[pod/web-1/web] ...``), tilt's ``[event: pod ns/name]``,
a node address (``talosctl logs``: ``10.200.1.5: ...``), the Rancher UI's ``Tue, Mar 15 2022 5:04:44 pm | ...``
and Rancher 1.x's ``1/16/2017 8:25:02 PM`` glued to the line, runit's svlogd stamp
(``2015-11-13_22:08:10.35486 ...``), a VMware guest log (``... In(05) vcpu-5 - Guest: ...``), the
kernel's printk priority (``<6>[1234.5678] ...``) and OpenShift's e2e monitor (``Nov 25 01:35:50.330 W
pod=web-1 ns=shop node=n1 container=app <message>``, whose fields name the pod) and its event locator
(``[event happened 56 times, something is wrong: ]ns/NS pod/NAME node/NODE - reason/BackOff ...``)."""

from __future__ import annotations

import re
from datetime import datetime

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import klog_time, parse_rfc3339, syslog_time

_CRI = re.compile(r"^(\d{4}-\d{2}-\d{2}T\S{1,40}) (?:stdout|stderr) [FP] (.*)$")
_SYSLOG = re.compile(
    r"^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d{1,9})? (\S{1,253}) ([^\s:\[]{1,64})(?:\[\d{1,10}\])?: ?(.*)$"
)
_ISO_SYSLOG = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) (\S{1,253}) ([^\s:\[]{1,64})(?:\[\d{1,10}\])?: ?(.*)$"
)
# journald's short format in a Chinese, Japanese or Korean locale: ``6月 16 21:40:45 host kubelet[691]: ...``.
_CJK_SYSLOG = re.compile(
    r"^(\d{1,2})[月월] {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d{1,9})? (\S{1,253}) ([^\s:\[]{1,64})(?:\[\d{1,10}\])?: ?(.*)$"
)
# ``talosctl logs`` and other multi-node tools: ``10.200.1.5: <the node's line>``.
_NODE_IP = re.compile(r"^((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}): (.*)$")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d\d:\d\d:\d\d\S{0,40})\s+(.*)$")
_IDENT = re.compile(r"^([a-z][\w.-]{0,63})\[\d{1,10}\]: (.*)$")  # journald without its date and host
_KUBECTL_PREFIX = re.compile(r"^\[pod/([^/\]]{1,253})/([^\]]{1,253})\] (.*)$")  # kubectl logs --prefix
_TILT_EVENT = re.compile(r"^\[event: (?:pod )?([a-z0-9][-a-z0-9]{0,62})/([a-z0-9][-a-z0-9.]{0,252})\] (.*)$")
_RANCHER = re.compile(r"^\w{3}, \w{3} \d{1,2} \d{4} \d{1,2}:\d\d:\d\d [ap]m \| (.*)$")
_RANCHER1 = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M ?(.*)$")  # local time, zone unknown
_SVLOGD = re.compile(r"^(\d{4}-\d\d-\d\d)_(\d\d:\d\d:\d\d\.\d{1,9}) (.*)$")
_VMWARE = re.compile(r"^[A-Z][a-z]\(\d\d\) [\w-]{1,32} - (?:Guest: )?(.*)$")
_PRINTK = re.compile(r"^<\d{1,3}>(\[.*)$")
_MONITOR = re.compile(r"^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)\.\d{1,9} ([IWE]) (.*)$")
_MONITOR_FIELD = re.compile(r"^(pod|ns|node|container)=([^\s=]{1,253}) ")
_LEVELS = {"I": "info", "W": "warning", "E": "error"}
# OpenShift's event locator (origin's monitor and its "events should not repeat pathologically" test):
# ``ns/NS pod/NAME node/NODE - reason/REASON message``, optionally behind ``event happened N times,
# something is wrong: ``.
_REPEATED = re.compile(r"^event happened (\d{1,9}) times, something is wrong: (.*)$")
_LOCATOR_FIELD = re.compile(r"^(ns|pod|node|container)/([^\s/]{1,253}) ")
_LOCATOR_REASON = re.compile(r"^- reason/(\w{1,64}) (.*)$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def strip(text: str, rec: Record) -> str:
    """Remove envelopes, recording their time, host and process on the record; return the inner line."""
    for _ in range(4):
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
                rec.host, rec.process, text = _host(m.group(2)), m.group(3), m.group(4)
                continue
            m = _CJK_SYSLOG.match(text) if text[1:3] in ("月 ", "월 ") or text[2:3] in ("月", "월") else None
            if m:
                text = _syslog(m, rec, klog_time(m.group(1), m.group(2), m.group(3)))
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
            m = _SVLOGD.match(text) if text[10:11] == "_" else None
            if m:
                rec.time = parse_rfc3339(f"{m.group(1)}T{m.group(2)}Z") or rec.time
                text = m.group(3)
                continue
            m = _RANCHER1.match(text) if "/" in text[:6] else None
            if m:
                text = m.group(1)
                continue
        elif first == "<":
            m = _PRINTK.match(text)
            if m:
                text = m.group(1)
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
                    text = _syslog(m, rec, syslog_time(m.group(1), m.group(2), m.group(3)))
                    continue
                m = _MONITOR.match(text)
                if m:
                    text = _monitor(m, rec)
                    continue
            if first in "en" and "ns/" in text[:64]:
                located = _locator(text, rec)
                if located is not None:
                    text = located
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
            if text[2:3] == "(":
                m = _VMWARE.match(text)
                if m:
                    text = m.group(1)
                    continue
        break
    return text


def _monitor(m: re.Match[str], rec: Record) -> str:
    """OpenShift's e2e monitor line: its time and level, and the objects its leading fields name."""
    value = syslog_time(m.group(1), m.group(2), m.group(3))
    if value is not None:
        rec.time, rec.year_guessed = value, True
    rec.level = _LEVELS[m.group(4)]
    text = m.group(5)
    located = _locator(text, rec)
    if located is not None:
        return located
    for _ in range(4):
        field = _MONITOR_FIELD.match(text)
        if field is None:
            break
        key, value_text = field.groups()
        if key == "pod":
            rec.kind, rec.name = "Pod", value_text
        elif key == "ns":
            rec.namespace = value_text
        elif key == "node":
            rec.node = value_text
        else:
            rec.container = value_text
        text = text[field.end() :]
    return text


def _syslog(m: re.Match[str], rec: Record, value: datetime | None) -> str:
    """A syslog/journald short line (month, day, time, host, identifier): its time (the year is not
    said), host and process on the record; the message after them."""
    if value is not None:
        rec.time, rec.year_guessed = value, True
    rec.host, rec.process = _host(m.group(4)), m.group(5)
    return m.group(6)


def _host(name: str) -> str | None:
    """The host a syslog line names; None when the paste hid it (``...``, ``***``)."""
    return None if not name.strip(".*") else name


def _locator(text: str, rec: Record) -> str | None:
    """An OpenShift event locator: the objects its fields name, its reason and repeat count; the
    message after it. None when the text is not one."""
    count = None
    repeated = _REPEATED.match(text)
    if repeated:
        count, text = int(repeated.group(1)), repeated.group(2)
    fields: dict[str, str] = {}
    for _ in range(4):
        field = _LOCATOR_FIELD.match(text)
        if field is None:
            break
        fields[field.group(1)] = field.group(2)
        text = text[field.end() :]
    reason = _LOCATOR_REASON.match(text)
    if not fields or reason is None:
        return None
    if "pod" in fields:
        rec.kind, rec.name = "Pod", fields["pod"]
    rec.namespace = fields.get("ns", rec.namespace)
    rec.node = fields.get("node", rec.node)
    rec.container = fields.get("container", rec.container)
    rec.reason = reason.group(1)
    if count is not None:
        rec.count = count
    return reason.group(2)


def is_prefix(text: str) -> bool:
    """The text is an envelope and nothing else (``Apr  4 08:38:43 host etcd: ``): what follows it is the
    component's own line."""
    return strip(text + "{}", Record("", 0, "", "", "")) == "{}"
