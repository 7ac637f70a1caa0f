"""``kubectl get pods`` tables (``-A``, ``-o wide``): a pod's STATUS column says CrashLoopBackOff,
OOMKilled, ErrImagePull... and RESTARTS how often. Columns are found from the header, as for events.

    NAMESPACE   NAME                    READY   STATUS             RESTARTS        AGE   IP            NODE
    payments    api-7d9f8c-x2k4q        0/1     CrashLoopBackOff   7 (2m ago)      31m   10.244.2.17   worker-2
"""

from __future__ import annotations

from dataclasses import dataclass

from premortem.diagnose.parsers import columns
from premortem.diagnose.records import Record

_KNOWN = {
    "NAMESPACE",
    "NAME",
    "READY",
    "STATUS",
    "RESTARTS",
    "AGE",
    "IP",
    "NODE",
    "NOMINATED NODE",
    "READINESS GATES",
}


@dataclass
class Table:
    columns: list[tuple[str, int]]


def header(line: str) -> Table | None:
    if not line.startswith(("NAME", "NAMESPACE")) or "STATUS" not in line or "RESTARTS" not in line:
        return None
    cells = columns.header_cells(line)
    names = {c for c, _ in cells}
    if not {"NAME", "READY", "STATUS", "RESTARTS"} <= names or not names <= _KNOWN:
        return None
    return Table(cells)


def row(table: Table, line: str, rec: Record) -> bool:
    cells = columns.slice_row(table.columns, line)
    if cells is None:
        return False
    name, status = cells.get("NAME", ""), cells.get("STATUS", "")
    if not name or not status or " " in name:
        return False
    restarts = cells.get("RESTARTS", "").split(" ", 1)[0]
    rec.source = "pods-table"
    rec.kind, rec.name = "Pod", name
    rec.namespace = cells.get("NAMESPACE") or None
    node = cells.get("NODE", "")
    rec.node = node if node and node != "<none>" else None
    rec.reason = f"Status{status}"
    rec.message = f"pod status {status}, {restarts or 0} restarts"
    if restarts.isdigit():
        rec.fields["restarts"] = int(restarts)
    return True
