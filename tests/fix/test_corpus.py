"""The preservation bar on real manifests (opt-in: PREMORTEM_CORPUS=/path/to/corpus/real).

For every file under the corpus: a file without an applicable fix keeps its bytes exactly; a file
with fixes changes only lines of the nodes the fixes edited (every removed or rewritten line of the
diff lies inside an edited node), and still parses (the pipeline itself checks that every document
parses to the intended objects); a second run changes nothing, and a scan of the fixed files no
longer reports what was fixed. Also runnable as a script for the numbers:
``python tests/fix/test_corpus.py /work/shared/corpus/real``.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from premortem.engine import scan
from premortem.fix.pipeline import FixRun, fixable_rules, read_source, run_fix
from premortem.fix.registry import FixContext
from premortem.fix.yamltext import Delete, Rename, compose_all, find
from premortem.load.document import LoadResult
from premortem.load.reader import iter_manifest_files, load_text
from premortem.rules import all_rules

CORPUS = os.environ.get("PREMORTEM_CORPUS")


def allowed_lines(text: str, edits: list) -> set[int]:
    """0-based lines of the original text that the edits may rewrite or remove."""
    roots = compose_all(text.removeprefix("\ufeff"))
    allowed: set[int] = set()
    for doc_index, op in edits:
        root = roots[doc_index]
        if isinstance(op, Delete | Rename):
            parent, depth = find(root, op.path[:-1])
            if depth == len(op.path) - 1 and isinstance(parent, MappingNode):
                for key, value in parent.value:
                    if key.value == op.path[-1]:
                        allowed |= _lines(key, value)
                        if parent.flow_style:
                            allowed |= _lines(parent)
            continue
        node, depth = find(root, op.path)
        if node is None:
            continue
        replaced = depth == len(op.path) and isinstance(node, ScalarNode)
        if replaced or getattr(node, "flow_style", False):
            allowed |= _lines(node)
    return allowed


def _lines(*nodes: Node) -> set[int]:
    out: set[int] = set()
    for node in nodes:
        end = node.end_mark.line
        if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.end_mark.column == 0:
            end -= 1
        out |= set(range(node.start_mark.line, end + 1))
    return out


def check_tree(root: str) -> dict[str, object]:
    """Fix every repository folder of the corpus at once (cross-file rules see their neighbours)."""
    stats: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    problems: list[str] = []
    groups = sorted(p for p in Path(root).iterdir() if p.is_dir()) or [Path(root)]
    for group in groups:
        sources: dict[str, str] = {}
        for path in iter_manifest_files(str(group)):
            try:
                sources[path] = read_source(path)
            except (OSError, UnicodeDecodeError):
                stats["unreadable"] += 1
        run: FixRun = run_fix(sources, fixable_rules(), FixContext(unsafe=True))
        fixed_sources = {f.name: f.fixed for f in run.files}
        if fixed_sources != sources:
            # a second run changes nothing, and the rules that were fixed no longer fire there
            second = run_fix(fixed_sources, fixable_rules(), FixContext(unsafe=True))
            for file_fix in second.files:
                if file_fix.changed:
                    problems.append(f"{file_fix.name}: a second fix run changed it again")
            loaded = LoadResult()
            for name, text in fixed_sources.items():
                loaded.extend(load_text(text.removeprefix("\ufeff"), name))
            # keyed by file too: copies of one object in sibling files (variants of an example) may differ
            after = {(f.rule, f.file, f.object, f.container) for f in scan(loaded, all_rules()).findings}
            for outcome in run.outcomes:
                f = outcome.finding
                if outcome.status == "fixed" and (f.rule, f.file, f.object, f.container) in after:
                    problems.append(f"{f.file}: {f.rule} still reported after its fix")
            stats["second_runs"] += 1
        for file_fix in run.files:
            stats["files"] += 1
            fixed = [o for o in file_fix.outcomes if o.status == "fixed"]
            for outcome in file_fix.outcomes:
                by_rule[f"{outcome.finding.rule} {outcome.status}"] += 1
            if file_fix.error:
                problems.append(f"{file_fix.name}: {file_fix.error}")
            if not fixed:
                if file_fix.fixed != file_fix.original:
                    problems.append(f"{file_fix.name}: changed without a fix")
                stats["identical"] += 1
                continue
            stats["changed"] += 1
            edits = [e for o in fixed for e in o.edits]
            allowed = allowed_lines(file_fix.original, edits)
            # appending after a last line without a newline must give that line one: not a rewrite
            before = _terminated(file_fix.original).splitlines(keepends=True)
            after = _terminated(file_fix.fixed).splitlines(keepends=True)
            matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
            for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
                if tag in ("replace", "delete"):
                    stats["lines_rewritten"] += i2 - i1
                    outside = [i + 1 for i in range(i1, i2) if i not in allowed]
                    if outside:
                        problems.append(f"{file_fix.name}: lines {outside} changed outside the fixed nodes")
                if tag in ("replace", "insert"):
                    stats["lines_added"] += _j2 - _j1
    return {"stats": dict(stats), "by_rule": dict(sorted(by_rule.items())), "problems": problems}


def _terminated(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


@pytest.mark.skipif(not CORPUS, reason="set PREMORTEM_CORPUS to a corpus of real manifests")
def test_corpus_preservation():
    assert CORPUS is not None
    result = check_tree(CORPUS)
    assert result["problems"] == []


if __name__ == "__main__":
    report = check_tree(sys.argv[1] if len(sys.argv) > 1 else (CORPUS or "."))
    for key, value in report.items():
        if key == "problems":
            print(f"problems: {len(value)}")  # type: ignore[arg-type]
            for line in value:  # type: ignore[attr-defined]
                print("  ", line)
        else:
            print(key, value)
