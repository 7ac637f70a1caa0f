"""The fast paths of the loader give the same answers as the slow ones.

- Line look-ups compose one document from its own span of the text; they must agree with composing
  the whole stream, for every path of every document (examples and a hypothesis law).
- Parallel loading (``-j``) gives the same documents, findings and JSON as loading in-process.
- Documents survive pickling (how workers send them) and still find their lines.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import object_paths
from premortem.engine import scan
from premortem.load.document import Document, NodeRef, NodeSource
from premortem.load.parallel import _batches, load_files_parallel
from premortem.load.reader import expand_paths, load_paths, load_text
from premortem.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent

TRICKY = """\
%YAML 1.1
---
# a comment before the object
apiVersion: v1
kind: ConfigMap
metadata:
  name: "caf\u00e9 \U0001f600"
data:
  a: |
    literal
    text
  b: >-
    folded
---   # a comment on the separator
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: indented, labels: {x: y}}
  data:
    k: [1, 2, {deep: value}]
...
--- {apiVersion: v1, kind: Secret, metadata: {name: flow},
     stringData: {a: b}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: item0
    data: {x: "1"}
  - kind: ConfigMap
    apiVersion: v1
    metadata: {name: item1}
---
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: seq0}
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: seq1
    labels:
      a: b
---
"""


def _whole_stream_lines(doc: Document) -> list[int]:
    """line_of for every path, with nodes from composing the whole stream (the reference)."""
    ref = doc.node
    assert isinstance(ref, NodeRef)
    # A source of its own (nothing cached) and no spans: the whole stream is composed.
    source = NodeSource(ref.source.name, ref.source.text, ref.source.line_offset)
    reference = Document(doc.obj, doc.file, doc.line, NodeRef(source, ref.index, ref.item, ref.in_items))
    return [reference.line_of(p) for p in object_paths(doc.obj)]


def _assert_spans_agree(text: str) -> int:
    result = load_text(text, "t.yaml")
    for doc in result.documents:
        assert [doc.line_of(p) for p in object_paths(doc.obj)] == _whole_stream_lines(doc)
    return len(result.documents)


def test_span_lines_match_whole_stream_on_tricky_yaml():
    assert _assert_spans_agree(TRICKY) == 7
    assert _assert_spans_agree(TRICKY.replace("\n", "\r\n")) == 7


def test_tricky_lines_are_the_lines_of_the_text():
    docs = {d.ref.name: d for d in load_text(TRICKY, "t.yaml").documents}
    assert docs["caf\u00e9 \U0001f600"].line_of(("data", "b")) == 12
    assert docs["indented"].line == 15
    assert docs["indented"].line_of(("data", "k", 2, "deep")) == 19
    assert docs["flow"].line_of(("stringData", "a")) == 22
    assert docs["item1"].line_of(("metadata", "name")) == 34
    assert docs["seq1"].line_of(("metadata", "labels", "a")) == 44


def test_list_items_compose_their_own_span_not_the_whole_list():
    items = "".join(f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c{i}\n" for i in range(40))
    docs = load_text("apiVersion: v1\nkind: List\nitems:\n" + items, "l.yaml").documents
    assert [d.line_of(("metadata", "name")) for d in docs] == [7 + 4 * i for i in range(40)]
    source = docs[0].node.source
    assert source._nodes is None and (0, None) not in source._located


def test_item_lines_with_aliases_across_items_fall_back_to_the_document():
    text = (
        "kind: List\nitems:\n- kind: ConfigMap\n  metadata: &m\n    name: a\n"
        "- kind: ConfigMap\n  data:\n    k: v\n  metadata: *m\n"
    )
    assert _assert_spans_agree(text) == 2
    docs = load_text(text, "a.yaml").documents
    assert docs[1].line_of(("data", "k")) == 8


def test_lines_after_a_syntax_error_use_the_chunk():
    text = "a: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\ndata:\n  k: v\n"
    doc = load_text(text, "x.yaml").documents[0]
    assert doc.line_of(("data", "k")) == 8
    assert [doc.line_of(p) for p in object_paths(doc.obj)] == _whole_stream_lines(doc)


scalars = st.one_of(
    st.integers(-5, 10**6),
    st.text("abc xyz:-#{}[]'\"\n\u00e9", max_size=12),
    st.booleans(),
    st.none(),
    st.sampled_from(["yes", "on", "0755", "1e3", "2020-01-01", "~", "="]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text("abkz-", min_size=1, max_size=5), children, max_size=4),
    ),
    max_leaves=25,
)
manifest = st.fixed_dictionaries(
    {
        "apiVersion": st.just("v1"),
        "kind": st.sampled_from(["ConfigMap", "Pod"]),
        "metadata": st.just({"name": "x"}),
    },
    optional={"data": values, "spec": values},
)


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(manifest, min_size=1, max_size=4),
    flow=st.sampled_from([False, None, True]),
    indent=st.integers(2, 6),
    explicit_start=st.booleans(),
)
def test_span_lines_match_whole_stream_law(docs, flow, indent, explicit_start):
    text = yaml.safe_dump_all(
        docs, default_flow_style=flow, indent=indent, explicit_start=explicit_start, width=40
    )
    assert _assert_spans_agree(text) == len(docs)


def test_documents_pickle_and_find_their_lines_from_the_file(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    docs = load_paths([str(path)]).documents
    copies = pickle.loads(pickle.dumps(docs))
    assert [(d.obj, d.file, d.line) for d in copies] == [(d.obj, d.file, d.line) for d in docs]
    assert [d.line_of(("metadata", "name")) for d in copies] == [
        d.line_of(("metadata", "name")) for d in docs
    ]


def test_file_changed_after_loading_keeps_the_lines_read(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
    doc = load_paths([str(path)]).documents[0]
    path.write_text("{{ broken")
    assert doc.line_of(("data", "k")) == 6  # from the table of lines recorded while reading
    # A document read with an alias keeps no table: its lines come from the file, which changed.
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\ndata: *m\n")
    aliased = load_paths([str(path)]).documents[0]
    assert isinstance(aliased.node, NodeRef) and aliased.node.table is None
    path.write_text("{{ broken")
    assert aliased.line_of(("data", "name")) == 1
    path.unlink()
    assert load_paths([str(path)]).documents == []


def _corpus(tmp_path: Path) -> list[str]:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tricky.yaml").write_text(TRICKY, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(
        "a: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\n"
    )
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "tabs.json").write_text(
        '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "t"}\n}\n'
    )
    for index in range(12):
        (tmp_path / f"app{index}.yaml").write_text(
            f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{index}, namespace: ns}}
spec:
  replicas: {index % 3}
  selector: {{matchLabels: {{app: a{index}}}}}
  template:
    metadata: {{labels: {{app: a{index}}}}}
    spec:
      containers:
        - name: c
          image: nginx:latest
          resources: {{requests: {{cpu: 100m}}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: pdb{index}, namespace: ns}}
spec:
  maxUnavailable: 0
  selector: {{matchLabels: {{app: a{index}}}}}
"""
        )
    files, _ = expand_paths([str(tmp_path)])
    return files


