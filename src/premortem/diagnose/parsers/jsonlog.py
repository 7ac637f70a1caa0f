"""One JSON object per line: etcd's zap logger (3.4 with ``--logger=zap``, 3.5+), klog's JSON format
(``--logging-format=json``), cilium-agent with JSON logging."""

from __future__ import annotations

import json
from typing import Any

from premortem.diagnose.parsers import kv
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_epoch, parse_rfc3339

_META = frozenset({"level", "ts", "time", "timestamp", "caller", "msg", "message", "logger", "v", "severity"})


def parse(text: str, rec: Record) -> bool:
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    msg = obj.get("msg", obj.get("message"))
    if not isinstance(msg, str):
        return False
    stamp = obj.get("ts", obj.get("time", obj.get("timestamp")))
    if isinstance(stamp, int | float):
        rec.time = parse_epoch(stamp)
    elif isinstance(stamp, str):
        rec.time = parse_rfc3339(stamp) or rec.time
    level = obj.get("level", obj.get("severity"))
    if isinstance(level, str):
        rec.level = level.lower()
    caller = obj.get("caller")
    fields: dict[str, Any] = {k: v for k, v in obj.items() if k not in _META}
    rec.fields.update(fields)
    if isinstance(caller, str):
        rec.fields["caller"] = caller
        if (
            caller.startswith(("etcdserver/", "wal/", "raft/", "mvcc/", "embed/", "rafthttp/", "v3rpc/"))
            or "etcd" in caller
        ):
            rec.process = rec.process or "etcd"
    rec.source = "json"
    rec.message = kv.render(msg, {k: _text(v) for k, v in fields.items()})
    return True


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
