"""A key written twice in JSON input is INP004, as in YAML: at the line of the last occurrence (the
one that counts), with both lines and values, in files, on stdin, in every item of a List and at
any depth; and the cheap screen in front of the exact walk never hides one (load/jsondupes.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import manifest_objects, run_cli, scan_yaml
from premortem.load import jsondupes
from premortem.load.jsonpos import parse_json, repeated_keys
from premortem.load.reader import load_text

FAILING = """\
{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "shop"},
  "spec": {
    "replicas": 3,
    "selector": {"matchLabels": {"app": "api"}},
    "replicas": 1,
    "template": {
      "metadata": {"labels": {"app": "api"}},
      "spec": {"containers": [{"name": "api", "image": "nginx:1.25.3"}]}
    }
  }
}
"""

PASSING = FAILING.replace('    "replicas": 1,\n', "")

LIST = """\
{
    "apiVersion": "v1",
    "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "b"},
            "data": {
                "mode": "fast",
                "mode": "safe"
            }
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
"""


def duplicates(text: str, name: str = "in.json") -> list[Any]:
    return [p for p in load_text(text, name).problems if p.rule == "INP004"]


def test_failing_fixture_is_one_finding_at_the_second_occurrence():
    result = scan_yaml(FAILING, "deploy.json")
    found = [f for f in result.findings if f.rule == "INP004"]
    assert [(f.line, f.severity.label) for f in found] == [(8, "high")]
    message = found[0].message
    assert "'replicas', written twice in one JSON object, at line 6 (3) and line 8 (1)" in message
    assert "duplicate field" in message and "last value" in message
    assert found[0].object is not None and found[0].object.name == "api"
    # judged with the last value, as kubectl's decoder keeps it
    assert result.documents[0].obj["spec"]["replicas"] == 1
    assert "Keep one 'replicas' key" in found[0].fix


def test_passing_fixture_has_no_finding():
    assert duplicates(PASSING) == []
    assert "INP004" not in [f.rule for f in scan_yaml(PASSING, "deploy.json").findings]


def test_list_item_names_its_object_and_line():
    found = duplicates(LIST)
    assert [(p.line, p.doc.ref.name if p.doc else None) for p in found] == [(11, "b")]
    assert "at line 10 (fast) and line 11 (safe)" in found[0].message
    assert load_text(LIST, "l.json").documents[1].obj["data"] == {"mode": "safe"}


def test_the_lists_own_keys_and_top_level_arrays():
    header = LIST.replace('"kind": "List",', '"kind": "List",\n    "kind": "List",')
    assert [(p.line, p.doc is None) for p in duplicates(header)] == [(11, False), (16, True)]
    array = '[\n  {"kind": "ConfigMap", "metadata": {"name": "x"}},\n  {"kind": "Pod", "kind": "Pod"}\n]\n'
    found = duplicates(array)
    assert [(p.line, p.doc.kind if p.doc else None) for p in found] == [(3, "Pod")]


def test_nested_deep_and_spaced_keys():
    nested = '{"kind": "Pod", "spec": {"containers": [{"env": [{"name": "A",\n "name" : "B"}]}]}}'
    assert [p.line for p in duplicates(nested)] == [2]
    deep = '{"kind": "ConfigMap", "data": ' + '{"a": ' * 600 + '{"x": 1, "x": 2}' + "}" * 600 + "}"
    assert [p.line for p in duplicates(deep)] == [1]
    assert duplicates('{"kind": "ConfigMap", "data" : {"a" : 1, "b"\n:\n2}}') == []


def test_quotes_and_backslashes_in_strings_are_not_keys():
    annotation = json.dumps({"apiVersion": "v1", "kind": "Pod", "spec": {"replicas": 1}})
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "annotations": {"last-applied": annotation, "odd\\": 'x\\":\\\\":'}},
        },
        indent=2,
    )
    assert '\\":' in text and duplicates(text) == []
    assert [p.line for p in duplicates('{"kind": "Pod", "k\\\\": 1,\n "k\\\\": 2}')] == [2]


def test_secret_values_are_masked():
    text = '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},\n "data": {"a": "c2VjcmV0", "a": "b3RoZXI="}}'
    (found,) = duplicates(text)
    assert "c2VjcmV0" not in found.message and "b3RoZXI=" not in found.message and "***" in found.message
    (named,) = duplicates('{"kind": "ConfigMap", "data": {"db_password": "hunter2", "db_password": "x"}}')
    assert "hunter2" not in named.message


def test_stdin_json_gets_the_finding():
    proc = run_cli("scan", "-", "--format", "json", "--fail-on", "never", stdin=LIST)
    assert proc.returncode == 0, proc.stderr
    found = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "INP004"]
    assert [(f["file"], f["line"]) for f in found] == [("<stdin>", 11)]


def test_fix_leaves_a_json_file_with_a_repeated_key_alone(tmp_path):
    path = tmp_path / "deploy.json"
    path.write_text(FAILING)
    proc = run_cli("fix", "--write", str(path))
    assert "Traceback" not in proc.stderr and "INP004" in proc.stderr
    assert path.read_text() == FAILING


# --- laws --------------------------------------------------------------------------------------

keys = st.text('ab:"\\ -.', min_size=1, max_size=5)
scalars = st.one_of(st.integers(-1000, 1000), st.text('ab c:"\\\n{}', max_size=8), st.booleans(), st.none())
objects = manifest_objects(keys, scalars)
separators = st.sampled_from([(", ", ": "), (",", ":"), (",", " : "), (",\n", "\n:")])


@settings(max_examples=150, deadline=None)
@given(items=st.lists(objects, max_size=4), indent=st.sampled_from([None, 0, 2]), seps=separators)
def test_no_duplicates_no_finding_and_the_same_objects_law(items, indent, seps):
    value = {"apiVersion": "v1", "kind": "List", "items": items}
    text = json.dumps(value, indent=indent, separators=seps, ensure_ascii=False)
    result = load_text(text, "law.json")
    assert [p for p in result.problems if p.rule == "INP004"] == []
    assert [d.obj for d in result.documents] == json.loads(text)["items"]


def _dicts(value: Any) -> list[dict[str, Any]]:
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _dump_repeating(value: Any, target: dict[str, Any], sep: str, indent: int | None) -> tuple[str, int]:
    """JSON of ``value`` where ``target`` writes its first key twice (a shadowed value first), and the
    offset of the second occurrence."""
    out: list[str] = []
    mark = [-1]

    def newline(level: int) -> str:
        return "" if indent is None else "\n" + " " * (indent * level)

    def dump(item: Any, level: int) -> None:
        if isinstance(item, dict) and item:
            pairs = list(item.items())
            if item is target:
                pairs.insert(0, (pairs[0][0], "shadowed"))
            out.append("{")
            for i, (key, sub) in enumerate(pairs):
                out.append(("," if i else "") + newline(level + 1))
                if item is target and i == 1:
                    mark[0] = sum(map(len, out))
                out.append(json.dumps(key, ensure_ascii=False) + sep)
                dump(sub, level + 1)
            out.append(newline(level) + "}")
        elif isinstance(item, list) and item:
            out.append("[")
            for i, sub in enumerate(item):
                out.append(("," if i else "") + newline(level + 1))
                dump(sub, level + 1)
            out.append(newline(level) + "]")
        else:
            out.append(json.dumps(item, ensure_ascii=False))

    dump(value, 0)
    return "".join(out), mark[0]


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(objects, min_size=1, max_size=4),
    pick=st.integers(0, 10**6),
    sep=st.sampled_from([": ", ":", " : ", "\n:"]),
    indent=st.sampled_from([None, 2]),
)
def test_one_repeated_key_one_finding_at_its_line_law(items, pick, sep, indent):
    value = {"apiVersion": "v1", "kind": "List", "items": items}
    candidates = _dicts(value)
    target = candidates[pick % len(candidates)]
    text, mark = _dump_repeating(value, target, sep, indent)
    result = load_text(text, "law.json")
    found = [p for p in result.problems if p.rule == "INP004"]
    assert [p.line for p in found] == [1 + text.count("\n", 0, mark)]
    assert [d.obj for d in result.documents] == items  # the last value wins, as in json.loads


@settings(max_examples=200, deadline=None)
@given(
    value=objects, repeat=st.booleans(), pick=st.integers(0, 10**6), sep=st.sampled_from([": ", " : ", ":"])
)
def test_the_screen_never_hides_a_repeat_law(value, repeat, pick, sep):
    candidates = _dicts(value)
    if repeat:
        text, _ = _dump_repeating(value, candidates[pick % len(candidates)], sep, None)
    else:
        text = json.dumps(value, separators=(",", sep), ensure_ascii=False)
    document = parse_json(text)
    exact = repeated_keys(text, 0)
    assert bool(exact) == repeat
    assert len(jsondupes.duplicate_key_problems(text, document)) == len(exact)
