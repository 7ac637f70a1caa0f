"""Report formats read by CI (GitHub workflow commands, JUnit XML, SARIF, Markdown) carry values an
attacker wrote: object names, label values, duplicate keys' values. They must stay data."""

from __future__ import annotations

import re

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
