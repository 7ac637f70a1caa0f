"""Fixer for the API-version rule (API001)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Set
from premortem.load.document import Document
from premortem.model.kubeversion import target_version
from premortem.model.removed_apis import removed_api


@fixer("API001")
def migrate_api_version(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers API001 (removed-api-version). Rewrites `apiVersion` to the replacement the target release
    serves, only where the two versions mean the same thing: CronJob `batch/v1beta1` -> `batch/v1`,
    HPA `autoscaling/v2beta2` -> `autoscaling/v2`, RBAC, storage, PriorityClass, Lease, IngressClass,
    APIService, RuntimeClass and NetworkPolicy, FlowSchema (and PriorityLevelConfiguration without
    `assuredConcurrencyShares` or an explicit `nominalConcurrencyShares: 0`), PodDisruptionBudgets
    whose selector is not empty (`{}` selects nothing in `policy/v1beta1` and everything in
    `policy/v1`), `apps/v1beta2` workloads and old ReplicaSets that already have a selector. The rest
    gets a note saying what differs: Deployments, DaemonSets and StatefulSets from
    `extensions/v1beta1`/`apps/v1beta1` change their defaults (rollout surge and unavailability,
    update strategy), Ingress, webhooks, CRDs, HPA `v2beta1`, Events and CSRs move fields, and
    PodSecurityPolicy has no replacement API.
    """
    removal = removed_api(doc.ref.api_version, doc.kind) if isinstance(doc.obj, dict) else None
    if removal is None:
        return
    target = target_version()
    replacement = removal.replacement_at(target)
    if replacement is None:
        yield Note(f"not fixable in YAML: {removal.changes}.")
        return
    if replacement.since > target:
        yield Note(
            f"not fixed: {replacement.api_version} is served from {replacement.since}, after the target {target}."
        )
        return
    blocker = removal.rename_blocker(doc.obj)
    if blocker is not None:
        yield Note(
            f"not fixed automatically: {blocker}. Rewrite it as {replacement.api_version} by hand "
            f"(`kubectl convert` can help): {removal.changes}."
        )
        return
    yield Fix(
        [Set(("apiVersion",), replacement.api_version)],
        f"apiVersion {removal.api_version} -> {replacement.api_version}: the same object in a version "
        f"{target} serves (no field changes meaning).",
    )
