"""API versions: objects written in an apiVersion the target Kubernetes release no longer serves."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.kubeversion import target_is_default, target_version
from premortem.model.removed_apis import removed_api
from premortem.rules.registry import Hit, object_rule

# A document with nothing but these is a kustomize patch that only touches metadata (the scaffold's
# `cainjection_in_*.yaml`), not an object anyone applies.
_METADATA_ONLY = frozenset({"apiVersion", "kind", "metadata"})


def _patch_fragment(obj: dict[str, object]) -> bool:
    """Metadata only, or a CustomResourceDefinition without the spec.names every CRD must have (the
    scaffold's `webhook_in_*.yaml` conversion patches)."""
    if set(obj) <= _METADATA_ONLY:
        return True
    spec = obj.get("spec")
    return obj.get("kind") == "CustomResourceDefinition" and not (
        isinstance(spec, dict) and spec.get("names")
    )


@object_rule(
    "API001",
    "removed-api-version",
    "api-versions",
    Severity.HIGH,
    "API version the target Kubernetes release no longer serves",
)
def removed_api_version(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Objects whose `apiVersion` and `kind` are one of the beta versions Kubernetes stopped serving, as
    listed in the Deprecated API Migration Guide (v1.16 to v1.32): `extensions/v1beta1` and
    `apps/v1beta1`/`v1beta2` workloads, `extensions/v1beta1` and `networking.k8s.io/v1beta1` Ingress,
    the `v1beta1` webhook, CRD, RBAC, storage, PriorityClass and Lease APIs (v1.22), `batch/v1beta1`
    CronJob, `policy/v1beta1` PodDisruptionBudget and PodSecurityPolicy, `autoscaling/v2beta1` (v1.25),
    `autoscaling/v2beta2` (v1.26), `storage.k8s.io/v1beta1` CSIStorageCapacity (v1.27) and the
    `flowcontrol.apiserver.k8s.io` `v1beta1`/`v1beta2`/`v1beta3` APIs (v1.26, v1.29, v1.32); and the
    alpha `batch/v2alpha1` CronJob early clusters enabled by hand (removed in v1.21).

    The release judged is `--kubernetes-version` (default: the newest release the rules know, v1.35).
    An API removed at or before that release is `high`. One still served by it but removed by a later
    release is `low`: the manifest works today and breaks on the upgrade. A document with nothing but
    `apiVersion`, `kind` and `metadata`, or a CRD without `spec.names`, is a kustomize patch, not an
    object, and is not judged.

    ## Why it breaks clusters
    Removing an API version means the API server no longer has a REST endpoint for that group/version
    and kind. `kubectl apply` fails with `no matches for kind "Deployment" in version
    "extensions/v1beta1"`, `helm install`/`upgrade` aborts the whole release, and Argo CD or Flux
    mark the application failed: nothing in the release is created or updated, including the fix you
    were trying to ship. Objects already stored are not lost (the API server converts them to the
    served version), so the outage shows up at the next deploy, often during an incident or right
    after a control-plane upgrade. Some replacements are not plain renames: defaults changed (a
    `policy/v1` PDB with `selector: {}` selects every pod instead of none; `apps/v1` Deployments get
    `maxUnavailable: 25%` instead of 1), so the message names the differences.

    ## Failing example
    ```yaml
    apiVersion: batch/v1beta1
    kind: CronJob
    metadata: {name: nightly-report}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: report
                  image: registry.example.com/report:2.1.0
                  resources:
                    requests: {cpu: 100m, memory: 128Mi}
                    limits: {memory: 128Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly-report}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: report
                  image: registry.example.com/report:2.1.0
                  resources:
                    requests: {cpu: 100m, memory: 128Mi}
                    limits: {memory: 128Mi}
    ```

    ## Fix
    Write the object in the replacement version the message names (`kubectl convert` can help) and
    apply the listed changes. `premortem fix` rewrites `apiVersion` where the two versions mean the same
    (CronJob, HPA v2beta2, RBAC, storage, PriorityClass, Lease, RuntimeClass, FlowSchema, a PDB with a
    non-empty selector, `apps/v1beta2` workloads with a selector); it does not for Deployments,
    DaemonSets and StatefulSets from `extensions/v1beta1`/`apps/v1beta1` (defaults change), Ingress,
    webhooks, CRDs, HPA v2beta1, Events and CSRs (fields move), or PodSecurityPolicy (no replacement).

    ## Source
    K8s docs reference/using-api/deprecation-guide.md ("Removed APIs by release", v1.16 to v1.32) and
    reference/using-api/deprecation-policy.md; kubernetes/kubernetes CHANGELOG-1.16, -1.22, -1.25,
    -1.26, -1.27, -1.29, -1.32 ("API removals").
    """
    if not isinstance(doc.obj, dict) or _patch_fragment(doc.obj):
        return
    removal = removed_api(doc.ref.api_version, doc.kind)
    if removal is None:
        return
    target = target_version()
    replacement = removal.replacement_at(target)
    assumed = " (the newest release premortem knows; set --kubernetes-version)" if target_is_default() else ""
    what = f"{removal.api_version} {removal.kind}"
    changes = f" Notable changes: {removal.changes}." if removal.changes else ""
    if replacement is not None and replacement.since > target:
        fix = (
            f"Upgrade to {replacement.since} or later first, then use apiVersion: {replacement.api_version} "
            f"before {removal.removed_in}.{changes}"
        )
    elif replacement is not None:
        fix = f"Use apiVersion: {replacement.api_version} (served since {replacement.since}).{changes}"
    else:
        fix = f"Remove it: there is no replacement API.{changes}"
    extra = {"removed_in": str(removal.removed_in), "target_version": str(target)}
    if replacement is not None:
        extra["replacement"] = replacement.api_version
    if target >= removal.removed_in:
        yield Hit(
            message=(
                f"{what} is not served since Kubernetes {removal.removed_in}, and this scan targets {target}"
                f'{assumed}: the API server refuses the object (no matches for kind "{removal.kind}" in '
                f'version "{removal.api_version}"), so kubectl apply, helm install or the GitOps sync fails '
                "and nothing in it is created or updated."
            ),
            fix=fix,
            path=("apiVersion",),
            extra=extra,
        )
        return
    yield Hit(
        message=(
            f"{what} is still served by Kubernetes {target} but removed in {removal.removed_in}: after that "
            "upgrade the API server refuses the object and every deploy of this manifest fails."
        ),
        fix=fix,
        path=("apiVersion",),
        severity=Severity.LOW,
        extra=extra,
    )
