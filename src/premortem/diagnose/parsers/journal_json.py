"""journald's JSON export (``journalctl -o json``, one object per line): the entry's own message is
in ``MESSAGE``, around it the journal's fields. The envelope becomes the record's time
(``__REALTIME_TIMESTAMP``, microseconds since the epoch), host (``_HOSTNAME``) and process
(``SYSLOG_IDENTIFIER`` or ``_COMM``); the message is then read like any other line.

    {"__REALTIME_TIMESTAMP":"1764099000412873","_HOSTNAME":"worker-2","SYSLOG_IDENTIFIER":"kubelet",
     "MESSAGE":"I1125 19:30:00.412873 1187 eviction_manager.go:366] \\"Eviction manager: ...\\""}
"""

from __future__ import annotations

import json

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_epoch


def unwrap(text: str, rec: Record) -> str | None:
    """The entry's message with the journal's fields on ``rec``, or None when ``text`` is not one."""
    if '"MESSAGE"' not in text or not text.startswith("{"):
        return None
    try:
        entry = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("MESSAGE"), str):
        return None
    stamp = entry.get("__REALTIME_TIMESTAMP")
    if isinstance(stamp, str) and stamp.isdigit():
        rec.time = parse_epoch(int(stamp) / 1_000_000) or rec.time
    host = entry.get("_HOSTNAME")
    process = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM")
    if isinstance(host, str):
        rec.host = host
    if isinstance(process, str):
        rec.process = process
    rec.fields["journal"] = True
    return str(entry["MESSAGE"])
