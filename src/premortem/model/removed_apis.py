"""API versions Kubernetes stopped serving, per kind: when, what replaces them, and whether the move is
a pure rename of ``apiVersion``.

Source: the Kubernetes "Deprecated API Migration Guide" (kubernetes/website
content/en/docs/reference/using-api/deprecation-guide.md, sections v1.16 to v1.32; it lists no removal
after v1.32), and the alpha ``batch/v2alpha1`` CronJob of early clusters (removed in v1.21).
An object written in a removed version is refused by the API server of that release and
every later one: ``no matches for kind "X" in version "G/V"`` (kubectl, Helm and Argo CD all fail).

``rename_blocker(obj)`` says why replacing ``apiVersion`` alone would not keep the object's meaning
(a field renamed, a default that changed), or None when it would; ``premortem fix`` only renames where
it is None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from premortem.model.kubeversion import KubeVersion

Blocker = Callable[[dict[str, Any]], str | None]


def _v(minor: int) -> KubeVersion:
    return KubeVersion(1, minor)


@dataclass(frozen=True, slots=True)
class Replacement:
    api_version: str
    since: KubeVersion


@dataclass(frozen=True, slots=True)
class RemovedApi:
    api_version: str
    kind: str
    removed_in: KubeVersion
    # Newest first; the first one the target release serves is proposed. Empty: no replacement.
    replacements: tuple[Replacement, ...]
    changes: str  # what differs in the replacement ("" when nothing does)
    rename_blocker: Blocker

    def replacement_at(self, version: KubeVersion) -> Replacement | None:
        """The newest replacement served by ``version`` (the oldest one if none is yet)."""
        for candidate in self.replacements:
            if candidate.since <= version:
                return candidate
        return self.replacements[-1] if self.replacements else None


def _safe(_: dict[str, Any]) -> str | None:
    return None


def _never(reason: str) -> Blocker:
    return lambda _obj: reason


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _needs_selector(obj: dict[str, Any]) -> str | None:
    if isinstance(_spec(obj).get("selector"), dict) and _spec(obj)["selector"]:
        return None
    return "apps/v1 requires spec.selector (the old version defaulted it from the template labels)"


def _pdb_selector(obj: dict[str, Any]) -> str | None:
    if _spec(obj).get("selector") == {}:
        return (
            "an empty spec.selector selects no pod in policy/v1beta1 but every pod of the namespace in "
            "policy/v1: write the selector you mean"
        )
    return None


def _cron_history(obj: dict[str, Any]) -> str | None:
    spec = _spec(obj)
    if "successfulJobsHistoryLimit" in spec and "failedJobsHistoryLimit" in spec:
        return None
    return (
        "batch/v2alpha1 kept every finished Job; batch/v1 keeps 3 successful and 1 failed unless "
        "successfulJobsHistoryLimit and failedJobsHistoryLimit say otherwise: set them to what you mean"
    )


def _plc_shares(obj: dict[str, Any]) -> str | None:
    limited = _spec(obj).get("limited")
    if isinstance(limited, dict) and "assuredConcurrencyShares" in limited:
        return "spec.limited.assuredConcurrencyShares is renamed nominalConcurrencyShares"
    if isinstance(limited, dict) and limited.get("nominalConcurrencyShares") == 0:
        return "an explicit nominalConcurrencyShares: 0 stays 0 in v1 (v1beta3 turned it into 30)"
    return None


def _slice_topology(obj: dict[str, Any]) -> str | None:
    endpoints = obj.get("endpoints")
    if isinstance(endpoints, list) and any(isinstance(e, dict) and "topology" in e for e in endpoints):
        return "endpoints[].topology is replaced by nodeName, zone and the read-only deprecatedTopology"
    return None


def _sar_group(obj: dict[str, Any]) -> str | None:
    return "spec.group is renamed spec.groups" if "group" in _spec(obj) else None


_APPS_V1 = (Replacement("apps/v1", _v(9)),)
_DEPLOYMENT_CHANGES = (
    "spec.selector is required and immutable; defaults change: progressDeadlineSeconds 600 (was none), "
    "revisionHistoryLimit 10, maxSurge and maxUnavailable 25% (extensions/v1beta1: 1); spec.rollbackTo is gone"
)
_DEFAULTS_CHANGE = "defaults change with the version (see the notable changes), so a rename alters behaviour"
_FLOWCONTROL = (
    Replacement("flowcontrol.apiserver.k8s.io/v1", _v(29)),
    Replacement("flowcontrol.apiserver.k8s.io/v1beta3", _v(26)),
    Replacement("flowcontrol.apiserver.k8s.io/v1beta2", _v(23)),
)
_PLC_CHANGES = (
    "spec.limited.assuredConcurrencyShares is renamed nominalConcurrencyShares; in v1 an explicit 0 stays 0"
)


def _entries() -> list[RemovedApi]:
    out: list[RemovedApi] = []

    def add(
        versions: tuple[str, ...],
        kinds: tuple[str, ...],
        removed: int,
        replacements: tuple[Replacement, ...],
        changes: str = "",
        blocker: Blocker = _safe,
    ) -> None:
        for api_version in versions:
            for kind in kinds:
                out.append(RemovedApi(api_version, kind, _v(removed), replacements, changes, blocker))

    # v1.16
    add(("extensions/v1beta1",), ("NetworkPolicy",), 16, (Replacement("networking.k8s.io/v1", _v(8)),))
    add(
        ("extensions/v1beta1",),
        ("DaemonSet",),
        16,
        _APPS_V1,
        "spec.selector is required and immutable; spec.updateStrategy.type defaults to RollingUpdate "
        "(extensions/v1beta1: OnDelete); spec.templateGeneration is gone",
        _never(_DEFAULTS_CHANGE),
    )
    add(
        ("apps/v1beta2",),
        ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet"),
        16,
        _APPS_V1,
        "spec.selector is required and immutable",
        _needs_selector,
    )
    add(
        ("extensions/v1beta1", "apps/v1beta1"),
        ("Deployment",),
        16,
        _APPS_V1,
        _DEPLOYMENT_CHANGES,
        _never(_DEFAULTS_CHANGE),
    )
    add(
        ("apps/v1beta1",),
        ("StatefulSet",),
        16,
        _APPS_V1,
        "spec.selector is required and immutable; spec.updateStrategy.type defaults to RollingUpdate "
        "(apps/v1beta1: OnDelete)",
        _never(_DEFAULTS_CHANGE),
    )
    add(
        ("extensions/v1beta1", "apps/v1beta1"),
        ("ReplicaSet",),
        16,
        _APPS_V1,
        "spec.selector is required and immutable",
        _needs_selector,
    )
    add(
        ("extensions/v1beta1",),
        ("PodSecurityPolicy",),
        16,
        (),
        "PodSecurityPolicy itself was removed in v1.25: enforce the Pod Security Standards with Pod Security "
        "Admission (namespace labels pod-security.kubernetes.io/enforce) or a policy engine",
        _never("PodSecurityPolicy has no replacement API"),
    )
    # v1.21: an alpha version the migration guide does not list (alpha APIs were only served when
    # --runtime-config enabled them); CHANGELOG-1.21 "Remove batch/v2alpha1 CronJob" (#96987).
    add(
        ("batch/v2alpha1",),
        ("CronJob",),
        21,
        (Replacement("batch/v1", _v(21)), Replacement("batch/v1beta1", _v(8))),
        "successfulJobsHistoryLimit and failedJobsHistoryLimit default to 3 and 1 (v2alpha1 kept every finished Job)",
        _cron_history,
    )
    # v1.22
    add(
        ("admissionregistration.k8s.io/v1beta1",),
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
        22,
        (Replacement("admissionregistration.k8s.io/v1", _v(16)),),
        "defaults change: failurePolicy Fail (was Ignore), matchPolicy Equivalent (was Exact), timeoutSeconds "
        "10 (was 30); sideEffects (None or NoneOnDryRun) and admissionReviewVersions are required",
        _never(_DEFAULTS_CHANGE),
    )
    add(
        ("apiextensions.k8s.io/v1beta1",),
        ("CustomResourceDefinition",),
        22,
        (Replacement("apiextensions.k8s.io/v1", _v(16)),),
        "spec.scope is required; version/validation/subresources/additionalPrinterColumns move under "
        "spec.versions[*]; every version needs a structural openAPIV3Schema",
        _never("the v1 schema is organised differently"),
    )
    add(
        ("apiregistration.k8s.io/v1beta1",),
        ("APIService",),
        22,
        (Replacement("apiregistration.k8s.io/v1", _v(10)),),
    )
    add(
        ("authentication.k8s.io/v1beta1",),
        ("TokenReview",),
        22,
        (Replacement("authentication.k8s.io/v1", _v(6)),),
    )
    add(
        ("authorization.k8s.io/v1beta1",),
        ("LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview"),
        22,
        (Replacement("authorization.k8s.io/v1", _v(6)),),
        "spec.group is renamed spec.groups",
        _sar_group,
    )
    add(
        ("certificates.k8s.io/v1beta1",),
        ("CertificateSigningRequest",),
        22,
        (Replacement("certificates.k8s.io/v1", _v(19)),),
        "spec.signerName and spec.usages are required; kubernetes.io/legacy-unknown cannot be requested",
        _never("certificates.k8s.io/v1 requires fields v1beta1 did not"),
    )
    add(("coordination.k8s.io/v1beta1",), ("Lease",), 22, (Replacement("coordination.k8s.io/v1", _v(14)),))
    add(
        ("extensions/v1beta1", "networking.k8s.io/v1beta1"),
        ("Ingress",),
        22,
        (Replacement("networking.k8s.io/v1", _v(19)),),
        "spec.backend is spec.defaultBackend; serviceName/servicePort become service.name and "
        "service.port.number or service.port.name; pathType is required (ImplementationSpecific keeps the "
        "old matching)",
        _never("the backend fields are restructured"),
    )
    add(("networking.k8s.io/v1beta1",), ("IngressClass",), 22, (Replacement("networking.k8s.io/v1", _v(19)),))
    add(
        ("rbac.authorization.k8s.io/v1beta1",),
        ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
        22,
        (Replacement("rbac.authorization.k8s.io/v1", _v(8)),),
    )
    add(
        ("scheduling.k8s.io/v1beta1",), ("PriorityClass",), 22, (Replacement("scheduling.k8s.io/v1", _v(14)),)
    )
    for kind, since in (("CSIDriver", 19), ("CSINode", 17), ("StorageClass", 6), ("VolumeAttachment", 13)):
        add(("storage.k8s.io/v1beta1",), (kind,), 22, (Replacement("storage.k8s.io/v1", _v(since)),))
    # v1.25
    add(("batch/v1beta1",), ("CronJob",), 25, (Replacement("batch/v1", _v(21)),))
    add(
        ("discovery.k8s.io/v1beta1",),
        ("EndpointSlice",),
        25,
        (Replacement("discovery.k8s.io/v1", _v(21)),),
        "endpoints[].topology is replaced by nodeName and zone",
        _slice_topology,
    )
    add(
        ("events.k8s.io/v1beta1",),
        ("Event",),
        25,
        (Replacement("events.k8s.io/v1", _v(19)),),
        "type is Normal or Warning; involvedObject is regarding; action, reason, reportingComponent and "
        "reportingInstance are required",
        _never("events.k8s.io/v1 renames and requires fields"),
    )
    add(
        ("autoscaling/v2beta1",),
        ("HorizontalPodAutoscaler",),
        25,
        (Replacement("autoscaling/v2", _v(23)),),
        "targetAverageUtilization becomes target.averageUtilization with target.type: Utilization (the "
        "metric targets are restructured)",
        _never("the metric targets are restructured"),
    )
    add(
        ("policy/v1beta1",),
        ("PodDisruptionBudget",),
        25,
        (Replacement("policy/v1", _v(21)),),
        "an empty spec.selector ({}) selects every pod of the namespace in policy/v1 (none in v1beta1)",
        _pdb_selector,
    )
    add(
        ("policy/v1beta1",),
        ("PodSecurityPolicy",),
        25,
        (),
        "PodSecurityPolicy has no replacement API: enforce the Pod Security Standards with Pod Security "
        "Admission (namespace labels pod-security.kubernetes.io/enforce) or a policy engine",
        _never("PodSecurityPolicy has no replacement API"),
    )
    add(("node.k8s.io/v1beta1",), ("RuntimeClass",), 25, (Replacement("node.k8s.io/v1", _v(20)),))
    # v1.26
    add(("flowcontrol.apiserver.k8s.io/v1beta1",), ("FlowSchema",), 26, _FLOWCONTROL)
    add(
        ("flowcontrol.apiserver.k8s.io/v1beta1",),
        ("PriorityLevelConfiguration",),
        26,
        _FLOWCONTROL,
        _PLC_CHANGES,
        _plc_shares,
    )
    add(("autoscaling/v2beta2",), ("HorizontalPodAutoscaler",), 26, (Replacement("autoscaling/v2", _v(23)),))
    # v1.27
    add(("storage.k8s.io/v1beta1",), ("CSIStorageCapacity",), 27, (Replacement("storage.k8s.io/v1", _v(24)),))
    # v1.29
    add(("flowcontrol.apiserver.k8s.io/v1beta2",), ("FlowSchema",), 29, _FLOWCONTROL[:2])
    add(
        ("flowcontrol.apiserver.k8s.io/v1beta2",),
        ("PriorityLevelConfiguration",),
        29,
        _FLOWCONTROL[:2],
        _PLC_CHANGES,
        _plc_shares,
    )
    # v1.32
    add(("flowcontrol.apiserver.k8s.io/v1beta3",), ("FlowSchema",), 32, _FLOWCONTROL[:1])
    add(
        ("flowcontrol.apiserver.k8s.io/v1beta3",),
        ("PriorityLevelConfiguration",),
        32,
        _FLOWCONTROL[:1],
        "nominalConcurrencyShares defaults to 30 only when unset: an explicit 0 stays 0 in v1",
        _plc_shares,
    )
    return out


REMOVED_APIS: dict[tuple[str, str], RemovedApi] = {(e.api_version, e.kind): e for e in _entries()}


def removed_api(api_version: str | None, kind: str | None) -> RemovedApi | None:
    """The removal of this apiVersion/kind, or None when Kubernetes serves it in every known release."""
    if not api_version or not kind:
        return None
    return REMOVED_APIS.get((api_version.strip(), kind))
