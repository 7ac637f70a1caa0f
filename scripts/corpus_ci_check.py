#!/usr/bin/env python3
"""Living with premortem in CI, checked on a real corpus (issue 11's "done when"):

1. a .premortem.yaml (written to a temporary directory, outside the corpus) that excludes the test
   fixture folders and carries a few reasoned suppressions; the text report's summary is measured;
2. --write-baseline, then an edited copy of the corpus (comment lines inserted above findings,
   files renamed within the tree, one new risky manifest) scanned with --baseline: only the new
   manifest's findings may be reported.

    python scripts/corpus_ci_check.py ../shared/corpus/real

Prints the numbers; exits 1 if the baseline lets an old finding through or misses a new one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = """\
# premortem settings for a corpus of public repositories.
exclude:
  # policy-engine test fixtures: deliberately broken objects that never reach a cluster
  - "**/.kyverno-test/"
  - "**/.chainsaw-test/"
  # test data of tools (kops integration tests, dashboard test resources, Go testdata, e2e suites)
  - "**/tests/integration/"
  - "**/test-resources/"
  - "**/testdata/"
  - "**/e2e/"
ignores:
  - rules: [resources, images]
    paths: ["**/kubernetes__examples/_archived/**"]
    reason: archived upstream examples kept for reference, never deployed as they are
  - rules: [IMG003]
    paths: ["**/GoogleCloudPlatform__kubernetes-engine-samples/**"]
    reason: tutorial manifests whose image placeholders the reader fills in (envsubst) before applying
  - rules: [RES001, PRB005]
    paths: ["**/kubernetes-sigs__kind/site/**"]
    reason: documentation snippets for a throwaway local kind cluster
"""
NEW_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: added-by-the-edit, namespace: ci-check}
spec:
  replicas: 2
  selector: {matchLabels: {app: added-by-the-edit}}
  template:
    metadata: {labels: {app: added-by-the-edit}}
    spec:
      containers:
        - name: app
          image: registry.example.com/added:latest
"""


def premortem(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def main(corpus: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="premortem-ci-check-"))
    try:
        config = work / "config" / ".premortem.yaml"
        config.parent.mkdir()
        config.write_text(CONFIG)
        tree = work / "corpus"
        shutil.copytree(corpus, tree, symlinks=True)

        raw = premortem("scan", str(tree), "--no-config", "-q", "--no-color")
        text = premortem("scan", str(tree), "--config", str(config), "--no-color")
        summary = text.stdout[text.stdout.rindex("Summary") :]
        print(f"without config: {raw.stdout.strip().splitlines()[1]}")
        print(
            f"with config:    {text.stdout.count(chr(10))} report lines, summary {summary.count(chr(10))} lines"
        )
        print(summary)
        explained = [line for line in text.stdout.splitlines() if line.startswith("  why: ")]
        print(f"explanations printed: {len(explained)}, distinct: {len(set(explained))}")

        baseline = work / "baseline.json"
        written = premortem(
            "scan", str(tree), "--config", str(config), "--write-baseline", str(baseline), "-q"
        )
        print(written.stderr.strip())
        before = json.loads(premortem("scan", str(tree), "--config", str(config), "--format", "json").stdout)

        edited_files, renamed = _edit(tree, before["findings"])
        (tree / "added-by-the-edit.yaml").write_text(NEW_MANIFEST)
        after = premortem(
            "scan", str(tree), "--config", str(config), "--baseline", str(baseline), "--format", "json"
        )
        data = json.loads(after.stdout)
        files = {Path(f["file"]).name for f in data["findings"]}
        print(
            f"edited copy: {edited_files} files with lines inserted above findings, {renamed} files renamed; "
            f"--baseline reports {len(data['findings'])} findings in {sorted(files)}, "
            f"{data['summary']['baselined']} baselined, exit {after.returncode}"
        )
        ok = files == {"added-by-the-edit.yaml"}
        print("OK: only the edit's new findings are reported" if ok else "FAILED: see the findings above")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _edit(tree: Path, findings: list[dict[str, object]]) -> tuple[int, int]:
    """Insert comment lines above findings in some files, rename others within the tree."""
    rng = random.Random(11)
    by_file: dict[str, list[int]] = {}
    for f in findings:
        if isinstance(f.get("file"), str) and isinstance(f.get("line"), int):
            by_file.setdefault(str(f["file"]), []).append(int(f["line"]))  # type: ignore[call-overload]
    files = sorted(by_file)
    rng.shuffle(files)
    edited = files[: len(files) // 3]
    renamed = files[len(files) // 3 : len(files) // 2]
    for name in edited:
        lines = Path(name).read_text(encoding="utf-8").splitlines(keepends=True)
        for line in sorted(set(by_file[name]), reverse=True):
            at = max(0, line - 1)
            indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())] if at < len(lines) else ""
            lines.insert(at, f"{indent}# inserted above a finding by the CI check\n")
        lines.insert(0, "# a new header comment\n")
        Path(name).write_text("".join(lines), encoding="utf-8")
    for name in renamed:
        path = Path(name)
        target = path.parent / "moved" / f"renamed-{path.name}"
        target.parent.mkdir(exist_ok=True)
        os.replace(path, target)
    return len(edited), len(renamed)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: corpus_ci_check.py CORPUS_DIR")
    sys.exit(main(Path(sys.argv[1]).resolve()))