def test_parallel_load_gives_the_same_scan(tmp_path):
    files = _corpus(tmp_path)
    serial = load_paths(files)
    parallel = load_files_parallel(files, 2, min_bytes=0)
    assert [(d.obj, d.file, d.line, d.doc_index, d.item_index) for d in parallel.documents] == [
        (d.obj, d.file, d.line, d.doc_index, d.item_index) for d in serial.documents
    ]
    assert (parallel.files_read, parallel.files_failed, parallel.skipped) == (
        serial.files_read,
        serial.files_failed,
        serial.skipped,
    )
    rules = all_rules()
    one = scan(serial, rules).to_json()
    two = scan(parallel, rules).to_json()
    assert one["findings"], "the corpus is meant to raise findings"
    assert json.dumps(one) == json.dumps(two)


def test_cli_json_is_identical_with_and_without_jobs(tmp_path):
    _corpus(tmp_path)

    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "premortem", "scan", str(tmp_path), "--format", "json", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
            env={**os.environ, "PREMORTEM_PARALLEL_MIN_BYTES": "0"},
        )
        assert out.returncode in (0, 1), out.stderr
        return out.stdout

    serial = run("-j", "1")
    assert json.loads(serial)["findings"]
    assert run("-j", "2") == serial
    assert run() == serial


