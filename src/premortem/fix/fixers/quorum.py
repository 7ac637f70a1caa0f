"""Fixer for the quorum-member probe rule (PRB008)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.paths import get, pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Op, Set
from premortem.load.document import Document
from premortem.model.probes import DEFAULTS

# kubeadm's liveness timing for its etcd static pod: 80 s of failures, 15 s per check.
LENIENT = (("timeoutSeconds", 15), ("periodSeconds", 10), ("failureThreshold", 8))


@fixer("PRB008")
def lenient_liveness(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers PRB008 (liveness-on-sole-quorum-member). Raises the liveness probe of the only member to
    the timing kubeadm gives etcd: `timeoutSeconds: 15`, `periodSeconds: 10`, `failureThreshold: 8`
    (a value already larger is kept). The kubelet then restarts the member only after about 80 s of
    failed checks, longer than a compaction, a defragmentation of a moderate database or a disk
    stall. Running three members, or no liveness probe at all, are the better fixes; both change more
    than timing, so they are left to you.
    """
    path = pointer_path(finding)
    probe = get(doc.obj, path)
    if not isinstance(probe, dict):
        yield Note("could not find the liveness probe this finding is about; fix it by hand.")
        return
    ops: list[Op] = []
    changes: list[str] = []
    for field, wanted in LENIENT:
        current = probe.get(field)
        value = DEFAULTS[field] if current in (None, 0) else current
        if isinstance(value, bool) or not isinstance(value, int):
            yield Note(f"{field} is not an integer; fix the probe by hand.")
            return
        if value < wanted:
            ops.append(Set((*path, field), wanted))
            changes.append(f"{field} {value} -> {wanted}")
    if ops:
        yield Fix(
            ops,
            f"liveness {', '.join(changes)}: the kubelet now restarts the only member after about 80 s of failed "
            "checks instead of during a compaction or a disk stall. Three members (or no liveness probe) is better.",
        )
