"""The capacity report as data (JSON), and as terminal bars: one line per node, requested against
allocatable for cpu and memory, memory limits as an overlay, and what happens if the node is lost or
drained. Colour comes from rich, only on a terminal."""

from __future__ import annotations

from typing import Any

from premortem.analyses.capacity.simulate import (
    CapacityReport,
    Drain,
    NodeLoss,
    NodeUsage,
    Scenario,
)
from premortem.findings import Finding
from premortem.model.quantity import format_bytes, format_millicores

BAR_WIDTH = 24


# ---------------------------------------------------------------------------------------- shared words
def loss_verdict(loss: NodeLoss) -> str:
    if loss.placement is None:
        return "ok (nothing to move)"
    if loss.fits:
        return f"ok ({len(loss.displaced)} pods move)"
    pod, why = loss.pending[0]
    down = f"; {len(loss.down)} workload(s) down" if loss.down else ""
    return f"FAILS: {len(loss.pending)} of {len(loss.displaced)} pods stay Pending{down} (first {pod.name}: {why})"


def drain_verdict(drain: Drain) -> str:
    if drain.ok:
        return "ok"
    first = drain.blockers[0]
    more = f" (+{len(drain.blockers) - 1} more)" if len(drain.blockers) > 1 else ""
    return f"BLOCKED: {first.pods[0].name}: {first.reason}{more}"


def largest_pod_text(report: CapacityReport) -> str:
    h = report.headroom
    if h.largest_memory is None or h.largest_cpu is None:
        return "none: every node is out of pod slots"
    mem, cpu, node = h.largest_memory
    cpu2, mem2, node2 = h.largest_cpu
    text = f"{format_bytes(max(mem, 0))} memory with {format_millicores(max(cpu, 0))} cpu (on {node})"
    if node2 != node:
        text += (
            f"; {format_millicores(max(cpu2, 0))} cpu with {format_bytes(max(mem2, 0))} memory (on {node2})"
        )
    return text


def scenario_line(s: Scenario) -> str:
    placed = len(s.placement.assignment)
    if s.fits:
        return f"{s.title}: fits ({placed} pods placed)"
    pod, why = s.placement.unplaced[0]
    return f"{s.title}: DOES NOT FIT, {len(s.placement.unplaced)} of {len(s.pods)} pods Pending (first {pod.name}: {why})"


# ---------------------------------------------------------------------------------------- JSON
def _usage_json(u: NodeUsage) -> dict[str, Any]:
    return {
        "node": u.node.name,
        "requested": {"cpu": u.cpu, "memory": u.memory, "pods": u.pods},
        "limits": {"cpu": u.cpu_limits, "memory": u.memory_limits},
        "pods_without_memory_limit": u.unbounded,
        "memory_limits_ratio": round(u.memory_ratio, 3),
    }


def _scenario_json(s: Scenario) -> dict[str, Any]:
    return {
        "name": s.name,
        "title": s.title,
        "fits": s.fits,
        "exact": s.placement.exact,
        "pods": len(s.pods),
        "placed": len(s.placement.assignment),
        "pending": [
            {"pod": p.name, "workload": p.workload.ref.to_json(), "reason": why}
            for p, why in s.placement.unplaced
        ],
        "nodes": [_usage_json(u) for u in s.usage],
    }


def report_json(report: CapacityReport, findings: list[Finding]) -> dict[str, Any]:
    h = report.headroom
    over = report.overcommit
    return {
        "nodes_source": report.source,
        "nodes": [
            {
                "name": n.name,
                "pool": n.pool,
                "allocatable": {"cpu": n.cpu, "memory": n.memory, "pods": n.pods},
                "capacity": n.capacity or None,
                "labels": n.labels,
                "taints": [t.display() for t in n.taints],
                "file": n.doc.file if n.doc else None,
                "line": n.doc.line if n.doc else None,
            }
            for n in report.nodeset.nodes
        ],
        "scenarios": [_scenario_json(s) for s in (report.base, report.peak) if s is not None],
        "node_loss": [
            {
                "node": loss.node.name,
                "fits": loss.fits,
                "displaced": len(loss.displaced),
                "pending": [
                    {"pod": p.name, "workload": p.workload.ref.to_json(), "reason": why}
                    for p, why in loss.pending
                ],
                "workloads_down": [d.ref.to_json() for d in loss.down],
            }
            for loss in report.losses
        ],
        "drain": [
            {
                "node": d.node.name,
                "ok": d.ok,
                "blockers": [
                    {
                        "pods": [p.name for p in b.pods],
                        "workload": b.pods[0].workload.ref.to_json(),
                        "pdb": b.pdb.ref.to_json() if b.pdb else None,
                        "reason": b.reason,
                        "eviction_status": b.status,
                    }
                    for b in d.blockers
                ],
            }
            for d in report.drains
        ],
        "overcommit": {
            "threshold": over.threshold,
            "memory_limits": over.limits,
            "memory_allocatable": over.allocatable,
            "ratio": round(over.ratio, 3),
            "nodes_over": [u.node.name for u in over.nodes],
            "largest_gaps": [
                {"workload": g.doc.ref.to_json(), "limit_minus_request": g.excess, "pods": g.pods}
                for g in over.top[:10]
            ],
        },
        "headroom": {
            "nodes": h.nodes,
            "nodes_needed_n_plus_1": h.needed_n_plus_1,
            "added_node_like": h.clone_of,
            "largest_pod_by_memory": _largest(h.largest_memory, "memory", "cpu"),
            "largest_pod_by_cpu": _largest(h.largest_cpu, "cpu", "memory"),
        },
        "notes": report.notes,
        "findings": [f.to_json() for f in findings],
    }


