"""Benchmark of ``premortem diagnose`` on large logs: time linear in the input, memory bounded.

    python bench/diagnose.py                      # 25, 50, 100 and 200 MB
    python bench/diagnose.py --sizes 100,500      # the 500 MB check of issue 16

A log of each size is written below bench/out/diagnose/: the lines of the real snippets in
tests/diagnose/real (every format diagnose reads) between runs of the benign kubelet, etcd and
apiserver lines a real log is mostly made of. Each size is diagnosed cold, in its own process, under
GNU time (bench/run.py's ``measure``); the table gives wall and CPU time, throughput and peak resident
memory, and the verdicts: a least-squares fit of CPU time against size with R² >= 0.99 (linear; wall
time on a loaded machine measures the other processes too, its R² is printed beside), and a peak
memory that stops growing: the two largest logs (one at least twice the other) within 1.25x, every
peak under 100 MiB (bounded). The input size cap is raised
for the run (``PREMORTEM_DIAGNOSE_MAX_INPUT_BYTES`` is not needed: the script passes the settings).

bench/run.py can call ``main(["--sizes", ...])`` to add these rows to its report.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import MiB, fit, measure, verdict  # noqa: E402

OUT = HERE / "out" / "diagnose"
REAL = ROOT / "tests" / "diagnose" / "real"
BENIGN = (
    'I1125 19:{m:02d}:{s:02d}.412873    1187 kubelet.go:2400] "SyncLoop (probe)" probe="readiness" status="ready" pod="shop/web-{i}"',
    '{{"level":"info","ts":"2026-11-25T19:{m:02d}:{s:02d}.004Z","caller":"mvcc/kvstore_compaction.go:57","msg":"finished scheduled compaction","compact-revision":{i},"took":"12.4ms"}}',
    'Nov 25 19:{m:02d}:{s:02d} worker-2 kubelet[1187]: I1125 19:{m:02d}:{s:02d}.1 1187 reconciler.go:357] operationExecutor.VerifyControllerAttachedVolume started for volume "kube-api-access-{i}"',
    'I1125 19:{m:02d}:{s:02d}.1       1 trace.go:236] Trace[{i}]: "List" accept:application/json,audit-id:{i},verb:LIST (total time: 12ms):',
    'payments    {m}m         Normal   Pulled             pod/api-{i}               Container image "registry.example.com/payments/api:1.14.2" already present on machine',
)
# The evidence a run would have for this script's sizes: the maximum input size is raised to this.
CAP = 8 * 1024 * MiB


def write_log(path: Path, size_mb: int, seed: int = 7) -> int:
    """A log of about ``size_mb`` MB: real snippets between benign lines (one in twenty lines is
    evidence). Returns the number of lines."""
    if path.exists() and path.stat().st_size >= size_mb * 1000 * 1000:
        return sum(1 for _ in path.open("rb"))
    rng = random.Random(seed)
    evidence = [
        line for log in sorted(REAL.glob("*.log")) for line in log.read_text().splitlines() if line.strip()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    target = size_mb * 1000 * 1000
    written = lines = 0
    with path.open("w") as out:
        while written < target:
            chunk = []
            for i in range(1000):
                if i % 20 == 0:
                    chunk.append(rng.choice(evidence))
                else:
                    m, s = divmod((lines + i) % 3600, 60)
                    chunk.append(rng.choice(BENIGN).format(m=m, s=s, i=lines + i))
            text = "\n".join(chunk) + "\n"
            out.write(text)
            written += len(text.encode())
            lines += len(chunk)
    return lines


def _children_cpu() -> float:
    """User + system seconds of the waited-for children (GNU time and the diagnose under it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,200", help="log sizes in MB, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    premortem = os.path.join(os.path.dirname(sys.executable), "premortem")
    runner = [
        sys.executable,
        "-c",
        "import sys; from premortem.settings import Settings, use_settings; from premortem.cli import main; "
        f"sys.argv = ['premortem'] + sys.argv[1:]\nwith use_settings(Settings(max_input_bytes={CAP})): main()",
    ]
    if not os.path.exists(premortem):
        raise SystemExit("bench: premortem is not installed in this Python's environment (make install)")
    rows = []
    for size in sizes:
        path = OUT / f"incident-{size}mb.log"
        lines = write_log(path, size)
        before = _children_cpu()
        seconds, rss, code = measure(
            [*runner, "diagnose", str(path), "--format", "json", "--fail-on", "never"]
        )
        cpu = _children_cpu() - before
        if code != 0:
            raise SystemExit(f"bench: diagnose of {path} exited {code}")
        mb = path.stat().st_size / 1000 / 1000
        rows.append({"mb": mb, "lines": lines, "seconds": seconds, "cpu": cpu, "rss": rss})
        print(
            f"  {mb:7.0f} MB  {lines:>10,} lines  {seconds:7.2f} s wall  {cpu:7.2f} s CPU  "
            f"{mb / cpu:6.1f} MB/s  {rss / MiB:6.0f} MiB",
            flush=True,
        )
    print()
    print("| log | lines | wall time | CPU time | throughput (CPU) | peak memory |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['mb']:.0f} MB | {r['lines']:,} | {r['seconds']:.2f} s | {r['cpu']:.2f} s | "
            f"{r['mb'] / r['cpu']:.1f} MB/s | {r['rss'] / MiB:.0f} MiB |"
        )
    if len(rows) >= 3:
        # CPU time is the verdict: wall time on a loaded machine measures the other processes too.
        _, slope, r2 = fit([r["mb"] for r in rows], [r["cpu"] for r in rows])
        _, _, wall_r2 = fit([r["mb"] for r in rows], [r["seconds"] for r in rows])
        print(
            f"\nlinear in size (CPU time = a + b x MB, R² >= 0.99): R² = {r2:.4f}, {slope * 1000:.0f} ms per MB: "
            f"{verdict(r2 >= 0.99)} (wall time R² = {wall_r2:.4f})"
        )
    if len(rows) >= 2:
        # Bounded: the peak stops growing with the input. The last two sizes (the larger at least twice
        # the other) must be within 1.25x of each other, and every peak under 100 MiB.
        last, before = rows[-1], rows[-2]
        flat = last["rss"] <= 1.25 * before["rss"] and last["mb"] >= 2 * before["mb"]
        small = all(r["rss"] <= 100 * MiB for r in rows)
        print(
            f"bounded memory (peak flat over the last {last['mb'] / before['mb']:.1f}x of input: "
            f"{before['rss'] / MiB:.0f} -> {last['rss'] / MiB:.0f} MiB; every peak under 100 MiB, "
            f"{rows[0]['rss'] / MiB:.0f} MiB at {rows[0]['mb']:.0f} MB): {verdict(flat and small)}"
        )
    return rows


if __name__ == "__main__":
    main()
