"""Findings on policy-engine test fixtures are facts, not alarms.

Objects a policy engine's tests evaluate (model/delivery.py ``FIXTURE``: kyverno CLI and chainsaw
tests, Rego rule libraries' test inputs) are written to be good or bad on purpose and are never
deployed as written: nothing of what a rule foresees happens to them. Their findings stay (the
semantics are still exact, and a fixture meant to be "good" that is not is worth knowing) but at
``info``, with the reason in front of the message, so `--fail-on` never trips on them.
"""

from __future__ import annotations

from premortem.findings import Finding, Severity
from premortem.load.document import Document
from premortem.model.delivery import FIXTURE, delivery_of


def as_delivered(finding: Finding, doc: Document) -> Finding:
    delivery = delivery_of(doc)
    if delivery.target == FIXTURE:
        finding.extra.setdefault("severity_as_deployed", finding.severity.label)
        finding.severity = Severity.INFO
        finding.message = f"[{delivery.reason}, never deployed as written] {finding.message}"
    return finding
