"""Kernel log lines: ``dmesg`` (``[12345.678901] ...``, ``dmesg -T``: ``[Wed Nov 25 19:30:00 2026]``)
and journald/syslog lines from the ``kernel`` identifier (the envelope is stripped before)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from premortem.diagnose.records import Record

_BOOT = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")
_HUMAN = re.compile(r"^\[(\w{3} (\w{3}) +(\d{1,2}) (\d\d:\d\d:\d\d) (\d{4}))\]\s?(.*)$")


def parse(text: str, rec: Record) -> bool:
    if text.startswith("["):
        m = _BOOT.match(text)
        if m:
            rec.fields["boot_seconds"] = float(m.group(1))
            rec.message = m.group(2)
            rec.source = "kernel"
            return True
        m = _HUMAN.match(text)
        if m:
            try:
                value = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
            except ValueError:
                return False
            rec.time = value
            rec.message = m.group(6)
            rec.source = "kernel"
            return True
        return False
    if rec.process == "kernel":
        rec.message = text
        rec.source = "kernel"
        return True
    return False
