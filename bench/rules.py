"""Time every rule on synthetic inputs of growing size: finds the rules whose time grows faster than
the number of objects (a rule at 2x the objects taking 4x the time compares pairs somewhere).

    python bench/rules.py [--shape dense] [--sizes 2000,4000,8000] [--nodes 300x16cpu/64Gi]

Loads each size once, then runs each rule alone (in the order the engine does; the time of its own
checks, not of the engine's bookkeeping) and prints a table: seconds per size and the growth
exponent between the two largest sizes (1.0 is linear). The machine's other work makes single
numbers noisy: look at exponents well above 1, and run it again.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time

from synth import SHAPES, generate

from premortem.load.reader import load_paths
from premortem.model.index import ObjectIndex
from premortem.rules import all_rules
from premortem.rules.registry import ClusterContext, Rule

HERE = os.path.dirname(os.path.abspath(__file__))


def _run(rule: Rule, documents: list, context: ClusterContext) -> None:
    if rule.scope == "cluster":
        list(rule.check(context))
    elif rule.scope == "object":
        for doc in documents:
            if rule.kinds is None or doc.kind in rule.kinds:
                list(rule.check(doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="dense")
    parser.add_argument("--sizes", default="2000,4000,8000")
    parser.add_argument("--nodes", default=None, help="a --nodes spec, for the capacity rules")
    parser.add_argument("--top", type=int, default=15, help="rows to print (slowest at the largest size)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rules = all_rules()
    options = {"nodes": args.nodes} if args.nodes else {}
    times: dict[str, list[float]] = {rule.id: [] for rule in rules}
    gc.disable()
    for size in sizes:
        folder = os.path.join(HERE, "out", f"rules-{args.shape}-{size}")
        generate(folder, size, shape=args.shape)
        documents = load_paths([folder]).documents
        context = ClusterContext(ObjectIndex.build(documents), options)
        for rule in rules:
            start = time.perf_counter()
            _run(rule, documents, context)
            times[rule.id].append(time.perf_counter() - start)
        print(f"{size} objects: {sum(t[-1] for t in times.values()):.2f} s in rules", file=sys.stderr)
    rows = sorted(times.items(), key=lambda item: -item[1][-1])[: args.top]
    print("| rule | " + " | ".join(f"{s} objects" for s in sizes) + " | growth exponent |")
    print("| --- |" + " --- |" * (len(sizes) + 1))
    for rule_id, seconds in rows:
        growth = math.log(seconds[-1] / seconds[-2]) / math.log(sizes[-1] / sizes[-2]) if seconds[-2] else 0
        print(f"| {rule_id} | " + " | ".join(f"{s:.3f} s" for s in seconds) + f" | {growth:.2f} |")


if __name__ == "__main__":
    main()
