"""The loader notes which files may hold a suppression (LoadResult.may_suppress) while it holds their
text; triage then reads only those files for comments and looks only at their documents for
annotations. Every suppression still applies: in files, multi-document files, Lists, JSON (an
annotation key spelled with escapes too), stdin, a chart, a file cut into pieces, -j 1 or split."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from premortem.engine import scan
from premortem.findings import Finding, ObjectRef, Severity
from premortem.load import parallel
from premortem.load.document import SUPPRESSION_WORD, may_hold_suppression
from premortem.load.parallel import load_files_parallel
from premortem.load.reader import load_paths, load_text
from premortem.rules import all_rules
from premortem.settings import Settings
from premortem.triage import triage
from premortem.triage.sources import MARK, source_texts
from premortem.triage.suppressions import ANNOTATION_PREFIX, from_annotations
from render.helpers import needs_helm

DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
KEY = ANNOTATION_PREFIX + "RES001"


def pod(name: str, annotation_key: str | None = None, indent: str = "") -> str:
    """A BestEffort Pod (RES001), its RES001 annotated away when ``annotation_key`` is given (as
    written: quoted or escaped as the test wants)."""
    annotations = f"  annotations:\n    {annotation_key}: batch pod, eviction only delays it\n"
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n"
        f"  name: {name}\n  namespace: shop\n"
        f"{annotations if annotation_key else ''}"
        "spec:\n  containers:\n    - name: app\n"
        f"      image: registry.example.com/app:1.0.0@{DIGEST}\n"
    )
    return "".join(indent + line if line else line for line in text.splitlines(keepends=True))


def json_pod(name: str, annotation_key: str | None = None) -> str:
    """The same Pod as JSON; ``annotation_key`` is written into the text as given (escapes kept)."""
    meta = f'"name": "{name}", "namespace": "shop"'
    if annotation_key:
        meta += f', "annotations": {{"{annotation_key}": "batch pod, eviction only delays it"}}'
    return (
        f'{{"apiVersion": "v1", "kind": "Pod", "metadata": {{{meta}}},\n'
        f' "spec": {{"containers": [{{"name": "app", "image": "registry.example.com/app:1.0.0@{DIGEST}"}}]}}}}\n'
    )


COMMENT = "# premortem: ignore RES001 -- one-off debug pod, deleted after use\n"

FILES = {
    "plain.yaml": pod("plain"),
    "annotated.yaml": pod("annotated", KEY),
    "multi.yaml": pod("multi-plain")
    + "---\n"
    + COMMENT
    + pod("multi-comment")
    + "---\n"
    + pod("multi-annotated", KEY),
    "list.yaml": "apiVersion: v1\nkind: List\nitems:\n"
    + pod("list-annotated", KEY, "  ").replace("  apiVersion", "- apiVersion", 1)
    + "  "
    + COMMENT
    + pod("list-comment", None, "  ").replace("  apiVersion", "- apiVersion", 1)
    + pod("list-plain", None, "  ").replace("  apiVersion", "- apiVersion", 1),
    "annotated.json": json_pod("json-annotated", KEY),
    # \u escapes: the file's text holds no "premortem", only the backslashes of the escapes
    "escaped.json": json_pod("json-escaped", KEY.replace("p", "\\u0070").replace("m", "\\u006d")),
    "escaped.yaml": pod("yaml-escaped", '"' + KEY.replace("m", "\\x6d") + '"'),
    "other.json": json_pod("json-plain"),
}
SUPPRESSED = {
    "annotated",
    "multi-comment",
    "multi-annotated",
    "list-annotated",
    "list-comment",
    "json-annotated",
    "json-escaped",
    "yaml-escaped",
}
REPORTED = {"plain", "multi-plain", "list-plain", "json-plain"}
MARKED = set(FILES) - {"plain.yaml", "other.json"}


def write(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def scan_out(root: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    out = run_cli("scan", *args, "--format", "json", "--select", "RES001", cwd=root, env=env, stdin=stdin)
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    return out.stdout


def res001(report: str) -> tuple[set[str], set[str]]:
    """(names of the objects whose RES001 is reported, ... whose RES001 is suppressed)."""
    data = json.loads(report)
    return (
        {f["object"]["name"] for f in data["findings"] if f["rule"] == "RES001"},
        {f["object"]["name"] for f in data["suppressed"] if f["rule"] == "RES001"},
    )


def test_the_word_is_in_both_markers_and_what_may_hold_one():
    assert SUPPRESSION_WORD in ANNOTATION_PREFIX and SUPPRESSION_WORD in MARK
    assert may_hold_suppression("  # premortem: ignore RES001")
    assert may_hold_suppression('{"a": "\\u0069"}')
    assert not may_hold_suppression("apiVersion: v1\nkind: Pod\n")


def test_the_loader_records_the_files_that_may_hold_a_suppression(tmp_path):
    root = write(tmp_path, FILES)
    loaded = load_paths([str(root)])
    assert loaded.may_suppress == {str(root / name) for name in MARKED}
    assert load_text(pod("x", KEY), "<stdin>").may_suppress == {"<stdin>"}
    assert load_text(pod("x"), "<stdin>").may_suppress == set()
    broken = load_text(COMMENT + "kind: [unclosed\n", "broken.yaml")  # a comment may still apply
    assert broken.problems and broken.may_suppress == {"broken.yaml"}
    assert pickle.loads(pickle.dumps(loaded)).may_suppress == loaded.may_suppress  # from the workers


@pytest.mark.parametrize("pieces", [True, False])
def test_the_parallel_loader_and_pieces_record_the_same(tmp_path, monkeypatch, pieces):
    root = write(tmp_path, {**FILES, "big.yaml": (pod("big-plain") + "---\n") * 30 + pod("big-ann", KEY)})
    paths = sorted(str(p) for p in root.iterdir() if p.is_file())
    monkeypatch.setattr(parallel, "PIECES_MIN_CHARS", 0 if pieces else 1 << 62)
    serial = load_paths(paths)
    loaded = load_files_parallel(paths, 2, min_bytes=0)
    assert loaded.may_suppress == serial.may_suppress == {str(root / n) for n in {*MARKED, "big.yaml"}}
    if pieces:
        assert any(d.node.source.line_offset > 0 for d in loaded.documents if d.file.endswith("big.yaml"))


def test_only_recorded_files_are_read_and_only_their_documents_looked_at(tmp_path):
    root = write(tmp_path, {"a.yaml": COMMENT + pod("a"), "b.yaml": pod("b", KEY)})
    a, b = str(root / "a.yaml"), str(root / "b.yaml")
    loaded = load_paths([a, b])
    assert source_texts([a, b], loaded.documents) == {a: (root / "a.yaml").read_text()}
    assert source_texts([a, b], loaded.documents, {b}) == {}  # a.yaml is not read
    assert [s.object.name for s in from_annotations(loaded.documents) if s.object] == ["b"]
    assert from_annotations(loaded.documents, {a}) == []


def _suppressed(loaded, files, may_suppress):
    rules = all_rules()
    result = scan(loaded, rules)
    texts = source_texts(files, result.documents, may_suppress)
    ran = {k for r in rules for k in (r.id, r.category)}
    triaged = triage(result.findings, Settings(), result.documents, texts, ran, may_suppress)
    return [(f.rule, f.object, s.kind, s.reason, s.line) for f, s in triaged.suppressed], triaged.findings


def test_with_the_record_triage_gives_what_it_gives_without(tmp_path):
    root = write(tmp_path, FILES)
    files = sorted(str(root / name) for name in FILES)
    loaded = load_paths(files)
    with_record = _suppressed(loaded, files, loaded.may_suppress)
    assert with_record == _suppressed(loaded, files, None)
    assert {ref.name for _, ref, *_ in with_record[0] if ref} == SUPPRESSED


# Each character of the annotation key: as written, or (JSON) \uXXXX or (YAML double-quoted) \xXX.
_ESCAPE = st.lists(st.booleans(), min_size=len(KEY), max_size=len(KEY))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(escaped=_ESCAPE, as_json=st.booleans())
def test_an_escaped_annotation_key_is_always_found(escaped, as_json):
    if as_json:
        key = "".join(f"\\u{ord(c):04x}" if e else c for c, e in zip(KEY, escaped, strict=True))
        text = json_pod("p", key)
    else:
        key = '"' + "".join(f"\\x{ord(c):02x}" if e else c for c, e in zip(KEY, escaped, strict=True)) + '"'
        text = pod("p", key)
    loaded = load_text(text, "p.json" if as_json else "p.yaml")
    found = from_annotations(loaded.documents, loaded.may_suppress)
    assert [s.rules for s in found] == [("RES001",)]
    assert found[0].file == loaded.documents[0].file


def test_cli_files_multidoc_list_json_escapes(tmp_path):
    root = write(tmp_path, FILES)
    reported, suppressed = res001(scan_out(root, "."))
    assert suppressed == SUPPRESSED
    assert reported == REPORTED


def test_cli_one_process_and_split_scans_say_the_same(tmp_path):
    root = write(tmp_path, FILES)
    one = scan_out(root, ".", "-j", "1")
    split = {"PREMORTEM_PARALLEL_MIN_BYTES": "0", "PREMORTEM_PARALLEL_MIN_OBJECTS": "0"}
    assert scan_out(root, ".", "-j", "2", env=split) == one
    assert res001(one)[1] == SUPPRESSED


def test_cli_stdin(tmp_path):
    stream = pod("in-plain") + "---\n" + COMMENT + pod("in-comment") + "---\n" + pod("in-annotated", KEY)
    reported, suppressed = res001(scan_out(tmp_path, "-", stdin=stream))
    assert (reported, suppressed) == ({"in-plain"}, {"in-comment", "in-annotated"})
    assert res001(scan_out(tmp_path, "-", stdin=pod("alone"))) == ({"alone"}, set())


@needs_helm
def test_cli_chart_annotation_from_values_and_comment_in_template(tmp_path):
    """The annotation is written in values.yaml, not in the template: the rendered stream (the name
    its documents carry) holds it, and that is what the loader records."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(f'podAnnotations:\n  {KEY}: "batch pod, eviction only delays it"\n')
    template = pod("{{ .Release.Name }}-annotated").replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    {{- toYaml .Values.podAnnotations | nindent 4 }}\n",
    )
    (chart / "templates" / "pods.yaml").write_text(
        template
        + "---\n"
        + COMMENT
        + pod("{{ .Release.Name }}-comment")
        + "---\n"
        + pod("{{ .Release.Name }}-plain")
    )
    assert SUPPRESSION_WORD not in template
    reported, suppressed = res001(scan_out(tmp_path, "chart"))
    assert len(reported) == 1 and next(iter(reported)).endswith("-plain")
    assert sorted(name.rsplit("-", 1)[1] for name in suppressed) == ["annotated", "comment"]


