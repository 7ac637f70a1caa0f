"""Chain related findings into cause stories, each ordered on the timeline:

- a node's story: memory (disk, PID) pressure -> evictions and OOM kills -> NodeNotReady -> the pods
  of the same workloads scheduled onto other nodes;
- the control plane's story: a slow etcd disk -> missed heartbeats and slow applies -> leader elections
  -> API server timeouts -> webhook and creation failures;
- a pod's story: OOM kills or probe failures -> restarts -> CrashLoopBackOff;
- evidence without timestamps: what no story took is one incident, in the order it was pasted.
  Grouping never invents a cause: steps are listed, not linked.

A finding joins at most one story; findings that chain with nothing are listed on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from premortem.diagnose.engine import Placement
from premortem.diagnose.timeparse import parse_rfc3339
from premortem.findings import Finding, Severity

_NODE_RULES = (
    "DIAG-NODE-MEMORY-PRESSURE",
    "DIAG-NODE-DISK-PRESSURE",
    "DIAG-NODE-PID-PRESSURE",
    "DIAG-OOM-SYSTEM",
    "DIAG-OOM-CGROUP",
    "DIAG-EVICT-MEMORY",
    "DIAG-EVICT-DISK",
    "DIAG-EVICT-PID",
    "DIAG-NODE-NOT-READY",
    "DIAG-NODE-AGENT-DOWN",
    "DIAG-OOMKILLED",
    "DIAG-DRAIN-PDB",
)
_CONTROL_PLANE_CAUSES = (
    "DIAG-ETCD-SLOW-FSYNC",
    "DIAG-ETCD-HEARTBEAT",
    "DIAG-ETCD-SLOW-APPLY",
    "DIAG-ETCD-LEADER-ELECTION",
    "DIAG-ETCD-NOSPACE",
)
_CONTROL_PLANE_EFFECTS = ("DIAG-APISERVER-TIMEOUT", "DIAG-WEBHOOK-FAILURE")
_POD_RULES = (
    "DIAG-OOMKILLED",
    "DIAG-OOM-CGROUP",
    "DIAG-PROBE-LIVENESS",
    "DIAG-PROBE-STARTUP",
    "DIAG-PROBE-READINESS",
    "DIAG-PROBE-RESTART",
    "DIAG-CRASHLOOP",
    "DIAG-IMAGE-PULL",
)


@dataclass
class Step:
    time: datetime | None
    finding: Finding | None = None
    moved: Placement | None = None


@dataclass
class Story:
    title: str
    steps: list[Step] = field(default_factory=list)
    prevented_by: list[str] = field(default_factory=list)

    def spans_days(self) -> bool:
        """Whether its steps fall on more than one day (the timeline then shows dates)."""
        days = {s.time.date() for s in self.steps if s.time is not None}
        return len(days) > 1

    def to_json(self) -> dict[str, Any]:
        steps = []
        for s in self.steps:
            if s.finding is not None:
                steps.append(
                    {
                        "time": s.finding.extra.get("time"),
                        "rule": s.finding.rule,
                        "file": s.finding.file,
                        "line": s.finding.line,
                    }
                )
            elif s.moved is not None:
                p = s.moved
                steps.append(
                    {
                        "time": p.rec.time.isoformat().replace("+00:00", "Z") if p.rec.time else None,
                        "moved": {"namespace": p.namespace, "pod": p.pod, "node": p.node},
                        "file": p.rec.file,
                        "line": p.rec.line,
                    }
                )
        return {"title": self.title, "steps": steps, "prevented_by": self.prevented_by}


def _time(f: Finding) -> datetime | None:
    value = f.extra.get("time")
    return parse_rfc3339(value) if isinstance(value, str) else None


def _workload(pod: str) -> str:
    return pod.rsplit("-", 1)[0] if "-" in pod else pod


def build(findings: list[Finding], placements: list[Placement]) -> list[Story]:
    used: set[int] = set()
    stories: list[Story] = []

    # the control plane: etcd causes, API server and webhook effects
    causes = [f for f in findings if f.rule in _CONTROL_PLANE_CAUSES and f.severity >= Severity.MEDIUM]
    if causes:
        start = min((t for t in map(_time, causes) if t is not None), default=None)
        effects = [
            f
            for f in findings
            if f.rule in _CONTROL_PLANE_EFFECTS
            and (start is None or _time(f) is None or _time(f) >= start)  # type: ignore[operator]
            and (f.rule != "DIAG-WEBHOOK-FAILURE" or "timed out" in f.message)
        ]
        members = causes + effects
        if len(members) >= 2:
            disk = any(f.rule in ("DIAG-ETCD-SLOW-FSYNC", "DIAG-ETCD-HEARTBEAT") for f in causes)
            title = "slow etcd disk" if disk else "etcd trouble"
            if any(f.rule == "DIAG-ETCD-LEADER-ELECTION" for f in causes):
                title += " -> leader elections"
            if effects:
                title += " -> API server and admission failures"
            stories.append(_story(title, members, used))

    # nodes
    nodes: dict[str, list[Finding]] = {}
    for f in findings:
        node = f.extra.get("objects", {}).get("node")
        if node and f.rule in _NODE_RULES and id(f) not in used:
            nodes.setdefault(node, []).append(f)
    for node, members in nodes.items():
        rules = {f.rule for f in members}
        if len(members) < 2 and not (rules & {"DIAG-NODE-MEMORY-PRESSURE", "DIAG-NODE-NOT-READY"}):
            continue
        kind = (
            "memory pressure"
            if rules & {"DIAG-NODE-MEMORY-PRESSURE", "DIAG-EVICT-MEMORY", "DIAG-OOM-SYSTEM"}
            else "disk pressure"
            if rules & {"DIAG-NODE-DISK-PRESSURE", "DIAG-EVICT-DISK"}
            else "PID pressure"
            if rules & {"DIAG-NODE-PID-PRESSURE", "DIAG-EVICT-PID"}
            else "trouble"
        )
        story = _story(f"{kind} on node {node}", members, used)
        workloads = {
            _workload(f.extra["objects"]["pod"]) for f in members if f.extra.get("objects", {}).get("pod")
        }
        start = min((s.time for s in story.steps if s.time is not None), default=None)
        first_seq = min(f.extra.get("_seq", 0) for f in members)
        for p in placements:
            if p.node == node or _workload(p.pod) not in workloads:
                continue
            if start is not None and p.rec.time is not None and p.rec.time < start:
                continue
            if start is None and p.rec.seq < first_seq:
                continue
            story.steps.append(Step(p.rec.time, moved=p))
        if len(story.steps) >= 2:
            _order(story)
            stories.append(story)
        else:
            used.discard(id(members[0]))

    # pods
    pods: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        objects = f.extra.get("objects", {})
        if f.rule in _POD_RULES and objects.get("pod") and id(f) not in used:
            pods.setdefault((objects.get("namespace", ""), objects["pod"]), []).append(f)
    for (ns, pod), members in pods.items():
        if len(members) >= 2:
            stories.append(
                _story(f"restarts of pod {ns}/{pod}" if ns else f"restarts of pod {pod}", members, used)
            )

    # evidence without timestamps: what no story took is one incident, in the order it was pasted
    rest = [f for f in findings if id(f) not in used and f.severity >= Severity.MEDIUM]
    if len(rest) >= 2 and all(_time(f) is None for f in findings):
        incident = _story(
            "one incident, in the order the evidence was pasted (it has no timestamps)", rest, used
        )
        incident.steps.sort(key=lambda step: step.finding.extra.get("_seq", 0) if step.finding else 0)
        stories.append(incident)
    return stories


def _story(title: str, members: list[Finding], used: set[int]) -> Story:
    story = Story(title)
    for f in members:
        used.add(id(f))
        story.steps.append(Step(_time(f), finding=f))
        for p in f.extra.get("prevented_by", []):
            if p not in story.prevented_by:
                story.prevented_by.append(p)
    _order(story)
    return story


def _order(story: Story) -> None:
    """Timeline order: absolute times first, in order; then relative ages (oldest first); then input order."""

    def key(s: Step) -> tuple[Any, ...]:
        if s.finding is not None:
            seq, age = s.finding.extra.get("_seq", 0), s.finding.extra.get("_age")
        else:
            seq, age = (s.moved.rec.seq, s.moved.rec.age) if s.moved else (0, None)
        return (
            0 if s.time is not None else 1,
            s.time.timestamp() if s.time is not None else 0.0,
            -(age or 0.0),
            seq,
        )

    story.steps.sort(key=key)
