"""``kubectl get events`` tables, any layout kubectl prints, and the ``Events:`` section of
``kubectl describe``. Columns are found from the header: kubectl pads every column but the last with
a tabwriter, so a column's text starts where its header starts.

    NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                     MESSAGE
    LAST SEEN   TYPE      REASON   OBJECT   SUBOBJECT   SOURCE   MESSAGE   FIRST SEEN   COUNT   NAME
    LAST SEEN   FIRST SEEN   COUNT   NAME   KIND   SUBOBJECT   TYPE   REASON   SOURCE   MESSAGE
      Type     Reason     Age                 From     Message          (describe)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from premortem.diagnose.parsers import columns
from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_age

_REPEAT = re.compile(r"\(x(\d+) over ([^)]+)\)")
_KNOWN = {
    "NAMESPACE",
    "LAST SEEN",
    "LAST",
    "LASTSEEN",
    "FIRSTSEEN",
    "FIRST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "SUBOBJECT",
    "SOURCE",
    "MESSAGE",
    "COUNT",
    "NAME",
    "KIND",
    "AGE",
    "FROM",
}


@dataclass
class Table:
    columns: list[tuple[str, int]]  # (upper-case header, start offset)
    describe: bool  # the Events: section of kubectl describe (object comes from the describe block)
    aligned: bool = True  # False: the paste lost the padding, rows are read from their words
    # (namespace, pod, node) a describe Events section is about when no Name line names it: its own
    # Scheduled row says "Successfully assigned NS/POD to NODE"
    subject: tuple[str, str, str] | None = None


def header(line: str) -> Table | None:
    """A table header when the line names the event columns (REASON and MESSAGE at least)."""
    if "eason" not in line and "EASON" not in line:
        return None
    cells = columns.header_cells(line)
    names = {c for c, _ in cells}
    if len(cells) == 1 and line == line.upper():  # single spaces: the padding was lost in the paste
        words = set(line.split())
        if {"REASON", "MESSAGE"} <= words and words <= _WORDS:
            return Table(cells, describe=False, aligned=False)
        return None
    if not {"REASON", "MESSAGE"} <= names or not names <= _KNOWN:
        return None
    describe = line.startswith(" ") and "FROM" in names
    if not describe and line != line.upper():
        return None
    return Table(cells, describe)


_WORDS = {w for name in _KNOWN for w in name.split()}


def is_separator(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) <= {"-", " "}


def row(table: Table, line: str, rec: Record) -> bool:
    """Fill ``rec`` from one row; False when the line cannot be a row of this table."""
    cols = table.columns
    if not table.aligned:
        return False
    if len(line) <= cols[-1][1] and cols[-1][0] != "MESSAGE":
        return False
    cells = columns.slice_row(cols, line)
    if cells is None:
        return False
    message = cells.get("MESSAGE", "")
    reason = cells.get("REASON", "")
    if not reason or " " in reason:
        return False
    rec.source = "describe-events" if table.describe else "events-table"
    rec.reason = reason
    rec.message = message
    rec.event_type = cells.get("TYPE") or None
    seen = cells.get("LAST SEEN") or cells.get("LAST") or cells.get("LASTSEEN") or cells.get("AGE") or ""
    rec.age = parse_age(seen)
    repeat = _REPEAT.search(seen)
    if repeat:
        rec.count = int(repeat.group(1))
    elif cells.get("COUNT", "").isdigit():
        rec.count = int(cells["COUNT"])
    source = cells.get("SOURCE") or cells.get("FROM") or ""
    if source:
        component, _, host = source.partition(",")
        rec.component = component.strip() or None
        if host.strip():
            rec.host = host.strip()
    sub = cells.get("SUBOBJECT", "")
    if sub.startswith("spec.containers{") and sub.endswith("}"):
        rec.container = sub[len("spec.containers{") : -1]
    if "NAMESPACE" in cells:
        rec.namespace = cells["NAMESPACE"] or None
    obj = cells.get("OBJECT")
    if obj:
        kind, _, name = obj.partition("/")
        rec.kind, rec.name = kind_name(kind), name or None
    elif cells.get("KIND") or cells.get("NAME"):
        rec.kind = cells.get("KIND") or None
        name = cells.get("NAME") or ""
        # old layout: NAME is the event name "<object>.<hash>"
        rec.name = name.rsplit(".", 1)[0] if re.search(r"\.[0-9a-f]{10,}$", name) else name or None
    return True


def kind_name(text: str) -> str:
    lookup = {
        "pod": "Pod",
        "node": "Node",
        "deployment": "Deployment",
        "replicaset": "ReplicaSet",
        "statefulset": "StatefulSet",
        "daemonset": "DaemonSet",
        "job": "Job",
        "service": "Service",
        "poddisruptionbudget": "PodDisruptionBudget",
        "horizontalpodautoscaler": "HorizontalPodAutoscaler",
        "persistentvolumeclaim": "PersistentVolumeClaim",
    }
    base = text.split(".", 1)[0]
    return lookup.get(base.lower(), base)
