"""The loader: multi-document files, Lists, JSON, line numbers, and recovery from syntax errors."""

from __future__ import annotations

import json

from conftest import rule_ids, scan_yaml
from premortem.load.reader import load_paths, load_text

TWO_DOCS = """\
# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
data:
  key: value
"""


def test_multi_document_lines():
    result = load_text(TWO_DOCS, "f.yaml")
    assert [d.ref.name for d in result.documents] == ["a", "b"]
    assert [d.line for d in result.documents] == [2, 7]
    assert result.documents[1].line_of(("data", "key")) == 12
    assert result.documents[1].line_of(("data", "missing")) == 11  # deepest existing node


def test_list_is_unpacked_with_item_lines():
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
  - apiVersion: apps/v1
    kind: DeploymentList
    metadata: {name: b}
"""
    result = load_text(text, "list.yaml")
    assert [(d.ref.name, d.line) for d in result.documents] == [("a", 4), ("b", 7)]


def test_typed_list_kind_is_unpacked():
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "PodList",
            "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}],
        }
    )
    result = load_text(text, "pods.json")
    assert [d.kind for d in result.documents] == ["Pod"]


def test_json_with_tabs_falls_back_to_json():
    text = '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "tabs"}\n}\n'
    result = load_text(text, "tabs.json")
    assert [d.ref.name for d in result.documents] == ["tabs"]
    assert not result.problems


def test_syntax_error_keeps_other_documents():
    text = (
        TWO_DOCS
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n data: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n"
    )
    result = load_text(text, "broken.yaml")
    assert [d.ref.name for d in result.documents] == ["a", "b", "d"]
    assert len(result.problems) == 1
    assert result.problems[0].rule == "INP001"
    assert result.problems[0].line in (17, 18)


def test_documents_after_error_keep_true_line_numbers():
    text = "a: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\ndata:\n  k: v\n"
    result = load_text(text, "x.yaml")
    doc = result.documents[0]
    assert doc.line == 3
    assert doc.line_of(("data", "k")) == 8


def test_crlf_lines():
    text = TWO_DOCS.replace("\n", "\r\n")
    result = load_text(text, "crlf.yaml")
    assert [d.line for d in result.documents] == [2, 7]


def test_non_kubernetes_documents_are_skipped_and_counted():
    text = "replicaCount: 3\nimage:\n  repository: nginx\n---\napiVersion: v2\nname: chart\nversion: 1.0.0\n"
    result = load_text(text, "values.yaml")
    assert not result.documents
    assert len(result.skipped) == 2


def test_lost_indentation_is_an_input_finding():
    text = "apiVersion: v1\nkind: Service\nmetadata:\nname: web\nspec:\n  ports: [{port: 80}]\n"
    result = scan_yaml(text)
    assert "INP002" in rule_ids(result)
    finding = next(f for f in result.findings if f.rule == "INP002")
    assert finding.severity.label == "high"
    assert finding.line == 3


def test_containers_at_wrong_level():
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
  containers:
    - name: web
      image: nginx:1.25
"""
    result = scan_yaml(text)
    finding = next(f for f in result.findings if f.rule == "INP002")
    assert finding.line == 8
    assert "spec.template.spec" in finding.message


def test_unreadable_and_binary_files(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    result = load_paths([str(tmp_path)])
    assert [d.ref.name for d in result.documents] == ["ok"]
    assert result.files_failed == 1
    assert result.problems[0].file.endswith("bad.yaml")


def test_directories_are_recursive_and_skip_vcs(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".kyverno-test").mkdir()
    for path in ("a/b/x.yml", ".git/y.yaml", ".kyverno-test/z.json", "notes.txt"):
        (tmp_path / path).write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}}')
    result = load_paths([str(tmp_path)])
    files = sorted(d.file.replace(str(tmp_path), "") for d in result.documents)
    assert files == ["/.kyverno-test/z.json", "/a/b/x.yml"]


def test_yaml_value_scalar_reads_as_string():
    # kube-prometheus CRDs list "=" in an enum; Go's YAML reads it as a string, so must we.
    result = load_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: eq}\ndata:\n  ops: [=, '!=']\n", "eq.yaml"
    )
    assert not result.problems
    assert result.documents[0].obj["data"]["ops"] == ["=", "!="]


def test_crd_config_with_top_level_name_is_not_flagged():
    text = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: dev\nnodes:\n- role: control-plane\n"
    assert "INP002" not in rule_ids(scan_yaml(text))


def test_duplicate_key_lines_in_a_chunk_recovered_after_a_syntax_error() -> None:
    # The chunk after the broken document is parsed on its own: its lines are the file's lines.
    text = "a: [\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n"
    text += "    image: nginx:1.0\n    image: nginx:1.1\n"
    loaded = load_text(text, "dup.yaml")
    duplicates = [p for p in loaded.problems if p.rule == "INP004"]
    assert [p.line for p in duplicates] == [10]
    assert "line 9 (nginx:1.0) and line 10 (nginx:1.1)" in duplicates[0].message


def test_documents_pickle_as_their_fields_and_keep_their_lines():
    """The parallel loader pickles every document a worker reads: a plain document travels as its
    constructor's arguments, a template unit (a subclass) as usual; both keep objects and lines."""
    import pickle

    from premortem.model.podspec import pod_units

    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1\n"
    )
    doc = load_text(text, "rollout.yaml").documents[0]
    unit = pod_units(doc)[0]
    path = ("spec", "template", "spec", "containers", 0, "image")
    for original in (doc, unit):
        copy = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(copy) is type(original)
        assert (copy.obj, copy.file, copy.line, copy.doc_index, copy.item_index) == (
            original.obj,
            original.file,
            original.line,
            original.doc_index,
            original.item_index,
        )
        assert copy.ref == original.ref
        assert copy.line_of(path) == original.line_of(path) == 9
    assert pickle.loads(pickle.dumps(unit)).template == unit.template


def test_a_listed_file_gone_before_it_is_read_is_reported(tmp_path):
    """The scan lists its files first and reads them after (load_files): one removed in between is an
    unreadable file with a finding, not a file that silently never existed."""
    from premortem.load.reader import load_files

    kept = tmp_path / "kept.yaml"
    kept.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
    result = load_files([str(kept), str(tmp_path / "gone.yaml")])
    assert (result.files_read, result.files_failed) == (1, 1)
    assert [(p.file, p.rule) for p in result.problems] == [(str(tmp_path / "gone.yaml"), "INP001")]