def test_batches_cover_every_file_once_and_balance_bytes():
    sizes = [100, 1, 50, 50, 30, 20, 0, 7]
    batches = _batches(list(range(len(sizes))), sizes, 3)
    assert sorted(i for b in batches for i in b) == list(range(len(sizes)))
    totals = [sum(sizes[i] for i in b) for b in batches]
    assert totals == sorted(totals, reverse=True)
    assert max(totals) == 100


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 50), max_size=40), count=st.integers(0, 8))
def test_batches_law_each_file_goes_to_the_lightest_batch(sizes, count):
    """The largest file first, each to the lightest batch (the lowest numbered on ties), the
    heaviest batches first: what _batches computes with a heap, written the plain way."""
    bins: list[tuple[int, list[int]]] = [(0, []) for _ in range(max(1, count))]
    for index in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = min(range(len(bins)), key=lambda b: bins[b][0])
        total, members = bins[lightest]
        members.append(index)
        bins[lightest] = (total + sizes[index], members)
    expected = [members for _, members in sorted(bins, key=lambda b: -b[0]) if members]
    assert _batches(list(range(len(sizes))), sizes, count) == expected


def _strict_equal(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (True == 1 and 1 == 1.0 do not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            _strict_equal(x, y) and _strict_equal(a[x], b[y]) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)


def _load_both(text: str) -> tuple[list[Any], list[Any]]:
    """(fast loader, PyYAML's plain safe loader plus the '=' constructor) on the same text."""
    from premortem.load.reader import _construct_value, _Loader, construct_fast

    class Reference(yaml.CSafeLoader):
        pass

    Reference.add_constructor("tag:yaml.org,2002:value", _construct_value)

    def run(loader: Any, fast: bool) -> list[Any]:
        out: list[Any] = []
        try:
            while loader.check_node():
                node = loader.get_node()
                # The scan tells construct_fast whether the text has an anchor ("&"): law for both.
                built = construct_fast(loader, node, "&" in text) if fast else None
                out.append(built if fast else loader.construct_document(node))
        except yaml.YAMLError as exc:
            out.append(("error", str(exc)))
        finally:
            loader.dispose()
        return out

    return run(_Loader(text), True), run(Reference(text), False)


ODD_YAML = """\
a: yes
b: on
c: 0755
d: 0x1F
e: 1:20
f: 1e3
g: .inf
h: .nan
i: 2020-01-01
j: ~
k: ''
l: "yes"
m: !!str 10
n: =
o: [=, '!=']
p: 1_000
q: +12
r: -.5
base: &base {x: 1, y: [1, 2]}
s: *base
t: {<<: *base, z: 3}
u: !!binary aGVsbG8=
v: !!set {a, b}
w: !!omap [a: 1, b: 2]
2: int key
true: bool key
null: null key
1.5: float key
"""


def test_fast_constructor_matches_pyyaml_on_odd_yaml():
    fast, reference = _load_both(ODD_YAML)
    assert _strict_equal(fast, reference)
    assert fast[0]["s"] is fast[0]["base"]  # aliases keep their identity
    for broken in ("? [a]\n: 1\n", "a: !custom 1\n", "{{ .Values.x }}: 1\n"):
        fast, reference = _load_both(broken)
        assert _strict_equal(fast, reference), broken
    fast, reference = _load_both("x: &a [*a]\n")  # a recursive alias: PyYAML's constructor builds it
    assert repr(fast) == repr(reference) == "[{'x': [[...]]}]"


yaml_scalars = st.one_of(
    st.text("0123456789_.:+-eExXoObB abcyesnoNOtrueflsTFLS~=<!&*", max_size=8),
    st.sampled_from(["yes", "No", "ON", "off", "y", "n", "0o17", "0b101", "-0x1f", "1.", ".5", "1:2:3.5"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(yaml_scalars, yaml_scalars), min_size=1, max_size=6))
def test_fast_constructor_and_resolver_memo_match_pyyaml_law(pairs):
    # Plain scalars as keys and values, twice (the second time answers come from the memos).
    text = "".join(f"k{i}: {value}\n{key}: [{value}]\n" for i, (key, value) in enumerate(pairs))
    for _ in range(2):
        fast, reference = _load_both(text)
        assert _strict_equal(fast, reference), text


def test_fast_constructor_keeps_no_node_alive_without_the_gc():
    # The scan runs with the cyclic GC off: a reference cycle through the node tree would keep every
    # document's nodes for the whole run (it once cost 3.6 GB on 100k objects).
    import gc
    import weakref

    from premortem.load.reader import _Loader, construct_fast

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        loader = _Loader("a: {b: [1, x, {c: d}]}\nbase: &b {k: v}\nref: *b\n")
        node = loader.get_single_node()
        loader.dispose()
        probe = weakref.ref(node.value[0][1])
        data = construct_fast(loader, node)
        del node, loader
        assert probe() is None
        assert data == {"a": {"b": [1, "x", {"c": "d"}]}, "base": {"k": "v"}, "ref": {"k": "v"}}
    finally:
        if was_enabled:
            gc.enable()
