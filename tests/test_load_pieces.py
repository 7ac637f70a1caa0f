"""A big multi-document file parsed in pieces by several processes gives what reading it whole
gives: the same objects, numbers, lines and problems; a file that cutting could change is read whole."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import manifest_objects, object_paths
from premortem.engine import scan
from premortem.load import parallel, split
from premortem.load.document import LoadResult
from premortem.load.parallel import load_files_parallel
from premortem.load.reader import load_paths
from premortem.rules import all_rules

STREAM = """\
# leading comment, no marker
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:latest
        args:
        - |
          a block scalar
          --- not at the start of a line
---
--- # an empty document above
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: svc}
  spec: {selector: {app: web}}
...
---
just: a values file
---
apiVersion: v1
kind: Pod
metadata: &meta {name: alias}
spec:
  containers: [{name: a, image: busybox}]
"""


def _load(path: Path, monkeypatch: pytest.MonkeyPatch, pieces: bool) -> LoadResult:
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "PIECES_MIN_CHARS", 0 if pieces else 1 << 62)
        return load_files_parallel([str(path), str(path.with_name("other.yaml"))], 2, min_bytes=0)


def _same(path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadResult:
    path.with_name("other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n")
    cut, whole = _load(path, monkeypatch, True), _load(path, monkeypatch, False)
    assert [(d.obj, d.file, d.line, d.doc_index, d.item_index) for d in cut.documents] == [
        (d.obj, d.file, d.line, d.doc_index, d.item_index) for d in whole.documents
    ]
    assert [(p.file, p.line, p.rule, p.message) for p in cut.problems] == [
        (p.file, p.line, p.rule, p.message) for p in whole.problems
    ]
    assert (cut.skipped, cut.files_read, cut.files_failed) == (
        whole.skipped,
        whole.files_read,
        whole.files_failed,
    )
    for got, want in zip(cut.documents, whole.documents, strict=True):
        paths = object_paths(got.obj)
        assert [got.line_of(p) for p in paths] == [want.line_of(p) for p in paths]
    return cut


def test_pieces_start_at_document_markers_and_know_their_lines():
    text = STREAM * 3
    pieces = split.document_pieces(text, 8, min_chars=0)
    assert pieces is not None and len(pieces) > 2
    assert pieces[0].start == 0 and pieces[-1].end == len(text)
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start
        assert text[after.start :].startswith("---")
        assert after.line == text.count("\n", 0, after.start)
    assert [p.number for p in pieces] == list(range(len(pieces)))


def test_what_is_not_cut():
    assert split.document_pieces(STREAM, 4) is None  # small
    assert split.document_pieces("%YAML 1.1\n" + STREAM * 4, 4, min_chars=0) is None  # a directive
    assert split.document_pieces("a: 1\nb: 2\n" * 50, 4, min_chars=0) is None  # no marker


def test_a_stream_in_pieces_equals_the_stream_whole(tmp_path, monkeypatch):
    path = tmp_path / "dump.yaml"
    path.write_text(STREAM * 5)
    cut = _same(path, monkeypatch)
    assert {d.doc_index for d in cut.documents} >= {0, 1, 3, 11}
    assert any(d.node.source.line_offset > 0 for d in cut.documents)  # it was cut


def test_a_piece_that_does_not_parse_reads_the_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "dump.yaml"
    path.write_text(STREAM * 2 + "---\nkind: [unclosed\n---\n" + STREAM * 2)
    cut = _same(path, monkeypatch)
    assert any(p.rule == "INP001" for p in cut.problems)


def test_a_scan_in_pieces_reports_the_same(tmp_path, monkeypatch):
    path = tmp_path / "dump.yaml"
    path.write_text(STREAM * 4)
    path.with_name("other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n")
    rules = all_rules()
    cut = scan(_load(path, monkeypatch, True), rules).to_json()
    whole = scan(load_paths([str(path), str(path.with_name("other.yaml"))]), rules).to_json()
    assert cut["findings"]
    assert json.dumps(cut) == json.dumps(whole)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(
        manifest_objects(st.sampled_from(["a", "b", "name"]), st.integers() | st.text(max_size=5)),
        min_size=2,
        max_size=12,
    ),
    flow=st.booleans(),
)
def test_pieces_law(tmp_path, monkeypatch, docs, flow):
    path = tmp_path / "law.yaml"
    path.write_text(yaml.safe_dump_all(docs, default_flow_style=flow, explicit_start=True))
    _same(path, monkeypatch)
