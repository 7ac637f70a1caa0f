"""``kubectl describe pod|node`` output. The block starts at ``Name:`` and ends at a blank line; the
parser keeps the object's identity, the containers' last state and restart counts, and the node's
conditions. Its ``Events:`` section is read by the events table parser with this object attached.

    Name:             api-7d9f8c-x2k4q
    Namespace:        payments
    Node:             worker-2/10.0.0.12
    Containers:
      app:
        State:          Waiting
          Reason:       CrashLoopBackOff
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
        Restart Count:  4
    Conditions:
      Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
      MemoryPressure   True    Wed, 25 Nov 2026 19:31:00 +0000   Wed, 25 Nov 2026 19:30:10 +0000   KubeletHasInsufficientMemory kubelet has insufficient memory available
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from premortem.diagnose.timeparse import describe_time

_FIELD = re.compile(r"^(\s*)([A-Z][A-Za-z ]*?):\s*(.*)$")
_CONTAINER = re.compile(r"^  ([a-z0-9]([-a-z0-9]*[a-z0-9])?):$")
_CONDITION = re.compile(
    r"^\s+(Ready|MemoryPressure|DiskPressure|PIDPressure|NetworkUnavailable)\s+(True|False|Unknown)\s+(.*)$"
)
_DATE = re.compile(r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")


@dataclass
class ContainerState:
    name: str
    line: int
    section: str = ""  # "State" or "Last State"
    state: str = ""
    state_reason: str = ""
    last_state: str = ""
    last_reason: str = ""
    exit_code: str = ""
    restarts: int = 0
    finished: object = None  # datetime | None: when the last state ended
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Condition:
    type: str
    status: str
    line: int
    text: str
    reason: str
    since: object  # datetime | None


@dataclass
class Block:
    name: str
    line: int
    namespace: str | None = None
    node: str | None = None
    kind: str = "Node"
    section: str = ""
    containers: list[ContainerState] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)

    def feed(self, lineno: int, line: str) -> None:
        """One line of the block (not the Events table, which the reader parses)."""
        if not line.startswith(" "):
            m = _FIELD.match(line)
            if m:
                key, value = m.group(2), m.group(3).strip()
                self.section = key
                if key == "Namespace":
                    self.namespace = value or None
                    self.kind = "Pod"
                elif key == "Node" and value:
                    self.node = value.split("/", 1)[0]
                elif key in ("Containers", "Init Containers", "Controlled By", "QoS Class"):
                    self.kind = "Pod"
            return
        if self.section in ("Containers", "Init Containers"):
            m = _CONTAINER.match(line)
            if m:
                self.containers.append(ContainerState(m.group(1), lineno))
                return
            if not self.containers:
                return
            c = self.containers[-1]
            m = _FIELD.match(line)
            if not m:
                return
            key, value = m.group(2), m.group(3).strip()
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
            elif key == "Exit Code" and c.section == "Last State":
                c.exit_code = value
                c.lines.append((lineno, line))
            elif key == "Finished" and c.section == "Last State":
                c.finished = describe_time(value)
            elif key == "Restart Count":
                c.restarts = int(value) if value.isdigit() else 0
                c.section = ""
                c.lines.append((lineno, line))
            elif key in ("Ready", "Started", "Image", "Image ID", "Port", "Host Port", "Limits", "Requests"):
                c.section = "" if key in ("Ready", "Image") else c.section
        elif self.section == "Conditions" and self.kind == "Node":
            m = _CONDITION.match(line)
            if m:
                dates = _DATE.findall(m.group(3))
                since = describe_time(dates[-1]) if dates else None
                rest = _DATE.sub("", m.group(3)).split()
                reason = rest[0] if rest else ""
                self.conditions.append(Condition(m.group(1), m.group(2), lineno, line, reason, since))


def start(line: str) -> str | None:
    """The object name when the line opens a describe block."""
    if line.startswith("Name:"):
        name = line[5:].strip()
        return name or None
    return None
