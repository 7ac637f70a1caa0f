"""The premortem benchmark: speed and memory against the parse floor and Checkov; writes BENCHMARKS.md.

    python bench/run.py --corpus /path/to/corpus/real          (what `make bench CORPUS=...` runs)

Every measured command runs as its own process, cold, with its output going to a file. For each run
the script records the wall time and the peak resident memory of the whole process tree (sampled from
/proc every 10 ms, summed over the process and its children, and never less than the kernel's
ru_maxrss of the largest single process). A number in the table is the median of the runs, with the
minimum and maximum next to it.

Checkov is installed into its own virtualenv (bench/.venv-checkov) when it is missing; the script says
so. Synthetic corpora (bench/synth.py) are written below bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
CHECKOV_VENV = os.path.join(HERE, ".venv-checkov")
CHECKOV = os.path.join(CHECKOV_VENV, "bin", "checkov")
PYTHON = sys.executable
PREMORTEM = os.path.join(os.path.dirname(PYTHON), "premortem")
NOTES = os.path.join(HERE, "NOTES.md")
SAMPLE_SECONDS = 0.01
MiB = 1024 * 1024
# Measured commands run with bytecode caching on (as after `pip install`, which compiles): a cold
# start then measures starting a process, not compiling premortem's sources on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Runs:
    """Wall seconds and peak RSS bytes of repeated runs of one command."""

    label: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)

    @property
    def time(self) -> float:
        return statistics.median(self.seconds)

    @property
    def memory(self) -> float:
        return statistics.median(self.rss)

    def time_cell(self) -> str:
        return f"{self.time:.3f} s ({min(self.seconds):.3f}–{max(self.seconds):.3f})"

    def rss_cell(self) -> str:
        return f"{self.memory / MiB:.0f} MiB ({min(self.rss) / MiB:.0f}–{max(self.rss) / MiB:.0f})"

    def command(self) -> str:
        return " ".join(shlex.quote(_display(a)) for a in self.argv)


def _display(arg: str) -> str:
    """Paths relative to the repository where that is shorter, so the commands read as typed."""
    if arg.startswith(ROOT + os.sep):
        return os.path.relpath(arg, ROOT)
    return arg


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _tree_rss(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        total += _rss(current)
        stack.extend(_children(current))
    return total


GNU_TIME = "/usr/bin/time"


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes of the process tree, exit code) of one cold run.

    The command runs under GNU time when it is there: a process forked from this (bigger) script
    would otherwise carry the script's own resident set in its ru_maxrss.
    """
    with tempfile.TemporaryFile() as sink, tempfile.NamedTemporaryFile("r") as maxrss_file:
        wrapped = os.path.exists(GNU_TIME)
        full = [GNU_TIME, "-f", "%M", "-o", maxrss_file.name, *argv] if wrapped else argv
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=sink, stderr=subprocess.DEVNULL, env=env or ENV)
        peak = 0
        while True:
            waited, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if waited:
                elapsed = time.perf_counter() - start
                break
            roots = _children(proc.pid) if wrapped else [proc.pid]
            peak = max(peak, sum(_tree_rss(pid) for pid in roots))
            time.sleep(SAMPLE_SECONDS)
        proc.returncode = os.waitstatus_to_exitcode(status)
        kib = usage.ru_maxrss
        if wrapped:
            text = maxrss_file.read().strip().splitlines()
            kib = int(text[-1]) if text and text[-1].isdigit() else 0
    return elapsed, max(peak, kib * 1024), proc.returncode


