"""One event row read from its words, for rows whose columns cannot be sliced by a header: rows
pasted without their header, headers whose padding was lost (single spaces), and the old layouts.

    12s Warning BackOff pod/api-gateway-7f8d9b-x2k Back-off restarting failed container
    payments  9m55s  Warning  Evicted  pod/api-x  The node was low on resource: memory. ...
    Warning  Evicted  6m5s  kubelet  The node was low on resource: ephemeral-storage. ...
    Warning  Unhealthy  4s (x15 over 2m24s)  kubelet, ip-10-0-140-101.ec2.internal  Readiness probe failed: ...
    13m  13m  1  nginx-1tfwp  Pod  spec.containers{nginx}  Normal  Pulling  {kubelet node-1}  pulling image "nginx"
    2017-06-12 12:08:10 +0530 IST  2017-06-12 12:03:50 +0530 IST  14  web-1  Pod  spec.containers{web}  Warning  Unhealthy  {kubelet 10.0.0.4}  Readiness probe failed: ...
    18m<TAB>2m<TAB>8<TAB>{kubelet rootfs-dev}<TAB>spec.containers{web}<TAB>Warning<TAB>Failed<TAB>Failed to pull image "x"

The anchor is the TYPE word (Normal or Warning) followed by a CamelCase REASON; what stands before
it (namespace, ages, count, name, kind, field path, source) and after it (age, source, object) is read
by its shape. A line without that anchor is not an event row.
"""

from __future__ import annotations

import re

from premortem.diagnose.parsers.events_table import kind_name
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_age, parse_rfc3339

_ANCHOR = re.compile(r"(?:^|\s)(Normal|Warning)\s+([A-Z][A-Za-z]{1,63})(?=\s|$)")
_AGE = re.compile(r"^(?:\d{1,6}[dhms])+$|^<invalid>$|^<unknown>$")
_REPEAT = re.compile(r"^\(x(\d{1,9}) (?:over|from|starting) [^)]{1,32}\)")
_FIELD_PATH = re.compile(r"^spec\.(?:initC|c)ontainers\{([^}]{1,253})\}$")
_OBJECT = re.compile(r"^([a-z][a-z0-9.]{0,63})/([a-z0-9][-a-z0-9.:]{0,252})$")
_SOURCE_BRACES = re.compile(r"^\{([^}]{0,300})\}\s*")
_SOURCE_WORDS = re.compile(
    r"^([a-z][-a-z0-9.]{0,63})(?:, ([a-z0-9][-a-z0-9.]{0,252}))?(?:\s{2,}|\t|\s(?=[A-Z\"(]))"
)
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([+-]\d{4})")
_NAMESPACE = re.compile(r"^[a-z0-9][-a-z0-9]{0,62}$")


# The Kubernetes e2e framework's dump: "At 2021-05-04 15:45:47 +0000 UTC - event for pod-x: {kubelet node-1} Failed: ..."
_E2E = re.compile(
    r"At (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([+-]\d{4}) \w{1,5} - event for ([a-z0-9][-a-z0-9.]{0,252}): "
    r"\{([^}]{0,300})\} ([A-Z][A-Za-z]{1,63}): (.*)$"
)


def parse(text: str, rec: Record) -> bool:
    if " - event for " in text:
        m = _E2E.search(text)
        if m:
            day, offset, name, source, reason, message = m.groups()
            rec.time = parse_rfc3339(f"{day.replace(' ', 'T')}{offset[:3]}:{offset[3:]}")
            rec.name, rec.reason, rec.message, rec.source = name, reason, message, "e2e-event"
            _source(source, rec)
            return True
    if "Normal" not in text and "Warning" not in text:
        return False
    m = _ANCHOR.search(text)
    if not m:
        return False
    before, after = text[: m.start()].strip(), text[m.end() :].strip()
    rec.event_type, rec.reason = m.group(1), m.group(2)
    rec.source = "event-row"
    _read_before(before, rec)
    rec.message = _read_after(after, rec)
    return True


