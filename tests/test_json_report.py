"""The JSON report is json.dumps(indent=2) for ordinary reports, and big lists of objects have one
object per line; it always reads back to the same payload."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from premortem.report import json_report
from premortem.report.json_report import write_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6))
keys = st.one_of(st.text(max_size=4), st.integers(-5, 5), st.booleans())
payloads = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)


def _written(payload: object) -> str:
    out = io.StringIO()
    write_json(payload, out)  # type: ignore[arg-type]
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), payloads, max_size=4))
def test_ordinary_reports_are_json_dumps_indent_2(payload):
    assert _written(payload) == json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


def test_big_lists_have_one_object_per_line():
    findings = [{"rule": "R", "n": i, "extra": {"a": [1, 2]}, "m": "é\u2028"} for i in range(150)]
    payload = {"findings": findings, "summary": {"findings": 150, "by": {"x": 1}}, "objects": [1, 2]}
    text = _written(payload)
    assert json.loads(text) == payload
    lines = text.split("\n")[:-1]
    assert lines[:2] == ["{", '  "findings": [']
    assert lines[2] == '    {"rule": "R", "n": 0, "extra": {"a": [1, 2]}, "m": "é\u2028"},'
    assert len(lines) == 2 + 150 + 1 + 6 + 4 + 1  # summary: 6 lines, objects: 4
    assert len(findings) > json_report.ONE_PER_LINE_ABOVE
