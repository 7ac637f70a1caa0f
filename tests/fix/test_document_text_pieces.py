"""DocumentText keeps a file in pieces (documents, List items) so an edit costs what it changes; the
text it produces is the text the whole-file editor produced (the reference below: every edit
re-parses one document taken from the whole text, then the whole file again)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from premortem.fix.yamltext import (
    Append,
    Delete,
    DocumentText,
    EditError,
    Op,
    Rename,
    Set,
    _Editor,
    _span,
    compose_all,
    detect_style,
)


class Reference:
    """DocumentText as it was: the whole text, re-composed after every edit."""

    def __init__(self, text: str, name: str = "") -> None:
        self.text = text
        self.roots = compose_all(text)
        self.style = detect_style(text, [r for r in self.roots if r is not None], name)

    def apply(self, doc_index: int, op: Op) -> None:
        root = self.roots[doc_index]
        start, end = _span(self.text, root)
        line_start = self.text.rfind("\n", 0, start) + 1
        pad = " " * (start - line_start)
        local = pad + self.text[start:end]
        edited = _Editor(local, self.style).apply(compose_all(local)[0], op)
        if not edited.startswith(pad):
            raise EditError("the edit touched the start of the document")
        self.text = self.text[:start] + edited[len(pad) :] + self.text[end:]
        self.roots = compose_all(self.text)


def _outcome(editor: Any, edits: list[tuple[int, Op]]) -> list[str]:
    out = []
    for doc_index, op in edits:
        try:
            editor.apply(doc_index, op)
            out.append("ok")
        except EditError as exc:
            out.append(f"error: {exc}")
    return [*out, editor.text]


def _same(text: str, edits: list[tuple[int, Op]], name: str = "f.yaml") -> str:
    got = _outcome(DocumentText(text, name), edits)
    want = _outcome(Reference(text, name), edits)
    assert got == want
    return got[-1]


LIST = """\
apiVersion: v1
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web   # the name
  spec:
    replicas: 1
    template:
      spec:
        containers:
        - name: web
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits:
              memory: 256Mi
# between items
-
  apiVersion: v1
  kind: Service
  metadata: {name: web}
- kind: ConfigMap
  data:
    a: "1"
kind: List
metadata:
  resourceVersion: ""
"""


def test_list_items_are_edited_alone_with_the_same_result():
    path = ("items", 0, "spec", "template", "spec", "containers", 0, "resources")
    edits: list[tuple[int, Op]] = [
        (0, Set((*path, "requests", "memory"), "256Mi")),
        (0, Set(("items", 0, "spec", "replicas"), 3)),
        (0, Set(("items", 1, "metadata", "labels"), {"app": "web"})),
        (0, Set(("items", 2, "data"), {"b": "2", "c": "3"})),
        (0, Delete(("items", 2, "kind"))),
        (0, Append((*path[:-1], "env"), {"name": "X", "value": "1"})),
        (0, Rename(("items", 0, "spec", "replicas"), "replicas", 4)),
        (0, Set(("items", 7, "x"), 1)),
    ]
    text = _same(LIST, edits)
    assert "memory: 256Mi}" in text and "replicas: 4" in text
    document = DocumentText(LIST)
    document.apply(0, edits[0][1])
    assert 0 not in document._no_items  # the List was cut at its items


def test_multi_document_files_and_crlf():
    text = "a: 1\n---\nb: {c: 2}\n---\n- x: 1\n  y: 2\n- x: 3\n...\n---\nz: [1]\n"
    edits: list[tuple[int, Op]] = [
        (1, Set(("b", "d"), 3)),
        (0, Set(("a",), 5)),
        (2, Set((1, "y"), 4)),
        (2, Delete((0, "x"))),
        (3, Append(("z",), 2)),
        (1, Delete(("b", "c"))),
    ]
    _same(text, edits)
    _same(text.replace("\n", "\r\n"), edits)


keys = st.sampled_from(["a", "b", "name", "items", "x-y"])
scalars = st.one_of(st.integers(0, 99), st.sampled_from(["v", "1Gi", "yes", "a b", "x: y", "#c"]))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3), st.dictionaries(keys, children, min_size=1, max_size=3)
    ),
    max_leaves=8,
)
items = st.dictionaries(keys, values, min_size=1, max_size=4)


@st.composite
def edits_for(draw: st.DrawFn, count: int, in_items: bool) -> list[tuple[int, Op]]:
    out: list[tuple[int, Op]] = []
    for _ in range(draw(st.integers(1, 6))):
        item = draw(st.integers(0, count))
        base = ("items", item) if in_items else (item,)
        key = draw(keys)
        kind = draw(st.sampled_from(["set", "map", "delete", "append", "nested"]))
        if kind == "set":
            op: Op = Set((*base, key), draw(scalars))
        elif kind == "map":
            op = Set((*base, key), {draw(keys): draw(scalars)})
        elif kind == "delete":
            op = Delete((*base, key))
        elif kind == "append":
            op = Append((*base, key), draw(scalars))
        else:
            op = Set((*base, key, draw(keys)), draw(scalars))
        out.append((0, op))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, min_size=1, max_size=4), st.booleans(), st.integers(2, 4), st.data())
def test_pieces_equal_the_whole_file_editor_law(objects, as_list, indent, data):
    value: Any = {"apiVersion": "v1", "items": objects, "kind": "List"} if as_list else objects
    text = yaml.safe_dump(value, indent=indent, default_flow_style=False, sort_keys=False)
    if data.draw(st.booleans()):
        text = "# head\n" + text.replace("\n- ", "\n# between\n- ", 1)
    edits = data.draw(edits_for(len(objects), as_list))
    _same(text, edits)
