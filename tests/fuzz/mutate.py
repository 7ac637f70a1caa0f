"""A mutation fuzzer over a corpus of manifests and logs, for scan, fix, capacity and diagnose.

    python -m tests.fuzz.mutate [--corpus DIR ...] [--seconds N] [--inputs N] [--targets scan,fix]
                                [--seed N] [--out DIR] [--jobs N]

Seeds: every *.yaml, *.yml, *.json, *.log and *.txt under the corpus paths (default: the repository's
examples/ and test fixtures). Each input is a seed mutated 1-4 times by byte flips, line deletions,
duplications and splices from another seed, and insertions of hostile tokens (aliases, merge keys,
explicit keys, YAML 1.1 booleans, NEL, deep nesting, long lines, control characters, NUL, invalid
UTF-8 decoded with replacement). Crashes and hangs are written to --out with their traceback; the
summary line gives the counts. Exit status 1 if any crash or hang was found.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

from .harness import CONFIG_SEEDS, TARGETS, run_one

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = [ROOT / "examples", ROOT / "tests"]
SUFFIXES = (".yaml", ".yml", ".json", ".log", ".txt")
MAX_SEED_BYTES = 16 * 1024  # longer seeds are cut at a line end: mutations stay cheap to judge

TOKENS = [
    "&a ",
    "*a",
    "<<: *a\n",
    "? key\n: value\n",
    "on: true\n",
    "yes",
    "\x85",
    "\u2028",
    "\x00",
    "\x1b[2J",
    "[" * 300,
    "{" * 300,
    "- " * 200,
    "\t",
    "'",
    '"',
    "!!binary ",
    "!!python/object ",
    ".inf",
    ".nan",
    "-.inf",
    "1e400",
    "99999999999999999999999",
    "0x1F",
    "0o17",
    "1_000",
    "~",
    "null",
    "=",
    "%",
    "{{ .Values.x }}",
    "---\n",
    "...\n",
    "kind: List\nitems:\n",
    "items: 5\n",
    "values: 5",
    "matchExpressions: [{key: a, operator: In, values: 5}]",
    "selector: {matchLabels: 5}",
    "priorityClassName: {a: 1}",
    "resources: []",
    "containers: {}",
    "replicas: -1",
    "replicas: '3'",
    "memory: 1Ei",
    "cpu: 1e9",
    "image: ''",
    "command: 5",
    "x" * 5000,
    "é",
    "apiVersion: v1\nkind: Pod\n",
    "metadata: {name: [1]}",
    "namespace: {}",
    "a: &x [*x]\n",
    '"\\ud800"',
    "1e10000000",
    "9" * 5000,
    "::set-output name=x::y",
    "<script>x</script>",
    "]]>",
    "`",
    "|",
]


def seeds(paths: list[Path]) -> list[str]:
    out = []
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.suffix in SUFFIXES)
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > MAX_SEED_BYTES:
                data = data[: data.rfind(b"\n", 0, MAX_SEED_BYTES) + 1 or MAX_SEED_BYTES]
            out.append(data.decode("utf-8", "replace"))
    return (out or ["apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"]) + CONFIG_SEEDS


def mutate(rng: random.Random, text: str, pool: list[str]) -> str:
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(8)
        lines = text.split("\n")
        if choice == 0 and text:  # flip a character
            i = rng.randrange(len(text))
            text = text[:i] + chr(rng.randrange(0, 0x250)) + text[i + 1 :]
        elif choice == 1 and len(lines) > 1:  # delete lines
            i = rng.randrange(len(lines))
            del lines[i : i + rng.randint(1, 3)]
            text = "\n".join(lines)
        elif choice == 2 and lines:  # duplicate a line (duplicate keys)
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif choice == 3:  # splice lines of another seed
            other = rng.choice(pool).split("\n")
            j = rng.randrange(len(other))
            i = rng.randrange(len(lines) + 1)
            lines[i:i] = other[j : j + rng.randint(1, 20)]
            text = "\n".join(lines)
        elif choice == 4:  # insert a hostile token
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif choice == 5 and lines:  # change indentation
            i = rng.randrange(len(lines))
            lines[i] = " " * rng.randint(0, 12) + lines[i].lstrip()
            text = "\n".join(lines)
        elif choice == 6:  # alias-heavy tail
            text += "\nx: &a [1,2,3]\ny: [*a, *a, *a]\n"
        else:  # swap two lines
            if len(lines) > 1:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                text = "\n".join(lines)
    return text


def fuzz(
    pool: list[str],
    targets: list[str],
    inputs: int,
    seconds: float,
    seed: int,
    out: Path | None,
    progress: int = 0,
) -> dict[str, int]:
    rng = random.Random(seed)
    counts = {"inputs": 0, "crash": 0, "hang": 0, "slow": 0, "internal": 0}
    for target in targets:  # imports and first-use caches are not the input's time
        run_one(target, pool[0], limit=60)
    start = time.monotonic()
    n = 0
    while (not inputs or n < inputs) and (not seconds or time.monotonic() - start < seconds):
        target = targets[n % len(targets)]
        text = mutate(rng, rng.choice(pool), pool)
        outcome = run_one(target, text)
        n += 1
        counts["inputs"] += 1
        if progress and n % progress == 0:
            print(f"fuzz[{seed}]: {n} inputs, {counts}", flush=True)
        if outcome.status != "ok":
            counts[outcome.status] += 1
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                name = f"{outcome.status}-{target}-{seed}-{n}"
                (out / f"{name}.input").write_text(text, encoding="utf-8", errors="replace")
                (out / f"{name}.txt").write_text(outcome.detail)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", action="append", type=Path, default=[])
    parser.add_argument("--seconds", type=float, default=0)
    parser.add_argument("--inputs", type=int, default=0)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--progress", type=int, default=0, help="print counts every N inputs")
    args = parser.parse_args(argv)
    if not args.seconds and not args.inputs:
        args.seconds = 60
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    pool = seeds(args.corpus or DEFAULT_CORPUS)
    jobs = max(1, args.jobs)
    per_job = -(-args.inputs // jobs) if args.inputs else 0
    if jobs == 1:
        totals = fuzz(pool, targets, per_job, args.seconds, args.seed, args.out, args.progress)
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool_of_workers:
            parts = pool_of_workers.starmap(
                fuzz,
                [
                    (pool, targets, per_job, args.seconds, args.seed + j, args.out, args.progress)
                    for j in range(jobs)
                ],
            )
        totals = {k: sum(p[k] for p in parts) for k in parts[0]}
    print(
        f"fuzz: {totals['inputs']} inputs over {','.join(targets)} from {len(pool)} seeds: "
        f"{totals['crash']} crashes, {totals['hang']} hangs, {totals['slow']} slow (over 2 s of CPU, under 10 s), "
        f"{totals['internal']} internal-error findings",
        flush=True,
    )
    return 1 if totals["crash"] or totals["hang"] else 0


if __name__ == "__main__":
    os.environ.pop("PREMORTEM_STRICT", None)
    sys.exit(main())
