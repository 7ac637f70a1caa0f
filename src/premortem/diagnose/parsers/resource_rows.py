"""``kubectl get pods`` and ``kubectl get nodes`` rows pasted without their header (``| grep
Evicted`` is the usual reason), read from their words:

    huan-a   account-local-8447bc8dbc-l5z7b   0/1   Evicted   0   32m   <none>   10.171.2.38
    jobs-mobile-1040363144-cgbxw           0/1      CrashLoopBackOff   7          9m
    10.40.24.49   NotReady   <none>    108d      v1.11.2

A pod row is anchored on its READY column (``0/1``) followed by a STATUS word; a node row on a
Ready/NotReady STATUS followed by ROLES, AGE and a ``v1.x`` VERSION. Only the statuses that report a
failure are kept (the rest of the table says nothing about the incident)."""

from __future__ import annotations

import re

from premortem.diagnose.records import Record

_POD = re.compile(
    r"^\s*(?:(?P<ns>[a-z0-9][-a-z0-9]{0,62})\s+)?(?P<name>[a-z0-9][-a-z0-9.]{0,252})\s+\d{1,3}/\d{1,3}\s+"
    r"(?P<status>[A-Za-z:]{2,40})\s+(?P<restarts>\d{1,9})(?:\s+\([^)]{1,32}\))?\s+(?P<age>\S{1,16})"
    r"(?:\s+(?P<ip>\S{1,64})\s+(?P<node>\S{1,253}))?"
)
_NODE = re.compile(
    r"^\s*(?P<name>[a-z0-9][-a-z0-9.]{0,252})\s+(?P<status>NotReady|Unknown)(?:,SchedulingDisabled)?\s+\S{1,128}"
    r"\s+\S{1,16}\s+v\d{1,2}\.\d{1,3}"
)
FAILED = {
    "Evicted",
    "OOMKilled",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ContainerStatusUnknown",
    "Error",
}


def parse(text: str, rec: Record) -> bool:
    m = _POD.match(text)
    if m and m.group("status") in FAILED:
        rec.source = "pods-row"
        rec.kind, rec.name = "Pod", m.group("name")
        rec.namespace = m.group("ns")
        node = m.group("node")
        rec.node = node if node and node != "<none>" and not node.startswith("<") else None
        status = m.group("status")
        rec.reason = f"Status{status}"
        restarts = int(m.group("restarts"))
        rec.message = f"pod status {status}, {restarts} restarts"
        rec.fields["restarts"] = restarts
        return True
    m = _NODE.match(text)
    if m:
        rec.source = "nodes-row"
        rec.kind, rec.name = "Node", m.group("name")
        rec.reason = "StatusNotReady"
        rec.message = f"node status {m.group('status')}"
        return True
    return False