def repeat(label: str, argv: list[str], runs: int, env: dict[str, str] | None = None, ok=(0, 1)) -> Runs:
    result = Runs(label, argv)
    for index in range(runs):
        seconds, rss, code = measure(argv, env)
        if code not in ok:
            raise SystemExit(f"bench: {label}: `{result.command()}` exited {code}")
        result.seconds.append(seconds)
        result.rss.append(rss)
        result.exit_codes.append(code)
        print(f"  {label} run {index + 1}/{runs}: {seconds:.3f} s, {rss / MiB:.0f} MiB", flush=True)
    return result


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


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x: (a, b, r squared)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="the real-manifest corpus (a directory)")
    parser.add_argument("--runs", type=int, default=5, help="runs per premortem and parse-floor row")
    parser.add_argument("--checkov-runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000", help="synthetic corpus sizes (objects)")
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
    floor = repeat("parse floor (PyYAML CSafeLoader)", floor_cmd, args.runs)
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

    print("bench: scaling", flush=True)
    scaling: list[tuple[int, Runs, Runs]] = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        folder = os.path.join(OUT, f"synthetic-{size}")
        generate(folder, size)
        cmd = [PREMORTEM, "scan", folder, "--format", "json"]
        runs = args.runs if size < 100_000 else max(3, args.runs // 2)
        result = repeat(f"premortem scan ({size} objects)", cmd, runs)
        floor_size = repeat(
            f"parse floor ({size} objects)", [PYTHON, os.path.join(HERE, "floor.py"), folder], runs
        )
        scaling.append((size, result, floor_size))

    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    write_report(
        args,
        Results(
            info, versions, jobs_default, corpus, files_real, objects_real, scan, serial, floor,
            checkov_runs, version_runs, one_runs, scaling,
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
    scaling: list[tuple[int, Runs, Runs]]


def write_report(args: argparse.Namespace, res: Results) -> None:
    info, versions, jobs_default, corpus = res.info, res.versions, res.jobs_default, res.corpus
    files_real, objects_real, scan, serial, floor = (
        res.files_real,
        res.objects_real,
        res.scan,
        res.serial,
        res.floor,
    )
    checkov_runs, version_runs, one_runs, scaling = (
        res.checkov_runs,
        res.version_runs,
        res.one_runs,
        res.scaling,
    )
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
    add("maximum in brackets. Peak memory is the peak resident set of the whole process tree (workers")
    add("included, summed, sampled every 10 ms, never less than GNU time's maximum RSS). Python bytecode is")
    add("compiled once beforehand, as `pip install` does, so a cold start is a process start.")
    add("")
    add("## Machine and versions")
    add("")
    for key, value in {**info, **versions}.items():
        add(f"- {key}: {value}")
    add(f"- premortem default workers (`-j`): {jobs_default}")
    add("")
    add(f"## Real corpus: {files_real} files, {objects_real} objects")
    add("")
    add("| what | wall time | peak memory | runs |")
    add("| --- | --- | --- | --- |")
    for row in (scan, serial, floor, checkov_runs):
        if row is not None:
            add(f"| {row.label} | {row.time_cell()} | {row.rss_cell()} | {len(row.seconds)} |")
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
    if len(scaling) >= 2:
        xs = [float(size) for size, _, _ in scaling]
        a_t, b_t, r2_t = fit(xs, [r.time for _, r, _ in scaling])
        a_m, b_m, r2_m = fit(xs, [r.memory / MiB for _, r, _ in scaling])
        add(
            f"| time linear in objects | {b_t * 1000:.3f} ms per object + {a_t:.2f} s, R² {r2_t:.4f} "
            f"| {verdict(r2_t >= 0.99)} |"
        )
        add(
            f"| memory linear in objects | {b_m * 1000:.1f} KiB per object + {a_m:.0f} MiB, R² {r2_m:.4f} "
            f"| {verdict(r2_m >= 0.99)} |"
        )
    biggest = max(scaling, key=lambda s: s[0]) if scaling else None
    if biggest is not None and biggest[0] >= 100_000:
        add(
            f"| {biggest[0]} objects under 1 GiB peak RSS | {biggest[1].memory / MiB:.0f} MiB "
            f"| {verdict(biggest[1].memory < 1024 * MiB)} |"
        )
    add("")
    if scaling:
        add("## Scaling (synthetic corpus, bench/synth.py)")
        add("")
        add("| objects | premortem scan | peak memory | parse floor | scan / floor |")
        add("| --- | --- | --- | --- | --- |")
        for size, result, floor_size in scaling:
            add(
                f"| {size} | {result.time_cell()} | {result.rss_cell()} | {floor_size.time_cell()} "
                f"| {result.time / floor_size.time:.2f}x |"
            )
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
    for _size, result, floor_size in scaling:
        add(result.command())
        add(floor_size.command())
    add("```")
    add("")
    if os.path.exists(NOTES):
        with open(NOTES, encoding="utf-8") as handle:
            add(handle.read().rstrip("\n"))
        add("")
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print(f"bench: wrote {_display(args.output)}")
    update_readme(args.readme, scan, floor, checkov_runs, version_runs, one_runs)


README_MARKER = "<!-- section: speed (BENCHMARKS.md) -->"


def update_readme(
    path: str, scan: Runs, floor: Runs, checkov_runs: Runs | None, version_runs: Runs, one_runs: Runs
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
        "| | wall time | peak memory |",
        "| --- | --- | --- |",
        f"| premortem scan | {scan.time:.2f} s | {scan.memory / MiB:.0f} MiB |",
        f"| PyYAML C loader, parsing only | {floor.time:.2f} s | {floor.memory / MiB:.0f} MiB |",
    ]
    if checkov_runs is not None:
        rows.append(f"| Checkov | {checkov_runs.time:.1f} s | {checkov_runs.memory / MiB:.0f} MiB |")
    rows += [
        "",
        f"`premortem --version` takes {version_runs.time * 1000:.0f} ms and a one-file scan "
        f"{one_runs.time * 1000:.0f} ms. `premortem scan` parses files in parallel worker processes",
        "(`-j N`; default: one per available core, in-process for small inputs); the output is identical",
        "with any `-j`.",
        "",
    ]
    new = text[:body_start] + "\n".join(rows) + "\n" + text[end:]
    if new != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(new)
        print(f"bench: updated the Speed section of {_display(path)}")


if __name__ == "__main__":
    main()