def big_deployment(name: str, annotations: str = "") -> str:
    """Four replicas of 20Gi: on 2 nodes of 32Gi they do not all fit (CAP001)."""
    meta = f"{{name: {name}, namespace: shop{', annotations: {' + annotations + '}' if annotations else ''}}}"
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {meta}\nspec:\n  replicas: 4\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n        - name: main\n"
        f"          image: registry.example.com/{name}:1.0.0@{DIGEST}\n"
        "          resources: {requests: {memory: 20Gi}, limits: {memory: 20Gi}}\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "# premortem: ignore CAP001 -- sized for the next node pool\n" + big_deployment("app"),
        big_deployment("app", '"ignore.premortem.dev/CAP001": sized for the next node pool'),
        big_deployment("app", '"ignore.pre\\u006dortem.dev/CAP001": sized for the next node pool'),
    ],
    ids=["comment", "annotation", "escaped"],
)
def test_cli_capacity(tmp_path, text):
    (tmp_path / "app.yaml").write_text(text)
    out = run_cli("capacity", ".", "--nodes", "2x8cpu/32Gi", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in out.stderr and out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert not [f for f in data["findings"] if f["rule"] == "CAP001"]
    assert [(f["rule"], f["object"]["name"]) for f in data["suppressed"]] == [("CAP001", "app")]
    (tmp_path / "app.yaml").write_text(big_deployment("app"))
    out = run_cli("capacity", ".", "--nodes", "2x8cpu/32Gi", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1 and "CAP001" in {f["rule"] for f in json.loads(out.stdout)["findings"]}


_FINDINGS = st.lists(
    st.builds(
        Finding,
        rule=st.sampled_from(["RES001", "RES003", "IMG002"]),
        category=st.just("resources"),
        severity=st.sampled_from(list(Severity)),
        message=st.sampled_from(["m", "n"]),
        fix=st.just("f"),
        object=st.none()
        | st.builds(ObjectRef, st.just("v1"), st.just("Pod"), st.none(), st.sampled_from("ab")),
        file=st.none() | st.sampled_from(["a.yaml", "b.yaml"]),
        line=st.none() | st.integers(0, 3),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(findings=_FINDINGS, presorted=st.booleans())
def test_triage_puts_findings_in_report_order_sorted_or_not(findings, presorted):
    """Triage gives report order whether the findings come sorted (as the scan's do) or not."""
    if presorted:
        findings.sort(key=Finding.sort_key)
    got = triage(findings, Settings()).findings
    assert [f.sort_key() for f in got] == sorted(f.sort_key() for f in findings)
