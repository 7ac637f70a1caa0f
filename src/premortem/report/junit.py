"""JUnit XML (``--format junit``) for Jenkins, GitLab and every CI test-report view.

One test suite per rule, one test case per rule and object: a failure when any of its findings is at
or above --fail-on (the message names file:line), a passing case with the findings as system-out
below it, skipped for a suppressed finding (the reason as message). Valid against the schema
Jenkins' JUnit/xUnit plugins read (tests/schemas/junit-10.xsd).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import TextIO

from premortem.findings import Finding
from premortem.report.model import Report, headline, printable, value_note

# XML 1.0 cannot carry most control characters, surrogates, U+FFFE and U+FFFF, even escaped.
_XML_BAD = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF], "?")


def write_junit(report: Report, out: TextIO) -> None:
    titles = {r.id: f"{r.id} {r.name}" for r in report.rules}
    cases: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    skipped: dict[str, dict[str, list[tuple[Finding, str]]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        cases[f.rule][_subject(f)].append(f)
    for f, s in report.suppressed:
        skipped[f.rule][_subject(f)].append((f, s.reason))

    root = ET.Element("testsuites", name="premortem")
    totals = {"tests": 0, "failures": 0}
    for rule in sorted(set(cases) | set(skipped)):
        suite = ET.SubElement(root, "testsuite", name=_x(titles.get(rule, rule)))
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for subject, findings in sorted(cases[rule].items()):
            case = ET.SubElement(suite, "testcase", name=_x(subject), classname=_x(f"premortem.{rule}"))
            counts["tests"] += 1
            body = "\n".join(_detail(f) for f in findings)
            if any(report.fails(f) for f in findings):
                counts["failures"] += 1
                first = findings[0]
                failure = ET.SubElement(
                    case,
                    "failure",
                    type=first.severity.label,
                    message=_x(f"{_where(first)}: {headline(first.message)}"),
                )
                failure.text = _x(body)
            else:
                ET.SubElement(case, "system-out").text = _x(body)
        for subject, pairs in sorted(skipped[rule].items()):
            case = ET.SubElement(suite, "testcase", name=_x(subject), classname=_x(f"premortem.{rule}"))
            counts["tests"] += 1
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=_x(f"suppressed: {pairs[0][1] or '(no reason given)'}"))
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        totals["tests"] += counts["tests"]
        totals["failures"] += counts["failures"]
    if totals["tests"] == 0:
        suite = ET.SubElement(root, "testsuite", name="premortem", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="no findings", classname="premortem")
        totals["tests"] = 1
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


def _subject(f: Finding) -> str:
    subject = f.object.display() if f.object else printable(f.file or "<input>")
    return subject + (f" container {f.container}" if f.container else "")


def _where(f: Finding) -> str:
    return printable(f"{f.file}:{f.line}" if f.line else f.file or "<input>")


def _detail(f: Finding) -> str:
    note = f"\n{value_note(f)}" if value_note(f) else ""
    return f"{_where(f)}: {f.rule} {f.severity.label}: {f.message}{note}\nfix: {f.fix}"


def _x(text: str) -> str:
    return text.translate(_XML_BAD)