def _read_before(before: str, rec: Record) -> None:
    stamps = _STAMP.findall(before)
    if stamps:  # oc get events -w (OpenShift 3): LASTSEEN FIRSTSEEN with zone, then COUNT NAME KIND ...
        day, offset = stamps[0]
        rec.time = parse_rfc3339(f"{day.replace(' ', 'T')}{offset[:3]}:{offset[3:]}")
        before = _STAMP.sub(" ", before)
        before = re.sub(r"\s[A-Z]{2,5}\b", " ", before)  # the zone names (IST, UTC)
    braces = re.search(r"(?:^|\s)\{([^}]{0,300})\}", before)
    if braces:
        _source(braces.group(1), rec)
        before = before[: braces.start()] + " " + before[braces.end() :]
    words = before.split()
    ages = [w for w in words if _AGE.match(w)]
    if ages and rec.time is None:
        rec.age = parse_age(ages[0])
    repeat = re.search(r"\(x(\d{1,9}) ", before)
    if repeat:
        rec.count = int(repeat.group(1))
    rest = [w for w in words if not _AGE.match(w) and not w.startswith("(x") and not w.endswith(")")]
    digits = [w for w in rest if w.isdigit()]
    if digits and not repeat:
        rec.count = int(digits[0])
    rest = [w for w in rest if not w.isdigit()]
    for word in rest:
        path = _FIELD_PATH.match(word)
        if path:
            rec.container = path.group(1)
            continue
        obj = _OBJECT.match(word)
        if obj:
            rec.kind, rec.name = kind_name(obj.group(1)), obj.group(2)
            continue
        if word in ("Pod", "Node", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job"):
            rec.kind = word
            continue
    plain = [w for w in rest if not _FIELD_PATH.match(w) and not _OBJECT.match(w) and w[:1].islower()]
    if len(plain) >= 2 and rec.name is None:  # NAMESPACE NAME or NAME ... KIND (old layout)
        rec.namespace, rec.name = plain[0], plain[1]
    elif len(plain) == 1 and rec.name is None and rec.kind is not None:
        rec.name = plain[0]
    elif len(plain) == 1 and rec.namespace is None and _NAMESPACE.match(plain[0]):
        rec.namespace = plain[0]
    if rec.name and "." in rec.name and re.search(r"\.[0-9a-f]{10,}$", rec.name):
        rec.name = rec.name.rsplit(".", 1)[0]  # the event's own name: <object>.<hash>


def _source(text: str, rec: Record) -> None:
    """``kubelet node-1`` (old braces), ``kubelet, node-1`` (describe FROM)."""
    parts = text.replace(",", " ").split()
    if parts:
        rec.component = parts[0]
    if len(parts) > 1 and parts[0] == "kubelet":
        rec.host = rec.node = parts[1]


def _read_after(after: str, rec: Record) -> str:
    """What follows REASON: [AGE [(xN over M)]] [SOURCE | OBJECT] MESSAGE."""
    words = after.split(None, 1)
    if words and _AGE.match(words[0]):  # describe layout: AGE FROM MESSAGE
        if rec.age is None and rec.time is None:
            rec.age = parse_age(words[0])
        after = words[1] if len(words) > 1 else ""
        repeat = _REPEAT.match(after)
        if repeat:
            rec.count = int(repeat.group(1))
            after = after[repeat.end() :].lstrip()
        source = _SOURCE_WORDS.match(after)
        if source:
            rec.component = source.group(1)
            if source.group(2):
                rec.host = rec.node = source.group(2)
            after = after[source.end() :]
        return after.strip()
    braces = _SOURCE_BRACES.match(after)
    if braces:
        _source(braces.group(1), rec)
        return after[braces.end() :].strip()
    words = after.split(None, 1)
    if words:
        obj = _OBJECT.match(words[0])
        if obj:  # get events layout: OBJECT MESSAGE
            rec.kind, rec.name = kind_name(obj.group(1)), obj.group(2)
            return words[1].strip() if len(words) > 1 else ""
    return after
