"""The render bar on real charts and kustomize trees (opt-in: PREMORTEM_RENDER_CORPUS=/path/to/corpus,
the folder holding charts/ and kustomize/). Also runnable as a script for the numbers:
``python tests/render/test_corpus.py /work/shared/corpus``.

Charts: every chart renders with its default values and with each of its ``ci/`` values files, with
no INP001/INP002 and no crash; every finding's file is a template of the chart (or a values file) that
exists, its line is inside that file, and a values location names an existing file and line.
Kustomize: every repository tree is scanned as a whole; each top-level kustomization it builds gives
the same findings (rule, object, path, severity) as a scan of its ``kubectl kustomize`` output, no
patch or component file is reported as a broken object, and findings are located at existing files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from premortem.engine import scan
from premortem.load.reader import load_text
from premortem.render.discover import plan_inputs
from premortem.render.stage import LoadedInputs, render_units, scan_apart
from premortem.render.tools import find_kustomize
from premortem.rules import all_rules
from premortem.settings import RenderSettings

CORPUS = os.environ.get("PREMORTEM_RENDER_CORPUS")


def _lines(path: str) -> int:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return -1


def _check_location(finding: Any, problems: list[str], label: str) -> None:
    if finding.file is None or "(helm template)" in finding.file or "(kustomize build)" in finding.file:
        problems.append(f"{label}: {finding.rule} not located in a file: {finding.file}")
        return
    length = _lines(finding.file)
    if length < 0:
        problems.append(f"{label}: {finding.rule} at a file that does not exist: {finding.file}")
    elif not 1 <= (finding.line or 0) <= max(length, 1):
        problems.append(f"{label}: {finding.rule} at line {finding.line} of {finding.file} ({length} lines)")
    origin = finding.extra.get("rendered_from") or {}
    values = origin.get("values_file")
    if values and values != "--set":
        vlen = _lines(values)
        if vlen < 0 or not 1 <= (origin.get("values_line") or 0) <= max(vlen, 1):
            problems.append(f"{label}: {finding.rule} values at {values}:{origin.get('values_line')}")


def check_charts(root: str, stats: Counter[str], by_rule: Counter[str], problems: list[str]) -> None:
    rules = all_rules()
    for chart in sorted(p for p in Path(root).iterdir() if (p / "Chart.yaml").is_file()):
        ci = sorted(p for p in (chart / "ci").glob("*.y*ml")) if (chart / "ci").is_dir() else []
        for values in [None, *ci]:
            label = f"{chart.name}" + (f" -f ci/{values.name}" if values else "")
            settings = RenderSettings(values=(str(values),) if values else ())
            outcome = render_units(plan_inputs([str(chart)]).units, settings)
            if outcome.tool_errors:
                problems.append(f"{label}: {outcome.tool_errors}")
                continue
            result = scan_apart(LoadedInputs(outcome.units[0].__class__(), outcome.units), rules, None)
            stats["chart renders"] += 1
            stats["chart objects"] += result.summary["objects"]
            stats["chart findings"] += len(result.findings)
            for finding in result.findings:
                by_rule[finding.rule] += 1
                if finding.rule == "INP001" and "missing in charts/ directory" in finding.message:
                    # A dependency the corpus does not hold: Helm's message and command, nothing to fix here.
                    stats["chart renders refused for a missing dependency"] += 1
                    continue
                if finding.rule in ("INP001", "INP002"):
                    problems.append(
                        f"{label}: {finding.rule} {finding.file}:{finding.line} {finding.message[:200]}"
                    )
                    continue
                origin = finding.extra.get("rendered_from") or {}
                stats["chart findings with a values line"] += bool(origin.get("values_line"))
                stats["chart findings on a guessed line"] += bool(origin.get("line_is_guess"))
                _check_location(finding, problems, label)


def _key(finding: Any) -> tuple[Any, ...]:
    return (finding.rule, finding.object, finding.path, finding.severity.label)


def check_kustomize(root: str, stats: Counter[str], problems: list[str]) -> None:
    rules = all_rules()
    tool = find_kustomize(None)
    for tree in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        plan = plan_inputs([str(tree)])
        units = [u for u in plan.units if u.tool == "kustomize"]
        outcome = render_units(units, RenderSettings())
        stats["kustomize trees"] += 1
        for unit, loaded in zip(units, outcome.units, strict=True):
            label = unit.path
            result = scan_apart(LoadedInputs(loaded.__class__(), [loaded]), rules, None)
            stats["kustomizations built"] += 1
            stats["kustomize objects"] += result.summary["objects"]
            stats["kustomize findings"] += len(result.findings)
            built = subprocess.run(
                [tool.path, *tool.prefix, unit.path], capture_output=True, text=True, check=False
            )
            if built.returncode != 0:
                # kustomize itself refuses it (remote bases, ...): premortem must say so, not crash.
                if not any(f.rule == "INP001" for f in result.findings):
                    problems.append(f"{label}: kustomize fails but no INP001 was reported")
                stats["kustomizations kustomize refuses"] += 1
                continue
            piped = scan(load_text(built.stdout, "<stdin>"), rules)
            ours, theirs = Counter(map(_key, result.findings)), Counter(map(_key, piped.findings))
            if ours != theirs:
                only = list((ours - theirs).elements()) + list((theirs - ours).elements())
                problems.append(f"{label}: findings differ from the kubectl kustomize output: {only[:4]}")
            for finding in result.findings:
                if finding.rule in ("INP001", "INP002"):
                    problems.append(f"{label}: {finding.rule} {finding.file}:{finding.line}")
                else:
                    stats["kustomize findings at a patch"] += bool(
                        (finding.extra.get("rendered_from") or {}).get("patch_file")
                    )
                    _check_location(finding, problems, label)
        # The plain files the tree holds besides its kustomizations must not include patches.
        stats["kustomize files consumed (not read raw)"] += len(plan.consumed)


def check_corpus(root: str) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    problems: list[str] = []
    if os.path.isdir(os.path.join(root, "charts")):
        check_charts(os.path.join(root, "charts"), stats, by_rule, problems)
    if os.path.isdir(os.path.join(root, "kustomize")):
        check_kustomize(os.path.join(root, "kustomize"), stats, problems)
    return {
        "stats": dict(stats),
        "chart findings by rule": dict(sorted(by_rule.items())),
        "problems": problems,
    }


@pytest.mark.skipif(
    not CORPUS, reason="set PREMORTEM_RENDER_CORPUS to the folder holding charts/ and kustomize/"
)
def test_render_corpus():
    assert CORPUS is not None
    assert check_corpus(CORPUS)["problems"] == []


if __name__ == "__main__":
    report = check_corpus(sys.argv[1] if len(sys.argv) > 1 else (CORPUS or "."))
    for key, value in report.items():
        if key == "problems":
            print(f"problems: {len(value)}")
            for line in value:
                print("  ", line)
        else:
            print(key, value)
