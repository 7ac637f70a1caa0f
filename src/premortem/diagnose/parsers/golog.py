"""Go's standard ``log`` package, as etcd 3.4's raft prints it in capnslog mode, and bracketed level
prefixes:

    raft2026/11/25 19:44:22 INFO: 2e1259d415f2a040 is starting a new election at term 1
    2026/11/25 19:44:22 http: TLS handshake error from 10.0.0.7:51234: EOF
    [WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from premortem.diagnose.records import Record

_GOLOG = re.compile(
    r"^([a-z][\w.-]*)?(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? "
    r"(?:(INFO|WARN|WARNING|ERROR|DEBUG|PANIC|FATAL): )?(.*)$"
)
_BRACKET = re.compile(r"^\[(INFO|WARN|WARNING|ERROR|DEBUG|NOTICE)\] (.*)$")


def parse(text: str, rec: Record) -> bool:
    first = text[:1]
    if first == "[":
        m = _BRACKET.match(text)
        if not m:
            return False
        rec.level, rec.message, rec.source = m.group(1).lower(), m.group(2), "golog"
        return True
    if not (first.isdigit() or first.islower()):
        return False
    m = _GOLOG.match(text)
    if not m:
        return False
    prefix, year, month, day, hh, mm, ss, frac, level, message = m.groups()
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        rec.time = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), micro, tzinfo=UTC)
    except ValueError:
        return False
    if prefix:
        rec.fields["logger"] = prefix
        if prefix == "raft":
            rec.process = rec.process or "etcd"
    if level:
        rec.level = level.lower()
    rec.message, rec.source = message, "golog"
    return True
