"""The shapes of issue 16 for bench/run.py: the same objects packaged the ways users feed them, each
scanned at growing sizes against the parse floor of the same bytes, and capacity on a big cluster.

A shape's table row: objects, premortem scan (default jobs), its peak memory, the parse floor
(bench/floor.py: PyYAML's C loader for YAML, json.loads for JSON) and the ratio. Targets: every YAML
shape within 1.0x its floor at 100,000 objects, JSON no slower than the same objects as YAML, time
linear in objects (least-squares R² >= 0.99), 100,000 objects under 1 GiB.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from measure import MiB, Runs, fit, verdict
from synth import SHAPES, cluster, generate

YAML_SHAPES = ("files", "multidoc", "list-yaml", "dense")


@dataclass
class ShapeRow:
    shape: str
    size: int
    scan: Runs
    floor: Runs

    @property
    def ratio(self) -> float:
        return self.scan.time / self.floor.time

    @property
    def cpu_ratio(self) -> float:
        return self.scan.cpu / self.floor.cpu if self.floor.cpu else float("nan")


def measure_shapes(
    shapes: list[str],
    sizes: list[int],
    runs: int,
    repeat: Callable[..., Runs],
    premortem: str,
    python: str,
    here: str,
    out: str,
    big_runs: int | None = None,
) -> list[ShapeRow]:
    rows: list[ShapeRow] = []
    for shape in shapes:
        for size in sizes:
            folder = os.path.join(out, f"{shape}-{size}")
            print(f"bench: shape {shape}, {size} objects", flush=True)
            generate(folder, size, shape=shape)
            count = runs if size < 100_000 else (big_runs or max(3, runs // 2))
            scan = repeat(
                f"{shape} {size}: premortem scan", [premortem, "scan", folder, "--format", "json"], count
            )
            floor = repeat(
                f"{shape} {size}: parse floor", [python, os.path.join(here, "floor.py"), folder], count
            )
            rows.append(ShapeRow(shape, size, scan, floor))
    return rows


def measure_capacity(
    nodes: int, pods: int, runs: int, repeat: Callable[..., Runs], premortem: str, out: str
) -> tuple[int, int, Runs]:
    folder = os.path.join(out, f"cluster-{nodes}-{pods}")
    print(f"bench: capacity, {nodes} nodes and {pods} pods", flush=True)
    placed = cluster(folder, nodes, pods)
    result = repeat(
        f"capacity {nodes} nodes x {placed} pods", [premortem, "capacity", folder, "--format", "json"], runs
    )
    return nodes, placed, result


def target_rows(rows: list[ShapeRow]) -> list[str]:
    """Markdown rows (target | result | verdict) for the shape targets."""
    out: list[str] = []
    by_shape: dict[str, list[ShapeRow]] = {}
    for row in rows:
        by_shape.setdefault(row.shape, []).append(row)
    for shape, found in by_shape.items():
        biggest = max(found, key=lambda r: r.size)
        if shape in YAML_SHAPES and biggest.size >= 100_000:
            out.append(
                f"| {shape}: ≤ 1.0x the parse floor at {biggest.size} objects | {biggest.ratio:.2f}x "
                f"({biggest.scan.time:.1f} s vs {biggest.floor.time:.1f} s; CPU time: "
                f"{biggest.cpu_ratio:.2f}x) | {verdict(biggest.ratio <= 1.0)} |"
            )
        if len(found) >= 2:
            xs = [float(r.size) for r in found]
            a, b, r2 = fit(xs, [r.scan.time for r in found])
            _, bm, r2m = fit(xs, [r.scan.memory / MiB for r in found])
            out.append(
                f"| {shape}: time linear in objects (R² ≥ 0.99) | {b * 1000:.3f} ms per object + {a:.2f} s, "
                f"R² {r2:.4f} (memory: {bm * 1024:.1f} KiB per object, R² {r2m:.4f}) | {verdict(r2 >= 0.99)} |"
            )
        if biggest.size >= 100_000:
            memory = biggest.scan.memory
            out.append(
                f"| {shape}: {biggest.size} objects under 1 GiB | {memory / MiB:.0f} MiB "
                f"| {verdict(memory < 1024 * MiB)} |"
            )
    yaml_rows = {r.size: r for r in by_shape.get("list-yaml", [])}
    for row in by_shape.get("list-json", []):
        twin = yaml_rows.get(row.size)
        if twin is not None:
            faster = row.scan.time <= twin.scan.time
            out.append(
                f"| list-json no slower than list-yaml ({row.size} objects) | {row.scan.time:.2f} s vs "
                f"{twin.scan.time:.2f} s | {verdict(faster)} |"
            )
    return out


def shape_tables(rows: list[ShapeRow]) -> list[str]:
    lines: list[str] = []
    for shape in SHAPES:
        found = [r for r in rows if r.shape == shape]
        if not found:
            continue
        lines += [
            f"### {shape}",
            "",
            "| objects | premortem scan | peak memory | parse floor | floor memory | scan / floor "
            "| CPU time: scan, floor, scan / floor |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in found:
            lines.append(
                f"| {r.size} | {r.scan.time_cell()} | {r.scan.rss_cell()} | {r.floor.time_cell()} "
                f"| {r.floor.rss_cell()} | {r.ratio:.2f}x "
                f"| {r.scan.cpu:.2f} s, {r.floor.cpu:.2f} s, {r.cpu_ratio:.2f}x |"
            )
        lines.append("")
    return lines
