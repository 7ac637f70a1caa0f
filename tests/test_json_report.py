"""The JSON report is json.dumps(indent=2) for ordinary reports, and big lists of objects have one
object per line; it always reads back to the same payload."""

from __future__ import annotations

import io
import json

import pytest
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


def _big_payload(findings: int, objects: int, suppressed: int = 0) -> dict[str, object]:
    return {
        "findings": [
            {"rule": "R", "n": i, "m": "é\u2028 \ud800" if i % 7 == 0 else "x" * (i % 13)}
            for i in range(findings)
        ],
        "objects": [{"kind": "Deployment", "name": f"app-{i}"} for i in range(objects)],
        "summary": {"findings": findings},
        "suppressed": [{"rule": "S", "n": i} for i in range(suppressed)],
    }


def _written_with_jobs(payload: object, jobs: int) -> str:
    from premortem.settings import Settings, use_settings

    with use_settings(Settings(jobs=jobs)):
        return _written(payload)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 150))
def test_a_report_encoded_in_two_processes_is_the_same_text(findings, objects, suppressed):
    """Big lists are cut in two by size: the second part is encoded by a forked child into a
    temporary file and copied in its place; the text is byte for byte what one process writes."""
    payload = _big_payload(findings, objects, suppressed)
    alone = _written_with_jobs(payload, 1)
    with pytest.MonkeyPatch.context() as patch:  # every big list is split, whatever its size
        patch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
        assert _written_with_jobs(payload, 2) == alone
    assert json.loads(alone.replace("\\ud800", "")) == json.loads(json.dumps(payload).replace("\\ud800", ""))


def test_a_child_that_fails_leaves_its_share_to_the_parent(monkeypatch_env, monkeypatch):
    payload = _big_payload(300, 300)
    alone = _written_with_jobs(payload, 1)

    def fail(pieces, file):
        raise RuntimeError("the child's disk is full")

    monkeypatch.setattr(json_report, "_write_pieces", fail)
    assert _written_with_jobs(payload, 2) == alone


def test_one_process_below_the_threshold_or_with_one_job(monkeypatch):
    calls = []
    monkeypatch.setattr(json_report._Encoded, "start", classmethod(lambda cls, *a: calls.append(a)))
    payload = _big_payload(300, 300)
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "1000")
    _written_with_jobs(payload, 2)
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    _written_with_jobs(payload, 1)
    assert calls == []
    _written_with_jobs(payload, 2)
    assert len(calls) == 1


@pytest.fixture
def monkeypatch_env():
    """Every big list is split, whatever its size (the threshold is for real scans)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
        yield


@pytest.mark.parametrize("count", [0, 3, json_report.ONE_PER_LINE_ABOVE + 50])
def test_a_mapped_list_is_written_as_the_list_of_its_dicts(count):
    """Findings become dicts where they are written (``Mapped``): the text is that of the list."""
    items = list(range(count))
    mapped = json_report.Mapped(items, lambda n: {"n": n, "m": "é" * (n % 3)})
    as_list = [{"n": n, "m": "é" * (n % 3)} for n in items]
    for jobs in (1, 2):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
            assert _written_with_jobs({"findings": mapped, "objects": []}, jobs) == _written_with_jobs(
                {"findings": as_list, "objects": []}, 1
            )
