"""Fixer for the heartbeat webhook rule (ADM007)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.fixers.admission import _webhook, exclude_namespaces
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.load.document import Document
from premortem.rules.admission import KUBE_SYSTEM, NAME_LABEL
from premortem.rules.heartbeats import NODE_LEASES, NODE_STATUS_BEAT


@fixer("ADM007")
def exclude_heartbeat_namespaces(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers ADM007 (webhook-on-heartbeats). Adds `kubernetes.io/metadata.name NotIn [kube-system,
    kube-node-lease]` to the webhook's `namespaceSelector`, merged into the selector that is there
    (requirements are ANDed, so every other namespace stays covered): node Leases and the control
    plane's leader-election Leases no longer wait for the webhook. `nodes/status` is cluster-scoped,
    so no namespaceSelector skips it: that part is a note (remove it from the rules by hand).
    """
    found = _webhook(finding, doc)
    if found is None:
        yield Note("could not find the webhook this finding is about; add the namespaceSelector by hand.")
        return
    index, webhook = found
    name = webhook.get("name") or f"#{index}"
    if NODE_STATUS_BEAT.what in finding.message:
        yield Note(
            f"webhook {name} intercepts nodes/status, which no namespaceSelector skips: remove nodes/status "
            "(and nodes/*, */*, */status) from its rules by hand."
        )
    if "Leases" not in finding.message:
        return
    namespaces = [KUBE_SYSTEM, NODE_LEASES]
    ops = exclude_namespaces(index, webhook, namespaces)
    if not ops:
        yield Fix(
            [], f"webhook {name}: covered by the namespaceSelector exclusion of {', '.join(namespaces)}."
        )
        return
    yield Fix(
        ops,
        f"webhook {name}: namespaceSelector now excludes {', '.join(namespaces)} ({NAME_LABEL} NotIn): node and "
        "leader-election Lease renewals no longer wait for it; every other namespace is still sent to it.",
    )