def _largest(value: tuple[int, int, str] | None, first: str, second: str) -> dict[str, Any] | None:
    if value is None:
        return None
    a, b, node = value
    return {first: max(a, 0), second: max(b, 0), "node": node}


# ---------------------------------------------------------------------------------------- terminal
def _bar(used: int, total: int, overlay: int | None = None) -> tuple[str, str]:
    """(bar text with rich markup, percentage text) for ``used`` of ``total``; overlay = limits."""
    width = BAR_WIDTH
    frac = used / total if total else 0.0
    filled = min(width, round(frac * width))
    extra = 0
    over_marker = ""
    if overlay is not None and total:
        lim = min(width, round(overlay / total * width))
        extra = max(0, lim - filled)
        if overlay > total:
            over_marker = "[bold red]»[/]"
    style = "green" if frac <= 0.7 else "yellow" if frac <= 0.9 else "red"
    empty = width - filled - extra
    text = f"[{style}]{'█' * filled}[/][magenta]{'▒' * extra}[/][dim]{'·' * empty}[/]{over_marker or ' '}"
    return text, f"{frac * 100:3.0f}%"


def render_text(report: CapacityReport, console: Any) -> None:
    from rich.markup import escape

    nodes = report.nodeset.nodes
    plural = "node" if len(nodes) == 1 else "nodes"
    console.print(f"[bold]Capacity of {len(nodes)} {plural}[/]  [dim]({escape(report.source)})[/]")
    for s in (report.base, report.peak):
        if s is not None:
            style = "green" if s.fits else "bold red"
            console.print(f"  [{style}]{escape(scenario_line(s))}[/]")
    console.print()
    name_w = max([4, *(len(n.name) for n in nodes)])
    cpu_width = BAR_WIDTH + 1 + 4 + 1 + 13  # bar, marker, percentage, numbers
    console.print(
        f"[bold]{'node':{name_w}}  {'cpu requested / allocatable':{cpu_width}}  "
        "memory requested / allocatable (▒ limits, » limits beyond allocatable)[/]"
    )
    losses = {loss.node.name: loss for loss in report.losses}
    drains = {d.node.name: d for d in report.drains}
    for u in report.base.usage:
        n = u.node
        cpu_bar, cpu_pct = _bar(u.cpu, n.cpu)
        mem_bar, mem_pct = _bar(u.memory, n.memory, u.memory_limits)
        cpu_num = f"{format_millicores(u.cpu)}/{format_millicores(n.cpu)}"
        mem_num = f"{format_bytes(u.memory)}/{format_bytes(n.memory)}"
        limits = f" lim {u.memory_ratio:.1f}x" if u.memory_limits > u.memory else ""
        console.print(
            f"{escape(n.name):{name_w}}  {cpu_bar}{cpu_pct} {cpu_num:>13}  "
            f"{mem_bar}{mem_pct} {mem_num:>15}{limits}  [dim]pods {u.pods}/{n.pods}[/]"
        )
        loss = losses[n.name]
        style = "green" if loss.fits else ("bold red" if loss.down else "yellow")
        console.print(f"{'':{name_w}}  [dim]if lost:[/] [{style}]{escape(loss_verdict(loss))}[/]")
        drain = drains[n.name]
        if not drain.ok:
            console.print(f"{'':{name_w}}  [dim]drain:[/]   [yellow]{escape(drain_verdict(drain))}[/]")
    console.print()
    over = report.overcommit
    style = "yellow" if over.ratio > over.threshold else "green"
    console.print(
        f"[bold]Memory limits[/] {format_bytes(over.limits)} of {format_bytes(over.allocatable)} allocatable: "
        f"[{style}]{over.ratio:.2f}x[/] (medium above {over.threshold}x)"
    )
    for g in over.top[:3]:
        console.print(f"  [dim]limit − request[/] {format_bytes(g.excess)} × {g.pods}  {escape(g.owner)}")
    console.print(f"[bold]N+1 needs[/] {escape(report.headroom.describe())}")
    console.print(f"[bold]Largest pod that still fits[/] {escape(largest_pod_text(report))}")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    console.print()
