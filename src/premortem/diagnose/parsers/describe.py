"""``kubectl describe pod|node`` output, as pasted: whole, cut at either end, or with its indentation
lost. A block opens at a describe field at the start of a line (``Name:``, ``Status:``, ``Last
State:``...) and ends at a blank line or a line that is no describe field. It keeps:

- the pod: name, namespace, node, and its pod-level ``Status``/``Reason``/``Message`` (an evicted
  pod has no Events section: this block is the evidence; a wrapped ``Message`` is joined);
- each container's ``State``/``Last State`` with ``Reason``, ``Exit Code``, ``Finished`` and
  ``Restart Count`` (a fragment starting at ``State:`` or ``Last State:`` is a container too);
- the node's ``Conditions`` rows (read anywhere: the ``Conditions:`` line is often cut off) and
  ``Taints`` (``node.kubernetes.io/disk-pressure:NoSchedule`` says DiskPressure).

Its ``Events:`` section is read by the events table parser with this object attached.

    Name:             api-7d9f8c-x2k4q
    Namespace:        payments
    Node:             worker-2/10.0.0.12
    Status:           Failed
    Reason:           Evicted
    Message:          The node was low on resource: ephemeral-storage. ...
    Containers:
      app:
        State:          Waiting
          Reason:       CrashLoopBackOff
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
        Restart Count:  4
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from premortem.diagnose.timeparse import describe_time

_FIELD = re.compile(r"^(\s*)([A-Z][A-Za-z()]*(?: [A-Za-z()]+){0,3}):(?:\s+(.*)|$)")
_CONTAINER = re.compile(r"^\s*([a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?):\s*$")
CONDITION = re.compile(
    r"^\s*(Ready|MemoryPressure|DiskPressure|PIDPressure|NetworkUnavailable|OutOfDisk)\s+(True|False|Unknown)\s+(.*)$"
)
_DATE = re.compile(r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
# Fields that open (or continue) a describe block when they start a line.
_POD_FIELDS = {
    "Name",
    "Namespace",
    "Priority",
    "Priority Class Name",
    "Service Account",
    "Node",
    "Start Time",
    "Labels",
    "Annotations",
    "Status",
    "Reason",
    "Message",
    "IP",
    "IPs",
    "Controlled By",
    "Controllers",
    "Containers",
    "Init Containers",
    "Conditions",
    "Volumes",
    "QoS Class",
    "Node-Selectors",
    "Tolerations",
    "Events",
    "Image(s)",
    "Roles",
    "CreationTimestamp",
    "Taints",
    "Unschedulable",
    "Lease",
    "Addresses",
    "Capacity",
    "Allocatable",
    "System Info",
    "Non-terminated Pods",
    "Allocated resources",
}
_CONTAINER_FIELDS = {
    "State",
    "Last State",
    "Container ID",
    "Image",
    "Image ID",
    "Port",
    "Ports",
    "Host Port",
    "Host Ports",
}
OPENERS = _POD_FIELDS | {"State", "Last State"}
_STATE_FIELDS = {"Reason", "Exit Code", "Started", "Finished", "Message", "Signal"}


@dataclass
class ContainerState:
    name: str | None
    line: int
    section: str = ""  # "State" or "Last State"
    state: str = ""
    state_reason: str = ""
    last_state: str = ""
    last_reason: str = ""
    exit_code: str = ""
    restarts: int = 0
    finished: datetime | None = None  # when the last state ended
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Condition:
    type: str
    status: str
    line: int
    text: str
    reason: str
    message: str
    since: datetime | None


@dataclass
class Block:
    name: str | None
    line: int
    namespace: str | None = None
    node: str | None = None
    kind: str = "Node"
    section: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    message_line: int = 0
    taints: list[tuple[int, str]] = field(default_factory=list)
    containers: list[ContainerState] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    _last_key: str = ""

    def feed(self, lineno: int, line: str) -> None:
        """One line of the block (not the Events table, which the reader parses)."""
        cond = CONDITION.match(line)
        if cond:
            self.conditions.append(condition(lineno, line, cond))
            self._last_key = ""
            return
        if self.section in ("Containers", "Init Containers"):
            m = _CONTAINER.match(line)
            if m and m.group(1) not in ("state", "ready"):
                self.containers.append(ContainerState(m.group(1), lineno))
                self._last_key = ""
                return
        m = _FIELD.match(line)
        if not m:
            self._continue(line)
            return
        indent, key, value = m.group(1), m.group(2), (m.group(3) or "").strip()
        top = (
            not indent
            and key in _POD_FIELDS
            and not (
                self.section in ("Containers", "Init Containers")
                and key
                in _STATE_FIELDS
                | {"Ready", "Restart Count", "Environment", "Mounts", "Limits", "Requests", "Command", "Args"}
            )
        )
        if top:
            self._top(lineno, key, value)
        elif key in _CONTAINER_FIELDS or key in _STATE_FIELDS or key in ("Ready", "Restart Count"):
            self._container(lineno, line, key, value)
        self._last_key = key

    def _continue(self, line: str) -> None:
        """A line that is no field: a wrapped Message, or a label/annotation continuation."""
        if self._last_key == "Message" and self.section == "Message" and line.strip():
            self.message = f"{self.message} {line.strip()}".strip()
        elif self.section == "Taints" and line.strip():
            self.taints.append((0, line.strip()))

    def _top(self, lineno: int, key: str, value: str) -> None:
        self.section = key
        if key == "Name":
            self.name = value or None
        elif key == "Namespace":
            self.namespace, self.kind = value or None, "Pod"
        elif key == "Node" and value:
            self.node, self.kind = value.split("/", 1)[0] or None, "Pod"
        elif key in ("Containers", "Init Containers", "Controlled By", "QoS Class", "Status", "Image(s)"):
            self.kind = "Pod"
        if key == "Status":
            self.status = value
        elif key == "Reason":
            self.reason = value
        elif key == "Message":
            self.message, self.message_line = value, lineno
        elif key == "Taints" and value and value != "<none>":
            self.taints.append((lineno, value))
        elif key in (
            "Roles",
            "Taints",
            "Unschedulable",
            "Lease",
            "Capacity",
            "Allocatable",
            "CreationTimestamp",
        ):
            self.kind = "Node" if self.namespace is None else self.kind

    def _container(self, lineno: int, line: str, key: str, value: str) -> None:
        fragment = self.section not in ("Containers", "Init Containers")
        if key in ("State", "Last State") and (
            not self.containers or (fragment and self.containers[-1].section)
        ):
            self.containers.append(ContainerState(None, lineno))  # a fragment without the container's name
            self.kind = "Pod"
        if not self.containers:
            return
        c = self.containers[-1]
        if key in ("State", "Last State"):
            c.section = key
            if key == "State":
                c.state = value
            else:
                c.last_state = value
            c.lines.append((lineno, line))
        elif key == "Reason" and c.section:
            if c.section == "State":
                c.state_reason = value
            else:
                c.last_reason = value
            c.lines.append((lineno, line))
        elif key == "Exit Code" and c.section:
            if c.section == "Last State" or c.state == "Terminated":
                c.exit_code = value
                c.lines.append((lineno, line))
        elif key == "Finished" and c.section:
            c.finished = describe_time(value)
        elif key == "Restart Count":
            c.restarts = int(value) if value.isdigit() else 0
            c.section = ""
            c.lines.append((lineno, line))
        elif key in ("Ready", "Image", "Container ID"):
            c.section = "" if key != "Container ID" else c.section


def condition(lineno: int, line: str, m: re.Match[str]) -> Condition:
    """One Conditions row: type, status, and the reason and message after its two dates."""
    rest = m.group(3)
    dates = _DATE.findall(rest)
    since = describe_time(dates[-1]) if dates else None
    words = _DATE.sub("", rest).split(None, 1)
    reason = words[0] if words else ""
    message = words[1].strip() if len(words) > 1 else ""
    return Condition(m.group(1), m.group(2), lineno, line, reason, message, since)


def start(line: str) -> bool:
    """Whether the line opens a describe block: a describe field at the start of the line, or a
    container's ``State:``/``Last State:`` pasted with its indentation."""
    m = _FIELD.match(line)
    if m is None:
        return False
    return (not m.group(1) and m.group(2) in OPENERS) or m.group(2) in ("State", "Last State")
