"""Findings on test fixtures and test runs are facts, not alarms.

Objects a policy engine's tests evaluate (model/delivery.py ``FIXTURE``: kyverno CLI and chainsaw
tests, Rego rule libraries' test inputs, the files of a test suite under ``test/bats/``,
``test/e2e/``, ``tests/integration/``) are written to be good or bad on purpose and are never
deployed as written: nothing of what a rule foresees happens to them. Helm test hooks
(``TEST_RUN``) exist only while ``helm test`` runs them once; nothing serves from them. Their
findings stay (the semantics are still exact, and a fixture meant to be "good" that is not is worth
knowing) but at ``info``, with the reason in front of the message and the severity the finding
would have on a deployed object in ``severity_as_deployed``, so `--fail-on` never trips on them.
"""

from __future__ import annotations

from premortem.findings import Finding, Severity
from premortem.load.document import Document
from premortem.model.delivery import delivery_of


def as_delivered(finding: Finding, doc: Document) -> Finding:
    why = delivery_of(doc).facts_only
    if why:
        finding.extra.setdefault("severity_as_deployed", finding.severity.label)
        finding.severity = Severity.INFO
        finding.message = f"[{why}] {finding.message}"
    return finding
