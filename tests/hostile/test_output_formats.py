"""Report formats read by CI (GitHub workflow commands, JUnit XML, SARIF, Markdown) carry values an
attacker wrote: object names, label values, duplicate keys' values. They must stay data."""

from __future__ import annotations

import re

import pytest

from .helpers import no_traceback, run

# A value with a newline reaches a message through INP004 (a key written twice shows both values).
NEWLINE_VALUE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data:
  a: |
    x
    ::set-output name=pwned::1
  a: y
"""


def _runner_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text.rstrip("\n"))  # how the Actions runner splits stdout


def test_github_summary_line_cannot_start_a_workflow_command():
    out = run("scan", "-", "--format", "github", stdin=NEWLINE_VALUE)
    no_traceback(out)
    for line in _runner_lines(out.stdout):
        assert line.startswith(("::error ", "::warning ", "::notice ", "premortem: ")), line
    assert "set-output" in out.stdout  # still said, as data


HOSTILE_NAMES = """\
apiVersion: v1
kind: Pod
metadata:
  name: "x]]><injected/><![CDATA[ & </testcase> [click](https://evil.example) @org/team"
  namespace: "ns|a`b`<img src=x onerror=alert(1)>"
spec:
  containers: [{name: c, image: nginx}]
"""


def test_markdown_keeps_names_as_text():
    out = run("scan", "-", "--format", "markdown", "--no-config", stdin=HOSTILE_NAMES)
    no_traceback(out)
    table = [line for line in out.stdout.splitlines() if line.startswith("| ")][2:]
    assert table
    for row in table:
        assert "<img" not in row and "</testcase>" not in row  # HTML would render (a pixel that calls home)
        assert "[click](" not in row and " @org" not in row  # no link, no mention that notifies a team
        assert row.count(" | ") == 4  # the '|' in the namespace did not add a column
    assert "&lt;img src=x onerror=alert(1)&gt;" in out.stdout


def test_junit_is_well_formed_whatever_the_name_holds():
    import xml.etree.ElementTree as ET

    manifest = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a\\ufffe\\uffff\\ud800\\u0085]]>b"}, "spec": {"containers": [{"name": "c\\ufffe", "image": "nginx"}]}}'  # fmt: skip
    out = run("scan", "-", "--format", "junit", "--no-config", stdin=manifest)
    no_traceback(out)
    ET.fromstring(out.stdout.encode("utf-8"))  # U+FFFE made it invalid XML


def test_duplicate_keys_in_a_secret_or_named_as_secrets_show_no_values():
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  tls.key: hunter2\n  tls.key: hunter4\n"
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  DB_PASSWORD: hunter2\n  DB_PASSWORD: hunter4\n  mode: a\n  mode: b\n"  # fmt: skip
    for text in (secret, config):
        out = run("scan", "-", "--format", "json", "--no-config", stdin=text)
        no_traceback(out)
        assert "hunter" not in out.stdout
        assert "written twice in one mapping" in out.stdout  # the message itself is not masked
    assert "(a) and line 8 (b)" in run("scan", "-", "--no-config", stdin=config).stdout  # others still shown


def test_a_suppression_reason_is_cleaned_in_every_format():
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        '    ignore.premortem.dev/RES001: "ok \\e]0;pwned\\a \\u202e password=hunter2"\n'
        "spec:\n  containers: [{name: c, image: nginx}]\n"
    )
    for fmt in ("text", "json", "sarif", "junit"):
        out = run("scan", "-", "--format", fmt, "--show-suppressed", "--no-config", stdin=pod)
        no_traceback(out)
        assert "hunter2" not in out.stdout and "\x1b" not in out.stdout and "\u202e" not in out.stdout, fmt


def test_duplicate_keys_in_a_listed_secret_show_no_values(monkeypatch):
    from premortem.load import split
    from premortem.load.reader import load_text

    items = [
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {mode: a, mode: b}}",
        "- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  data:\n    k: aHVudGVyMg==\n    k: aHVudGVyNA==",
    ]
    text = "apiVersion: v1\nkind: List\nitems:\n" + "\n".join(items * 3) + "\n"
    for batched in (False, True):  # read whole, or a batch of items at a time: the same answer
        monkeypatch.setattr(split, "SPLIT_MIN_CHARS", 0 if batched else 1 << 62)
        monkeypatch.setattr(split, "ITEMS_PER_BATCH", 2)
        messages = [p.message for p in load_text(text, "l.yaml").problems if p.rule == "INP004"]
        assert len(messages) == 6
        assert not any("aHVudGVy" in m for m in messages)
        assert sum("(a) and line" in m for m in messages) == 3


@pytest.mark.parametrize("fmt", ["github", "markdown", "junit"])
def test_file_names_are_escaped_where_ci_renders_them(tmp_path, fmt):
    name = "a\n::error file=x::injected\r\x1b[2J\u202e.yaml"
    (tmp_path / name).write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n")  # fmt: skip
    out = run("scan", ".", "--format", fmt, "--no-config", cwd=tmp_path)
    no_traceback(out)
    assert "\x1b" not in out.stdout and "\u202e" not in out.stdout  # the Actions log renders ANSI
    if fmt == "github":
        for line in _runner_lines(out.stdout):
            assert line.startswith(("::error ", "::warning ", "::notice ", "premortem: ")), line
