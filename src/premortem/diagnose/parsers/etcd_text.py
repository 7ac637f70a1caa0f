"""etcd's capnslog text format (etcd 3.4 without ``--logger=zap``, and older):

2026-11-25 19:30:00.123456 W | etcdserver: failed to send out heartbeat on time (exceeded ...)
2026-11-25 19:30:00.123456 W | wal: sync duration of 1.2s, expected less than 1s
"""

from __future__ import annotations

import re

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_rfc3339

_CAPNSLOG = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) ([DINWECF]) \| (?:([\w./-]+): )?(.*)$"
)
LEVELS = {
    "D": "debug",
    "I": "info",
    "N": "notice",
    "W": "warning",
    "E": "error",
    "C": "critical",
    "F": "fatal",
}


def parse(text: str, rec: Record) -> bool:
    if not text[:1].isdigit():
        return False
    m = _CAPNSLOG.match(text)
    if not m:
        return False
    stamp, level, package, message = m.groups()
    rec.time = parse_rfc3339(stamp) or rec.time
    rec.level = LEVELS[level]
    rec.source = "etcd-text"
    rec.process = rec.process or "etcd"
    if package:
        rec.fields["package"] = package
    rec.message = f"{package}: {message}" if package else message
    return True
