"""Fixers for the disruption rules (PDB001, PDB002)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Op, Rename, Set, apply_to_object
from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.pdb import ALWAYS_ALLOW, PdbVerdict, analyse_pdb, analyse_pdbs


def _place(doc: Document) -> tuple[str, int, int | None]:
    return (doc.file, doc.doc_index, doc.item_index)


def _verdict(ctx: FixContext, doc: Document, replacement: Document | None = None) -> PdbVerdict | None:
    """The disruption controller's view of this PDB (as it stands, or with ``replacement`` for it).

    A PDB is not a workload: replacing it changes no other verdict and no workload, so the edited
    copy is analysed against the index of the objects as they are (built once per round), not a new
    index of every object for every PDB fixed."""
    if "pdb_index" not in ctx.cache:
        index = ctx.cache["pdb_index"] = ObjectIndex.build(ctx.documents)
        ctx.cache["pdb_verdicts"] = {_place(v.pdb): v for v in reversed(analyse_pdbs(index))}
    if replacement is not None:
        if ctx.cache["pdb_verdicts"].get(_place(doc)) is None:
            return None
        return analyse_pdb(replacement, ctx.cache["pdb_index"])
    verdict: PdbVerdict | None = ctx.cache["pdb_verdicts"].get(_place(doc))
    return verdict


@fixer("PDB001")
def allow_one_disruption(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers PDB001 (pdb-allows-no-disruption). Replaces `minAvailable` (100%, or at or above the
    replica count) by `maxUnavailable: 1` on the same line, or sets `maxUnavailable: 0` to 1: a drain
    may then evict one pod at a time and waits for it to be Ready elsewhere before the next. The fix is
    checked with the disruption controller's arithmetic before it is offered: when it would still allow
    nothing (pods without a controller, whose `maxUnavailable` counts against 0 expected pods) it
    becomes a note. For a single-replica workload `maxUnavailable: 1` means every drain takes the only
    pod down, so that fix is only applied with `--unsafe-fixes`; the honest fix there is 2+ replicas.
    A PDB that sets both fields or an invalid value is a note: premortem does not guess which you meant.
    """
    verdict = _verdict(ctx, doc)
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    if verdict is None or not isinstance(spec, dict):
        yield Note("could not analyse this PodDisruptionBudget; fix it by hand.")
        return
    if verdict.problem is not None:
        yield Note(
            f"not fixed automatically: {verdict.problem}. Set exactly one of minAvailable / maxUnavailable; "
            "premortem does not guess which one you meant."
        )
        return
    if "minAvailable" in spec:
        old = f"minAvailable: {spec['minAvailable']}"
        ops: list[Op] = [Rename(("spec", "minAvailable"), "maxUnavailable", 1)]
    elif "maxUnavailable" in spec:
        old = f"maxUnavailable: {spec['maxUnavailable']}"
        ops = [Set(("spec", "maxUnavailable"), 1)]
    else:
        old = "no minAvailable or maxUnavailable"
        ops = [Set(("spec", "maxUnavailable"), 1)]
    after = copy.deepcopy(doc.obj)
    for op in ops:
        apply_to_object(after, op)
    simulated = _verdict(ctx, doc, Document(after, doc.file, doc.line, None, doc.doc_index, doc.item_index))
    if simulated is None or simulated.allowed_disruptions < 1:
        yield Note(
            "not fixable by changing the budget: even maxUnavailable: 1 allows no disruption here "
            f"({_pods(verdict)}). Pods without a controller count as 0 expected pods for maxUnavailable; "
            "run them under a Deployment or StatefulSet."
        )
        return
    message = (
        f"{old} -> maxUnavailable: 1: with {_pods(simulated)} a drain may now evict one pod at a time "
        f"({simulated.desired_healthy} stay Ready)."
    )
    if simulated.selected_pods <= 1:
        yield Fix(
            ops,
            message,
            unsafe=(
                "the workload has a single replica, so maxUnavailable: 1 lets every drain take the only pod "
                "down. Run 2+ replicas (then this fix is safe), or delete the PDB and accept the restart."
            ),
        )
        return
    yield Fix(ops, message)


@fixer("PDB002")
def always_allow_unhealthy(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers PDB002 (pdb-one-disruption-default-unhealthy-policy). Adds
    `unhealthyPodEvictionPolicy: AlwaysAllow` to the PDB spec: pods that are Running but not Ready may
    then be evicted at any time, so one crash-looping pod no longer uses up the budget and blocks the
    drain of its healthy siblings' nodes. Ready pods stay protected by the budget exactly as before.
    The field is beta and on by default from Kubernetes v1.27 (GA in v1.31).
    """
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    if not isinstance(spec, dict) or spec.get("unhealthyPodEvictionPolicy") is not None:
        return
    yield Fix(
        [Set(("spec", "unhealthyPodEvictionPolicy"), ALWAYS_ALLOW)],
        "unhealthyPodEvictionPolicy: AlwaysAllow: a pod that is Running but not Ready no longer blocks "
        "drains; Ready pods stay protected by the budget (needs Kubernetes v1.27+).",
    )


def _pods(verdict: PdbVerdict) -> str:
    n = verdict.selected_pods
    return f"{n} pod{'' if n == 1 else 's'} selected"
