"""klog, the format of every Kubernetes component (kubelet, kube-apiserver, controllers):

    I1125 19:30:00.123456    1234 eviction_manager.go:366] "Eviction manager: attempting to reclaim" resourceName="memory"
    W1125 19:30:00.123456    1234 prober.go:104] Liveness probe for "api_payments(uid):app" failed (failure): ...

Structured lines (a quoted message then ``key="value"`` pairs) and unstructured ones.
"""

from __future__ import annotations

import re

from premortem.diagnose.parsers import kv
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import klog_time

_KLOG = re.compile(r"^([IWEF])(\d\d)(\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)\s+(\d+) ([^\]\s]+)\] ?(.*)$")
LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "fatal"}


def parse(text: str, rec: Record) -> bool:
    if not text or text[0] not in "IWEF":
        return False
    m = _KLOG.match(text)
    if not m:
        return False
    level, month, day, clock, _pid, caller, body = m.groups()
    value = klog_time(month, day, clock)
    if value is not None and rec.time is None:
        rec.time, rec.year_guessed = value, True
    rec.level = LEVELS[level]
    rec.source = "klog"
    rec.fields["caller"] = caller
    split = kv.quoted_prefix(body)
    if split is not None:
        message, rest = split
        fields = kv.pairs(rest)
        rec.fields.update(fields)
        rec.message = kv.render(message, fields)
    else:
        rec.message = body
    return True
