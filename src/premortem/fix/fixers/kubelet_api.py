"""Fixer for the kubelet API rate-limit rule (KUB006)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Op, Set
from premortem.load.document import Document
from premortem.rules.kubelet_api import NEW_DEFAULTS, api_limits


@fixer("KUB006")
def raise_api_limits(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers KUB006 (kubelet-api-throttled). Sets `kubeAPIQPS: 50` and `kubeAPIBurst: 100`, the
    kubelet's defaults from v1.27 (a value already higher is kept), written explicitly so that older
    releases get them too. The API server's priority-and-fairness queues still bound what all
    kubelets together may send.
    """
    limits = api_limits(doc.obj) if isinstance(doc.obj, dict) else None
    if limits is None:
        yield Note("kubeAPIQPS or kubeAPIBurst is not a number; fix it by hand.")
        return
    qps, burst, _explicit = limits
    ops: list[Op] = []
    changes: list[str] = []
    for field, current, wanted in (
        ("kubeAPIQPS", qps, NEW_DEFAULTS[0]),
        ("kubeAPIBurst", burst, NEW_DEFAULTS[1]),
    ):
        if current < wanted:
            ops.append(Set((field,), wanted))
            changes.append(f"{field} {current:g} -> {wanted}")
    if ops:
        yield Fix(ops, f"{', '.join(changes)}: a full node reports its pods in seconds, not minutes.")
