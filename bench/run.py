"""The premortem benchmark: speed and memory against the parse floor and Checkov; writes BENCHMARKS.md.

    python bench/run.py --corpus /path/to/corpus/real          (what `make bench CORPUS=...` runs)

Every measured command runs as its own process, cold, with its output going to a file. For each run
the script records the wall time and the peak memory of the whole process tree (sampled from /proc
every 10 ms: the proportional set sizes of the process and its children, summed, so that pages a
forked child shares with its parent count once; never less than the kernel's ru_maxrss of the
largest single process). A number in the table is the median of the runs, with the
minimum and maximum next to it.

Besides the real corpus, the same synthetic objects are scanned in every shape users feed premortem
(bench/synth.py: many files, one multi-document file, a kind: List in YAML and in JSON, a dense
namespace) at 1k, 10k and 100k objects against the parse floor of the same bytes (bench/shapes.py),
and `premortem capacity` runs on 300 nodes and 15,000 pods. Checkov is installed into its own
virtualenv (bench/.venv-checkov) when it is missing; the script says so. Synthetic inputs are written
below bench/out/. `--shapes`, `--sizes` and `--cluster` choose what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from measure import ENV, HERE, ROOT, MiB, Runs, _display, repeat, verdict
from shapes import ShapeRow, measure_capacity, measure_shapes, shape_tables, target_rows
from synth import SHAPES

OUT = os.path.join(HERE, "out")
CHECKOV_VENV = os.path.join(HERE, ".venv-checkov")
CHECKOV = os.path.join(CHECKOV_VENV, "bin", "checkov")
PYTHON = sys.executable
PREMORTEM = os.path.join(os.path.dirname(PYTHON), "premortem")
NOTES = os.path.join(HERE, "NOTES.md")


def ensure_checkov() -> str | None:
    if os.path.exists(CHECKOV):
        return CHECKOV
    print(
        f"bench: Checkov is not installed; installing it into {_display(CHECKOV_VENV)} (pip install checkov)"
    )
    try:
        subprocess.run([sys.executable, "-m", "venv", CHECKOV_VENV], check=True)
        subprocess.run(
            [os.path.join(CHECKOV_VENV, "bin", "pip"), "install", "--quiet", "checkov"], check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: could not install Checkov ({exc}); its rows are left out")
        return None
    return CHECKOV


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout.strip() or out.stderr.strip()).splitlines()[-1] if (out.stdout or out.stderr) else "?"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "cores (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def count_objects(report_path: str) -> int:
    with open(report_path) as handle:
        return int(json.load(handle)["summary"]["objects"])


def scan_json(argv: list[str]) -> dict[str, Any]:
    out = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    if out.returncode not in (0, 1):
        raise SystemExit(f"bench: `{' '.join(argv)}` exited {out.returncode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="the real-manifest corpus (a directory)")
    parser.add_argument("--runs", type=int, default=5, help="runs per premortem and parse-floor row")
    parser.add_argument("--checkov-runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000", help="synthetic corpus sizes (objects)")
    parser.add_argument(
        "--big-runs",
        type=int,
        default=None,
        help="runs per row at 100,000 objects or more (default: max(3, runs/2))",
    )
    parser.add_argument("--shapes", default=",".join(SHAPES), help="synthetic shapes (bench/synth.py)")
    parser.add_argument("--cluster", default="300x15000", help="capacity: NODESxPODS ('' to skip)")
    parser.add_argument("--capacity-runs", type=int, default=3)
    parser.add_argument("--no-checkov", action="store_true", help="leave Checkov out")
    parser.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument(
        "--readme", default=os.path.join(ROOT, "README.md"), help="README whose Speed section is updated"
    )
    args = parser.parse_args()

    corpus = os.path.abspath(args.corpus)
    if not os.path.isdir(corpus):
        raise SystemExit(f"bench: {corpus}: not a directory (use make bench CORPUS=/path/to/corpus)")
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([PYTHON, "-m", "compileall", "-q", os.path.join(ROOT, "src"), HERE], check=False, env=ENV)
    info = machine()
    print("bench: machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)

    checkov = None if args.no_checkov else ensure_checkov()
    versions = {
        "premortem": _version([PREMORTEM, "--version"]),
        "Python": platform.python_version(),
        "PyYAML": _version(
            [PYTHON, "-c", "import yaml; print(yaml.__version__, 'libyaml', yaml.__with_libyaml__)"]
        ),
    }
    if checkov:
        versions["Checkov"] = _version([checkov, "--version"])

    jobs_default = _version(
        [PYTHON, "-c", "from premortem.load.parallel import default_jobs; print(default_jobs())"]
    )
    rows: list[Runs] = []
    scan_cmd = [PREMORTEM, "scan", corpus, "--format", "json"]
    floor_cmd = [PYTHON, os.path.join(HERE, "floor.py"), corpus]

    print("bench: real corpus", flush=True)
    report = scan_json(scan_cmd)
    objects_real = int(report["summary"]["objects"])
    files_real = int(report["summary"]["files"])
    scan = repeat("premortem scan (default jobs)", scan_cmd, args.runs)
    serial = repeat("premortem scan -j 1", [*scan_cmd, "-j", "1"], args.runs)
    floor = repeat("parse floor (PyYAML C loader; json.loads for JSON)", floor_cmd, args.runs)
    rows += [scan, serial, floor]
    checkov_runs = None
    if checkov:
        checkov_cmd = [
            checkov,
            "--framework",
            "kubernetes",
            "-d",
            corpus,
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ]
        checkov_runs = repeat("Checkov", checkov_cmd, args.checkov_runs, ok=(0, 1))
        rows.append(checkov_runs)

    print("bench: cold start", flush=True)
    one_file = os.path.join(OUT, "one-file")
    from synth import generate  # bench/ is on sys.path as the script's folder

    generate(one_file, 8, seed=1)
    one = next(os.path.join(d, f) for d, _, fs in os.walk(one_file) for f in fs)
    version_runs = repeat("premortem --version", [PREMORTEM, "--version"], max(args.runs, 10))
    one_runs = repeat(
        "premortem scan (one file)", [PREMORTEM, "scan", one, "--format", "json"], max(args.runs, 10)
    )
    rows += [version_runs, one_runs]

    sizes = [int(size) for size in args.sizes.split(",") if size]
    shapes = [shape for shape in args.shapes.split(",") if shape]
    shape_rows = measure_shapes(shapes, sizes, args.runs, repeat, PREMORTEM, PYTHON, HERE, OUT, args.big_runs)
    capacity = None
    if args.cluster:
        nodes, pods = (int(n) for n in args.cluster.lower().split("x"))
        capacity = measure_capacity(nodes, pods, args.capacity_runs, repeat, PREMORTEM, OUT)

    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    write_report(
        args,
        Results(
            info, versions, jobs_default, corpus, files_real, objects_real, scan, serial, floor,
            checkov_runs, version_runs, one_runs, shape_rows, capacity,
        ),
    )  # fmt: skip


@dataclass
class Results:
    info: dict[str, str]
    versions: dict[str, str]
    jobs_default: str
    corpus: str
    files_real: int
    objects_real: int
    scan: Runs
    serial: Runs
    floor: Runs
    checkov_runs: Runs | None
    version_runs: Runs
    one_runs: Runs
    shapes: list[ShapeRow] = field(default_factory=list)
    capacity: tuple[int, int, Runs] | None = None


def write_report(args: argparse.Namespace, res: Results) -> None:
    info, versions, jobs_default, corpus = res.info, res.versions, res.jobs_default, res.corpus
    files_real, objects_real, scan, serial, floor = (
        res.files_real,
        res.objects_real,
        res.scan,
        res.serial,
        res.floor,
    )
    checkov_runs, version_runs, one_runs = res.checkov_runs, res.version_runs, res.one_runs
    lines: list[str] = []
    add = lines.append
    add("# Benchmarks")
    add("")
    add(
        f"Generated by `make bench CORPUS={_display(corpus)}` (bench/run.py) on "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Do not edit by hand: rerun it."
    )
    add("")
    add("Every number is the median of repeated cold runs (a new process each time), with the minimum and")
    add("maximum in brackets. Peak memory is the peak memory of the whole process tree (workers included:")
    add("each process's proportional set size, summed, so pages a forked child shares with its parent")
    add("count once; sampled every 10 ms, never less than GNU time's maximum RSS). CPU time is user")
    add("plus system time of the whole process tree (workers included): when other work shares the")
    add("machine, wall times stretch and CPU times hardly move, so CPU ratios are the steadier measure of")
    add("work done; the targets are judged on wall time. Python bytecode is compiled once beforehand, as")
    add("`pip install` does, so a cold start is a process start.")
    add("")
    add("## Machine and versions")
    add("")
    for key, value in {**info, **versions}.items():
        add(f"- {key}: {value}")
    add(f"- premortem default workers (`-j`): {jobs_default}")
    add("")
    add(f"## Real corpus: {files_real} files, {objects_real} objects")
    add("")
    add("| what | wall time | CPU time | peak memory | runs |")
    add("| --- | --- | --- | --- | --- |")
    for row in (scan, serial, floor, checkov_runs):
        if row is not None:
            add(
                f"| {row.label} | {row.time_cell()} | {row.cpu:.2f} s | {row.rss_cell()} | {len(row.seconds)} |"
            )
    add("")
    add("## Targets")
    add("")
    add("| target | result | verdict |")
    add("| --- | --- | --- |")
    ratio = scan.time / floor.time
    add(
        f"| scan ≤ 1.0x the parse floor | {ratio:.2f}x ({scan.time:.2f} s vs {floor.time:.2f} s; "
        f"`-j 1`: {serial.time / floor.time:.2f}x) | {verdict(ratio <= 1.0)} |"
    )
    if checkov_runs is not None:
        speed = checkov_runs.time / scan.time
        mem = scan.memory / checkov_runs.memory
        add(
            f"| ≥ 20x faster than Checkov | {speed:.1f}x ({checkov_runs.time:.1f} s vs {scan.time:.2f} s) "
            f"| {verdict(speed >= 20)} |"
        )
        add(
            f"| peak memory ≤ 1/4 of Checkov's | {mem:.2f} of it ({scan.memory / MiB:.0f} MiB vs "
            f"{checkov_runs.memory / MiB:.0f} MiB) | {verdict(mem <= 0.25)} |"
        )
    else:
        add(
            "| ≥ 20x faster than Checkov | Checkov not measured (--no-checkov or install failed) | not measured |"
        )
        add("| peak memory ≤ 1/4 of Checkov's | Checkov not measured | not measured |")
    add(
        f"| `premortem --version` < 0.15 s | {version_runs.time:.3f} s | {verdict(version_runs.time < 0.15)} |"
    )
    add(f"| one-file scan < 0.3 s | {one_runs.time:.3f} s | {verdict(one_runs.time < 0.3)} |")
    for row in target_rows(res.shapes):
        add(row)
    if res.capacity is not None:
        nodes, pods, runs = res.capacity
        add(
            f"| capacity on {nodes} nodes x {pods} pods (N-1 for every node, drains) | {runs.time:.1f} s, "
            f"{runs.memory / MiB:.0f} MiB | measured |"
        )
    add("")
    if res.shapes:
        add("## Shapes (the same synthetic objects, packaged as users feed them; bench/synth.py)")
        add("")
        add("The parse floor parses the same bytes and nothing else: PyYAML's C loader for YAML (as")
        add(
            "`yaml.load_all`, with Python's garbage collector on, as a program using it has it), `json.loads`"
        )
        add("for JSON. premortem runs with its default jobs and prints the JSON report.")
        add("")
        lines.extend(shape_tables(res.shapes))
    if res.capacity is not None:
        nodes, pods, runs = res.capacity
        add(f"## Capacity: {nodes} nodes, {pods} pods")
        add("")
        add("`premortem capacity` on Node objects and workloads from `bench/synth.py --cluster` (DaemonSets,")
        add(
            "hostname anti-affinity, a tainted pool, PDBs, HPAs): steady state, peak, losing each node, draining"
        )
        add("each node, overcommit and headroom.")
        add("")
        add("| what | wall time | peak memory |")
        add("| --- | --- | --- |")
        add(f"| {runs.label} | {runs.time_cell()} | {runs.rss_cell()} |")
        add("")
    add("## Cold start")
    add("")
    add("| what | wall time | peak memory |")
    add("| --- | --- | --- |")
    for row in (version_runs, one_runs):
        add(f"| {row.label} | {row.time_cell()} | {row.rss_cell()} |")
    add("")
    add("## Commands")
    add("")
    add("```sh")
    for row in (scan, serial, floor, checkov_runs, version_runs, one_runs):
        if row is not None:
            add(row.command())
    for shape_row in res.shapes:
        add(shape_row.scan.command())
        add(shape_row.floor.command())
    if res.capacity is not None:
        add(res.capacity[2].command())
    add("```")
    add("")
    if os.path.exists(NOTES):
        with open(NOTES, encoding="utf-8") as handle:
            add(handle.read().rstrip("\n"))
        add("")
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print(f"bench: wrote {_display(args.output)}")
    update_readme(args.readme, scan, floor, checkov_runs, version_runs, one_runs, res)


README_MARKER = "<!-- section: speed (BENCHMARKS.md) -->"


def update_readme(
    path: str,
    scan: Runs,
    floor: Runs,
    checkov_runs: Runs | None,
    version_runs: Runs,
    one_runs: Runs,
    res: Results | None = None,
) -> None:
    """Replace the README's Speed section body (from its marker to the next heading) with the numbers."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start = text.find(README_MARKER)
    if start < 0:
        return
    body_start = start + len(README_MARKER)
    end = text.find("\n## ", body_start)
    end = len(text) if end < 0 else end + 1
    rows = [
        "",
        "Scanning the real-world corpus (numbers from [BENCHMARKS.md](BENCHMARKS.md), regenerated by",
        "`make bench CORPUS=...`; medians of cold runs):",
        "",
    ]
    if res is not None:
        rows += [
            f"Measured on {res.info.get('cores (nproc)', '?')} cores at a load average of "
            f"{res.info.get('load average at start', '?').split()[0]} (other work shared the machine: wall times",
            "stretch with load; BENCHMARKS.md gives CPU times too).",
            "",
        ]
    rows += [
        "| | wall time | peak memory |",
        "| --- | --- | --- |",
        f"| premortem scan | {scan.time:.2f} s | {scan.memory / MiB:.0f} MiB |",
        f"| PyYAML C loader, parsing only | {floor.time:.2f} s | {floor.memory / MiB:.0f} MiB |",
    ]
    if checkov_runs is not None:
        rows.append(f"| Checkov | {checkov_runs.time:.1f} s | {checkov_runs.memory / MiB:.0f} MiB |")
    biggest = max((r.size for r in res.shapes), default=0) if res is not None else 0
    if res is not None and biggest:
        rows += [
            "",
            f"The same {biggest:,} synthetic objects in every shape users feed it (one file per app, one",
            "multi-document file, `kubectl get -A -o yaml` and `-o json` dumps, one dense namespace):",
            "",
            "| shape | premortem scan | peak memory | parse floor of the same bytes |",
            "| --- | --- | --- | --- |",
        ]
        rows += [
            f"| {r.shape} | {r.scan.time:.1f} s | {r.scan.memory / MiB:.0f} MiB | {r.floor.time:.1f} s |"
            for r in res.shapes
            if r.size == biggest
        ]
    if res is not None and res.capacity is not None:
        nodes, pods, runs = res.capacity
        rows += [
            "",
            f"`premortem capacity` on {nodes} nodes and {pods:,} pods, losing and draining each node: "
            f"{runs.time:.1f} s, {runs.memory / MiB:.0f} MiB.",
        ]
    rows += [
        "",
        f"`premortem --version` takes {version_runs.time * 1000:.0f} ms and a one-file scan "
        f"{one_runs.time * 1000:.0f} ms. `premortem scan` parses files, and pieces of a big",
        "multi-document file, in parallel worker processes, and from 3,000 objects judges them in two",
        "processes that share the loaded objects (`-j N`; default: one per available core, in-process",
        "for small inputs); the output is identical with any `-j`.",
        "",
    ]
    new = text[:body_start] + "\n".join(rows) + "\n" + text[end:]
    if new != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(new)
        print(f"bench: updated the Speed section of {_display(path)}")


if __name__ == "__main__":
    main()
