"""``kubectl drain`` output:

node/worker-2 cordoned
evicting pod payments/api-7d9f8c-x2k4q
error when evicting pods/"api-7d9f8c-x2k4q" -n "payments" (will retry after 5s): Cannot evict pod ...
pod/api-7d9f8c-x2k4q evicted
"""

from __future__ import annotations

import re

from premortem.diagnose.records import Record

_LINES = (
    re.compile(r'^error when evicting pods?/"?(?P<pod>[^"\s]+)"? -n "?(?P<ns>[^"\s]+)"?'),
    re.compile(r"^evicting pod (?:(?P<ns>[^/\s]+)/)?(?P<pod>\S+)$"),
    re.compile(r"^pod/(?P<pod>\S+) evicted$"),
    re.compile(r"^node/(?P<node>\S+) (?:cordoned|already cordoned|drained|uncordoned)$"),
    re.compile(r'^(?:error: unable to drain node|There are pending pods in node) "(?P<node>[^"]+)"'),
    re.compile(r"^(?:Warning|WARNING): (?:ignoring|deleting) "),
)


def parse(text: str, rec: Record) -> bool:
    if text[:1] not in "enpTWd":
        return False
    for pattern in _LINES:
        m = pattern.match(text)
        if m:
            rec.source = "drain"
            rec.message = text
            groups = m.groupdict()
            if groups.get("pod"):
                rec.kind, rec.name = "Pod", groups["pod"]
                rec.namespace = groups.get("ns")
            if groups.get("node"):
                rec.node = groups["node"]
            return True
    return False
