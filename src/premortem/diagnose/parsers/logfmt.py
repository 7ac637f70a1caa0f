"""logfmt, as cilium-agent (logrus) prints it:

time="2026-11-25T19:31:05Z" level=warning msg="Failed to update policy map" error="... argument list too long" subsys=policy
"""

from __future__ import annotations

from premortem.diagnose.parsers import kv
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_rfc3339

_SKIP = frozenset({"time", "level", "msg", "ts"})


def parse(text: str, rec: Record) -> bool:
    if "level=" not in text or "msg=" not in text:
        return False
    fields = kv.pairs(text)
    if "level" not in fields or "msg" not in fields:
        return False
    stamp = fields.get("time") or fields.get("ts")
    if stamp:
        rec.time = parse_rfc3339(stamp) or rec.time
    rec.level = fields["level"].lower()
    rec.source = "logfmt"
    rest = {k: v for k, v in fields.items() if k not in _SKIP}
    rec.fields.update(rest)
    rec.message = kv.render(fields["msg"], rest)
    return True
