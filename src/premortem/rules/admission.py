"""Admission webhooks: what the API server refuses to admit when a webhook backend is down or slow.

The model here reads Validating/MutatingWebhookConfigurations with the API's defaults
(admissionregistration.k8s.io/v1: failurePolicy Fail, timeoutSeconds 10, namespaceSelector and
objectSelector ``{}``; the removed v1beta1: Ignore and 30 s) and answers three questions the rules
share: which pod-creating resources a webhook intercepts, whether a namespace is excluded from it,
and which Deployment serves it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document, Path
from premortem.model.index import ObjectIndex, per_index
from premortem.model.pdb import effective_replicas
from premortem.model.podspec import SCALABLE_KINDS, template_labels
from premortem.model.selectors import Selector, SelectorError, parse_map_selector, parse_selector
from premortem.model.units import proximity, same_unit
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule

WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
KUBE_SYSTEM = "kube-system"
NAME_LABEL = "kubernetes.io/metadata.name"
MAX_TIMEOUT = 5
# (API group, resource) of what creates pods, in the order messages list them.
POD_CREATORS: tuple[tuple[str, str], ...] = (
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
)
# Subresources created through the API on the path of scheduling and draining.
_POD_SUBRESOURCES = frozenset({"pods/*", "*/*", "pods/binding", "pods/eviction"})
_KIND_RESOURCE = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "ReplicationController": ("", "replicationcontrollers"),
    "DaemonSet": ("apps", "daemonsets"),
}
_EXCLUSION_SNIPPET = (
    "namespaceSelector: {{matchExpressions: [{{key: kubernetes.io/metadata.name, operator: NotIn, "
    "values: [{values}]}}]}}"
)


@dataclass
class Webhook:
    """One entry of ``webhooks:`` with the API server's defaults applied."""

    config: Document
    index: int
    data: dict[str, Any]
    v1: bool
    name: str
    failure_policy: str
    failure_policy_explicit: bool
    timeout: int
    timeout_explicit: bool
    namespace_selector: Selector | None  # None: invalid (the API server rejects the configuration)
    object_selector: Selector | None
    rules: list[dict[str, Any]]
    match_conditions: list[Any]
    service_namespace: str | None
    service_name: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return ("webhooks", self.index)

    @property
    def fails_closed(self) -> bool:
        return self.failure_policy == "Fail"

    @property
    def label(self) -> str:
        return f"webhook {self.name} ({self.config.kind} {self.config.ref.name or '<unnamed>'})"

    @property
    def backend(self) -> str:
        if self.service_name:
            return f"service {self.service_namespace or '?'}/{self.service_name}"
        return "its URL backend"

    @property
    def policy_text(self) -> str:
        if self.failure_policy_explicit:
            return f"failurePolicy {self.failure_policy}"
        return f"failurePolicy {self.failure_policy} (the {'v1' if self.v1 else 'v1beta1'} default)"

    def field_path(self, key: str) -> Path:
        return (*self.path, key) if key in self.data else self.path

    def intercepts(self, operations: frozenset[str], wanted: tuple[tuple[str, str], ...]) -> list[str]:
        """Resources among ``wanted`` (plus ``pods/*`` subresources) matched for any of ``operations``."""
        found: list[str] = []
        for rule in self.rules:
            ops = {str(o) for o in _as_list(rule.get("operations"))}
            if "*" not in ops and not ops & operations:
                continue
            if rule.get("scope") == "Cluster":
                continue  # cluster-scoped resources only: pods and workloads are namespaced
            groups = {str(g) for g in _as_list(rule.get("apiGroups"))}
            resources = {str(r) for r in _as_list(rule.get("resources"))}
            for group, resource in wanted:
                if group not in groups and "*" not in groups:
                    continue
                covered = resource in resources or "*" in resources or "*/*" in resources
                if covered and resource not in found:
                    found.append(resource)
            if ("" in groups or "*" in groups) and ("", "pods") in wanted:
                subs = sorted(r for r in resources if r in _POD_SUBRESOURCES)
                if subs:
                    label = "pods/*" if ("pods/*" in subs or "*/*" in subs) else ", ".join(subs)
                    if label not in found:
                        found.append(label)
        return found

    def wildcard_rules(self) -> list[str]:
        """Rules with ``*`` / ``*/*`` resources in a built-in API group (or every group)."""
        out = []
        for rule in self.rules:
            resources = [str(r) for r in _as_list(rule.get("resources"))]
            groups = [str(g) for g in _as_list(rule.get("apiGroups"))]
            if "*" not in resources and "*/*" not in resources:
                continue
            if not any(_builtin_group(g) for g in groups):
                continue  # every resource of the webhook's own API groups: what it is for
            shown_groups = ", ".join(f'"{g}"' for g in groups)
            out.append(f"apiGroups [{shown_groups}] resources [{', '.join(resources)}]")
        return out


def _builtin_group(group: str) -> bool:
    """``*``, the core group, and Kubernetes' own groups (``apps``, ``batch``, ``*.k8s.io``)."""
    return group in ("*", "") or "." not in group or group.endswith(".k8s.io")


@dataclass
class Exclusion:
    """Whether a webhook skips requests in a namespace, and how sure premortem is."""

    excluded: bool
    how: str = ""
    cel_unknown: bool = False  # matchConditions present that premortem cannot evaluate
    partial: bool = False  # an opt-out objectSelector: labelled pods skip the webhook, others do not


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


@per_index
def webhooks(index: ObjectIndex) -> list[Webhook]:
    """Every webhook entry of every Validating/MutatingWebhookConfiguration read (cached per index)."""
    out: list[Webhook] = []
    for doc in index.of_kind(*WEBHOOK_KINDS):
        if doc.api_group != "admissionregistration.k8s.io" or not isinstance(doc.obj, dict):
            continue
        entries = doc.obj.get("webhooks")
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                out.append(_webhook(doc, i, entry))
    return out


def _webhook(doc: Document, i: int, data: dict[str, Any]) -> Webhook:
    v1 = (doc.ref.api_version or "").endswith("/v1")
    problems: list[str] = []
    policy = data.get("failurePolicy")
    raw_timeout = data.get("timeoutSeconds")
    timeout = raw_timeout if isinstance(raw_timeout, int) and not isinstance(raw_timeout, bool) else None
    selectors: list[Selector | None] = []
    for key in ("namespaceSelector", "objectSelector"):
        try:
            selectors.append(parse_selector(data.get(key), null_matches=True))
        except SelectorError as exc:
            problems.append(f"{key}: {exc}")
            selectors.append(None)
    client = data.get("clientConfig")
    service = client.get("service") if isinstance(client, dict) else None
    service = service if isinstance(service, dict) else {}
    name = data.get("name")
    return Webhook(
        config=doc,
        index=i,
        data=data,
        v1=v1,
        name=str(name) if name else f"#{i}",
        failure_policy=str(policy) if policy else ("Fail" if v1 else "Ignore"),
        failure_policy_explicit=bool(policy),
        timeout=timeout if timeout is not None else (10 if v1 else 30),
        timeout_explicit=timeout is not None,
        namespace_selector=selectors[0],
        object_selector=selectors[1],
        rules=[r for r in _as_list(data.get("rules")) if isinstance(r, dict)],
        match_conditions=_as_list(data.get("matchConditions")),
        service_namespace=str(service["namespace"]) if service.get("namespace") else None,
        service_name=str(service["name"]) if service.get("name") else None,
        problems=problems,
    )


def namespace_labels(namespace: str, index: ObjectIndex) -> dict[str, str]:
    """Labels a namespace is known to carry: the automatic name label plus any from a Namespace read."""
    labels: dict[str, str] = {}
    doc = index.get("Namespace", None, namespace)
    meta = doc.obj.get("metadata") if doc is not None and isinstance(doc.obj, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
        labels.update({str(k): str(v) for k, v in meta["labels"].items()})
    labels[NAME_LABEL] = namespace
    return labels


def _cel_excludes(webhook: Webhook, namespace: str) -> bool:
    """A matchCondition that visibly tests request.namespace against this namespace's name."""
    for condition in webhook.match_conditions:
        expression = condition.get("expression") if isinstance(condition, dict) else None
        if not isinstance(expression, str) or "namespace" not in expression:
            continue
        if re.search(rf"""['"]{re.escape(namespace)}['"]""", expression):
            return True
    return False


def exclusion(
    webhook: Webhook, namespace: str, index: ObjectIndex, pod_labels: list[dict[str, str]] | None
) -> Exclusion:
    """Does ``webhook`` skip requests for pods in ``namespace``?

    ``pod_labels``: the labels of the pods that matter there (None: unknown). With unknown pods an
    objectSelector that an unlabelled object does not match is an exclusion (an opt-in webhook); an
    opt-out objectSelector (it matches unlabelled objects) leaves the question open (``partial``).
    """
    ns_selector = webhook.namespace_selector
    if ns_selector is not None and not ns_selector.matches(namespace_labels(namespace, index)):
        return Exclusion(True, "namespaceSelector")
    obj_selector = webhook.object_selector
    partial = False
    if obj_selector is not None:
        if pod_labels is not None:
            if not any(obj_selector.matches(labels) for labels in pod_labels):
                return Exclusion(True, "objectSelector")
        elif not obj_selector.matches({}):
            return Exclusion(True, "objectSelector")
        else:
            partial = not obj_selector.is_empty
    if webhook.match_conditions:
        if _cel_excludes(webhook, namespace):
            return Exclusion(True, "matchConditions")
        return Exclusion(False, cel_unknown=True, partial=partial)
    return Exclusion(False, partial=partial)


def pods_in_namespace(namespace: str, index: ObjectIndex, near: Document) -> list[Document]:
    """Pod-creating objects of ``namespace`` read from files related to ``near``."""
    return [
        w
        for w in index.workloads()
        if (w.ref.namespace or "") == namespace and w.kind != "PodTemplate" and same_unit(near.file, w.file)
    ]


def _nearest(
    index: ObjectIndex, kind: str, namespace: str | None, name: str, near: Document
) -> Document | None:
    """The object of that kind and name in ``namespace`` (or with no namespace) of ``near``'s input
    unit (model/units.py), the one read nearest to ``near``."""
    candidates = [
        doc
        for doc in index.of_kind(kind)
        if doc.ref.name == name
        and (doc.ref.namespace or "") in (namespace or "", "")
        and same_unit(near.file, doc.file)
    ]
    if not candidates:
        return None
    return min(
        candidates, key=lambda d: ((d.ref.namespace or "") != (namespace or ""), proximity(near.file, d.file))
    )


# Workloads that can serve a webhook: what a Service's selector reaches, through pod templates.
BACKEND_KINDS = frozenset({*SCALABLE_KINDS, "DaemonSet"})


def backends(webhook: Webhook, index: ObjectIndex) -> list[Document]:
    """Workloads serving the webhook: the pods behind its Service, or a workload of that name, found in
    the Service's namespace and the webhook configuration's input unit (model/units.py) only, so an
    unrelated project's Deployment with the same labels is never taken for the backend. Deployments,
    StatefulSets, ReplicaSets, ReplicationControllers and DaemonSets count."""
    if not webhook.service_name:
        return []
    near = webhook.config
    service = _nearest(index, "Service", webhook.service_namespace, webhook.service_name, near)
    found: list[Document] = []
    if service is not None:
        spec = service.obj.get("spec") if isinstance(service.obj, dict) else None
        selector = parse_map_selector(spec.get("selector") if isinstance(spec, dict) else None)
        found = [
            w
            for w in index.workloads_matching(selector, service.ref.namespace)
            if w.kind in BACKEND_KINDS and same_unit(near.file, w.file)
        ]
    if not found:
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            doc = _nearest(index, kind, webhook.service_namespace, webhook.service_name, near)
            if doc is not None:
                found.append(doc)
    unique: dict[tuple[str | None, str | None, str | None], Document] = {}
    for doc in sorted(found, key=lambda d: proximity(near.file, d.file)):
        unique.setdefault((doc.kind, doc.ref.namespace, doc.ref.name), doc)
    return list(unique.values())


def _resources_text(resources: list[str]) -> str:
    return ", ".join(resources)


def _cel_note(excl: Exclusion) -> str:
    if not excl.cel_unknown:
        return ""
    return (
        " It also has matchConditions (CEL) that premortem does not evaluate: if they already skip these "
        "requests, this finding does not apply."
    )


def _exclusion_fix(webhook: Webhook, extra: list[str]) -> str:
    values = [KUBE_SYSTEM]
    if webhook.service_namespace and webhook.service_namespace not in values:
        values.append(webhook.service_namespace)
    values.extend(v for v in extra if v not in values)
    return _EXCLUSION_SNIPPET.format(values=", ".join(values))


_CREATE = frozenset({"CREATE"})
_CREATE_UPDATE = frozenset({"CREATE", "UPDATE"})


@cluster_rule(
    "ADM001",
    "webhook-fail-closed-on-kube-system-pods",
    "admission",
    Severity.HIGH,
    "Fail-closed webhook intercepts pod or workload creation in every namespace, kube-system included",
)
def webhook_fail_closed_everywhere(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Webhooks of Validating/MutatingWebhookConfigurations (admissionregistration.k8s.io/v1) whose
    `failurePolicy` is `Fail`, explicitly or by the v1 default, whose rules match CREATE of pods,
    pod subresources, Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs or CronJobs, and that
    do not exclude `kube-system`: neither the `namespaceSelector` (kube-system is only guaranteed to
    carry `kubernetes.io/metadata.name: kube-system`, plus labels of a Namespace object read), nor
    an opt-in `objectSelector`, nor a `matchConditions` expression that tests the namespace. Other
    CEL expressions are not evaluated: such a finding is downgraded to info and says so.

    ## Why it breaks clusters
    With `Fail`, every matching request is rejected when the API server cannot reach the backend or
    it does not answer within `timeoutSeconds`. Pods are created by controllers (ReplicaSet,
    DaemonSet, Job) through the same API: while the backend is down, no pod of any namespace can be
    created, including CoreDNS, the CNI agent, kube-proxy and the webhook's own replacement pods.
    A node failure that takes the backend down becomes a cluster-wide outage that nothing repairs.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: policy}
    webhooks:
      - name: pods.policy.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        clientConfig:
          service: {namespace: policy, name: policy-webhook}
        rules:
          - operations: [CREATE]
            apiGroups: [""]
            apiVersions: [v1]
            resources: [pods]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: policy}
    webhooks:
      - name: pods.policy.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        failurePolicy: Ignore
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: policy, name: policy-webhook}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, policy]}
        rules:
          - operations: [CREATE]
            apiGroups: [""]
            apiVersions: [v1]
            resources: [pods]
    ```

    ## Fix
    Exclude `kube-system` (and the webhook's own namespace) with a `namespaceSelector` on
    `kubernetes.io/metadata.name`, or use `failurePolicy: Ignore` if the webhook is not a security
    control.

    ## Source
    kubernetes/kubernetes pkg/apis/admissionregistration/v1/defaults.go (Fail, 10 s, `{}` selectors),
    pkg/apis/core/v1/defaults.go (`kubernetes.io/metadata.name`); K8s docs
    reference/access-authn-authz/extensible-admission-controllers.md ("Avoiding operating on the
    kube-system namespace", "Avoiding deadlocks in self-hosted webhooks").
    """
    for webhook in webhooks(ctx.index):
        if not webhook.fails_closed or webhook.problems:
            continue
        resources = webhook.intercepts(_CREATE, POD_CREATORS)
        if not resources:
            continue
        own = {id(w) for w in backends(webhook, ctx.index)}
        system_pods = [
            w for w in pods_in_namespace(KUBE_SYSTEM, ctx.index, webhook.config) if id(w) not in own
        ]
        labels = [template_labels(w) for w in system_pods] if system_pods else None
        excl = exclusion(webhook, KUBE_SYSTEM, ctx.index, labels)
        if excl.excluded:
            continue
        severity: Severity | None = None
        note = _cel_note(excl)
        if excl.cel_unknown:
            severity = Severity.INFO
        elif excl.partial and system_pods and webhook.object_selector is not None:
            caught = [w for w in system_pods if webhook.object_selector.matches(template_labels(w))]
            names = ", ".join(f"{w.kind} {w.ref.name}" for w in caught[:3])
            note = f" Its objectSelector lets these kube-system pods through to it: {names}."
        elif excl.partial:
            severity = Severity.LOW
            note = (
                " Its objectSelector skips pods carrying certain labels; kube-system pods without them "
                "(none were in the files read to check) are intercepted."
            )
        if "pods" in resources and excl.partial:
            consequence = (
                "no pod without the labels its objectSelector skips can be created, in any namespace"
            )
        elif "pods" in resources:
            consequence = (
                "no pod of any namespace can be created (CoreDNS, the CNI agent and kube-proxy included)"
            )
        elif all(r.startswith("pods/") or r == "*/*" for r in resources):
            consequence = (
                "pods/binding and pods/eviction requests fail: the scheduler cannot bind and drains stop"
            )
        else:
            consequence = f"no {_resources_text(resources)} can be created in any namespace"
        blocked_fix = ""
        if {"pods", "deployments", "replicasets"} & set(resources):
            blocked_fix = ", and a repaired backend cannot be deployed either"
        yield Hit(
            message=(
                f"{webhook.label} intercepts CREATE of {_resources_text(resources)} in every namespace, "
                f"kube-system included, with {webhook.policy_text}: whenever {webhook.backend} is down or slower "
                f"than {webhook.timeout}s, {consequence}{blocked_fix}." + note
            ),
            fix=f"Exclude kube-system and the webhook's namespace: {_exclusion_fix(webhook, [])}; or set "
            "failurePolicy: Ignore if this webhook is not a security control.",
            path=webhook.field_path("failurePolicy"),
            severity=severity,
            doc=webhook.config,
        )


@cluster_rule(
    "ADM002",
    "webhook-self-lockout",
    "admission",
    Severity.CRITICAL,
    "Fail-closed webhook intercepts the pods of its own backend: a dead backend never comes back",
)
def webhook_self_lockout(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Fail-closed webhooks (explicit or v1 default) served by an in-cluster Service whose namespace is
    not excluded by the `namespaceSelector`, whose `objectSelector` matches the backend's pods (the
    pod template labels of the Deployment behind the Service when it is in the files read; an empty
    objectSelector otherwise), and whose rules match CREATE of pods (critical) or CREATE/UPDATE of
    the backend's own workload kind (high: the backend restarts, but no fix can be rolled out).
    `matchConditions` that visibly test the namespace count as an exclusion; other CEL is not
    evaluated and downgrades the finding to info.

    ## Why it breaks clusters
    When the backend's pods die (node failure, eviction, OOM kill, a bad rollout), the ReplicaSet
    controller asks the API server to create replacements. That request must pass the webhook, whose
    backend is the pod being replaced: the call fails, `Fail` rejects the pod, and the backend can
    never come back by itself. Everything else the webhook covers stays blocked until someone
    deletes the webhook configuration by hand.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: MutatingWebhookConfiguration
    metadata: {name: injector}
    webhooks:
      - name: inject.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: injector, name: injector}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}
        rules:
          - operations: [CREATE]
            apiGroups: [""]
            apiVersions: [v1]
            resources: [pods]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: MutatingWebhookConfiguration
    metadata: {name: injector}
    webhooks:
      - name: inject.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: injector, name: injector}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, injector]}
        rules:
          - operations: [CREATE]
            apiGroups: [""]
            apiVersions: [v1]
            resources: [pods]
    ```

    ## Fix
    Exclude the webhook's own namespace with its `namespaceSelector` (`kubernetes.io/metadata.name
    NotIn [<namespace>]`), as the Kubernetes documentation recommends for self-hosted webhooks.

    ## Source
    K8s docs reference/access-authn-authz/extensible-admission-controllers.md ("Avoiding deadlocks in
    self-hosted webhooks"); kubernetes/kubernetes pkg/apis/admissionregistration/v1/defaults.go.
    """
    for webhook in webhooks(ctx.index):
        if not webhook.fails_closed or webhook.problems or not webhook.service_namespace:
            continue
        own = webhook.service_namespace
        serving = backends(webhook, ctx.index)
        pod_labels: list[dict[str, str]] | None = None
        if serving:
            pod_labels = [template_labels(w) for w in serving]
        elif webhook.object_selector is not None and not webhook.object_selector.is_empty:
            continue  # backend pods unknown and an objectSelector they may dodge: no guess
        excl = exclusion(webhook, own, ctx.index, pod_labels)
        if excl.excluded:
            continue
        pods = webhook.intercepts(_CREATE, (("", "pods"),))
        if "pods" in pods:
            severity = None
            blocked = "the replacement pods of its own backend"
            what = "CREATE of pods"
        else:
            kinds = tuple(_KIND_RESOURCE[w.kind] for w in serving if w.kind in _KIND_RESOURCE)
            workload_resources = webhook.intercepts(_CREATE_UPDATE, kinds)
            if not workload_resources:
                continue
            severity = Severity.HIGH
            blocked = f"changes to its own backend's {_resources_text(workload_resources)} (a fixed backend cannot be rolled out)"
            what = f"CREATE/UPDATE of {_resources_text(workload_resources)}"
        if excl.cel_unknown:
            severity = Severity.INFO
        backend_names = ", ".join(f"{w.kind} {w.ref.name}" for w in serving) or webhook.backend
        yield Hit(
            message=(
                f"{webhook.label} intercepts {what} in its own namespace {own} with {webhook.policy_text}: when "
                f"its backend ({backend_names}) goes down, the API server must call the dead backend to admit "
                f"{blocked}, rejects them, and the webhook never recovers by itself; everything else it covers "
                "stays blocked until someone deletes the configuration by hand." + _cel_note(excl)
            ),
            fix=f"Exclude the webhook's own namespace: {_exclusion_fix(webhook, [])}.",
            path=webhook.field_path("namespaceSelector"),
            severity=severity,
            doc=webhook.config,
        )


@cluster_rule(
    "ADM003",
    "webhook-timeout-too-long",
    "admission",
    Severity.MEDIUM,
    "Webhook timeout above 5 seconds (the v1 default is 10)",
    params={
        "max_timeout_seconds": Param(MAX_TIMEOUT, "longest timeoutSeconds accepted without a finding"),
        "medium_seconds": Param(
            15, "a fail-closed webhook timing out after at least this many seconds is medium (below: low)"
        ),
    },
)
def webhook_timeout_too_long(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Webhooks whose `timeoutSeconds` is above 5, including those that leave it unset (v1 default
    10 s; the removed v1beta1 default was 30 s). One finding per configuration, listing its
    webhooks. The severity scales with how long a hung backend holds each request and what happens
    then: a fail-closed webhook waiting `medium_seconds` (15) or more is `medium`, one waiting less
    (the v1 default of 10 s included) is `low`; a fail-open webhook is one step lower (`low` from
    15 s, `info` below), since the request goes through in the end.

    ## Why it breaks clusters
    A backend that is up but hung (CPU-throttled, blocked on a lock, a dead node whose endpoints
    were not yet removed) holds every matching API request for the full timeout. Controllers make
    these requests one after another: a ReplicaSet scaling up, a Job controller, a rollout each wait
    the timeout per object, so recovery slows down exactly when it is needed, and clients with short
    deadlines (kubectl, CI pipelines, other webhooks in the chain) fail. With `Fail` the request is
    rejected at the end of the wait.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ```

    ## Fix
    Set `timeoutSeconds` to 5 or less (a healthy webhook answers in milliseconds).

    ## Source
    kubernetes/api admissionregistration/v1/types.go (timeoutSeconds default 10, 1-30),
    admissionregistration/v1beta1/types.go (30); K8s docs
    reference/access-authn-authz/extensible-admission-controllers.md ("Timeouts").
    """
    by_config: dict[int, list[Webhook]] = {}
    for webhook in webhooks(ctx.index):
        if webhook.timeout > webhook_timeout_too_long.param("max_timeout_seconds"):
            by_config.setdefault(id(webhook.config), []).append(webhook)
    long_wait = webhook_timeout_too_long.param("medium_seconds")
    for slow in by_config.values():
        first = slow[0]
        closed = [w for w in slow if w.fails_closed]
        names = ", ".join(
            f"{w.name} ({w.timeout}s{'' if w.timeout_explicit else ' by default'}, {w.failure_policy})"
            for w in slow
        )
        outcome = (
            "then rejects it (failurePolicy Fail)"
            if len(closed) == len(slow)
            else "then rejects it where failurePolicy is Fail and lets it through where it is Ignore"
            if closed
            else "then lets it through (failurePolicy Ignore)"
        )
        severity = max(_timeout_severity(w, long_wait) for w in slow)
        yield Hit(
            message=(
                f"{first.config.kind} {first.config.ref.name or '<unnamed>'}: {names}. A hung backend holds every "
                f"matching API request for the full timeout and {outcome}; controllers creating objects one after "
                "another slow to a crawl during the very outage they should repair."
            ),
            fix=f"Set timeoutSeconds: {webhook_timeout_too_long.param('max_timeout_seconds')} or less on each webhook.",
            path=first.field_path("timeoutSeconds"),
            severity=severity,
            doc=first.config,
            extra={"timeouts": {w.name: w.timeout for w in slow}},
        )


def _timeout_severity(webhook: Webhook, long_wait: int) -> Severity:
    """medium for a long fail-closed wait, low for a shorter one; one step lower when failing open."""
    closed = Severity.MEDIUM if webhook.timeout >= long_wait else Severity.LOW
    return closed if webhook.fails_closed else Severity(closed - 1)


@cluster_rule(
    "ADM004",
    "webhook-wildcard-fail-closed",
    "admission",
    Severity.HIGH,
    "Fail-closed webhook with wildcard rules",
)
def webhook_wildcard_fail_closed(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Fail-closed webhooks (explicit or v1 default) with a rule whose `resources` is `*` or `*/*`
    (every resource of the listed API groups, `*` meaning all groups), unless an opt-in
    `objectSelector` limits it to labelled objects.

    ## Why it breaks clusters
    A wildcard rule puts the webhook in front of objects nobody thought about: Leases (node
    heartbeats and leader election in kube-node-lease and kube-system), Nodes, Namespaces, Events,
    Endpoints, CRDs. `namespaceSelector` never skips cluster-scoped objects. When the backend is
    down, `Fail` rejects them all: controllers lose leader election, kubelets cannot renew their
    Lease and nodes turn NotReady, and the control plane cannot repair anything, including the
    webhook's own backend.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: audit}
    webhooks:
      - name: everything.audit.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: audit, name: audit}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, audit]}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: ["*"]
            apiVersions: ["*"]
            resources: ["*"]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: audit}
    webhooks:
      - name: everything.audit.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        failurePolicy: Ignore
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: audit, name: audit}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, audit]}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: ["*"]
            apiVersions: ["*"]
            resources: ["*"]
    ```

    ## Fix
    List the API groups and resources the webhook actually needs, or use `failurePolicy: Ignore`.

    ## Source
    kubernetes/api admissionregistration/v1/types.go (Rule, namespaceSelector and cluster-scoped
    objects); K8s docs reference/access-authn-authz/extensible-admission-controllers.md.
    """
    for webhook in webhooks(ctx.index):
        if not webhook.fails_closed or webhook.problems:
            continue
        wild = webhook.wildcard_rules()
        if not wild:
            continue
        if webhook.object_selector is not None and not webhook.object_selector.matches({}):
            continue  # opt-in by object label: only labelled objects are sent
        groups = {str(g) for rule in webhook.rules for g in _as_list(rule.get("apiGroups"))}
        if "*" in groups:
            leases = ""
            updates = any(
                {"UPDATE", "*"} & {str(o) for o in _as_list(rule.get("operations"))} for rule in webhook.rules
            )
            if updates and not exclusion(webhook, "kube-node-lease", ctx.index, None).excluded:
                leases = "the kubelets' heartbeat Leases in kube-node-lease (nodes turn NotReady), "
            reach = (
                f"every resource of every API group: {leases}Nodes, Namespaces and CRDs included, and "
                "namespaceSelector never skips cluster-scoped objects"
            )
        elif "" in groups:
            reach = (
                "every core resource: Nodes and Namespaces (cluster-scoped, never skipped by namespaceSelector), "
                "Endpoints, ConfigMaps, Secrets and Services included"
            )
        else:
            reach = "every resource of those Kubernetes API groups"
        own_backend = ""
        if (
            webhook.service_namespace
            and not exclusion(webhook, webhook.service_namespace, ctx.index, None).excluded
        ):
            own_backend = ", its own backend included"
        yield Hit(
            message=(
                f"{webhook.label} has wildcard rules ({'; '.join(wild)}) with {webhook.policy_text}: when "
                f"{webhook.backend} is down, the API server rejects matching requests for {reach}; the control "
                f"plane cannot repair anything the webhook covers{own_backend}."
            ),
            fix="List only the apiGroups and resources the webhook needs, or set failurePolicy: Ignore.",
            path=(*webhook.path, "rules"),
            doc=webhook.config,
        )


@cluster_rule(
    "ADM005",
    "webhook-side-effects",
    "admission",
    Severity.LOW,
    "Webhook sideEffects other than None or NoneOnDryRun",
)
def webhook_side_effects(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Webhooks whose `sideEffects` is missing or is not `None` / `NoneOnDryRun`. In a v1
    configuration the object is refused, so the finding is `high`; in the removed v1beta1 API it is
    the rule's `low` (dry runs fail).

    ## Why it breaks clusters
    In admissionregistration.k8s.io/v1 `sideEffects` is required and only `None` and `NoneOnDryRun`
    are accepted: the API server rejects the whole configuration, so `kubectl apply` fails and the
    webhook is not installed. In the removed v1beta1 API the default was `Unknown`, and every
    dry-run request the webhook matches (`kubectl diff`, `kubectl apply --dry-run=server`) is
    rejected.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: Some
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ```

    ## Fix
    Make the webhook free of side effects and declare `sideEffects: None` (or `NoneOnDryRun` if it
    skips its side effects on dry-run requests).

    ## Source
    kubernetes/api admissionregistration/v1/types.go (SideEffectClass, required), v1beta1/types.go
    (default Unknown); kubernetes/kubernetes pkg/apis/admissionregistration/validation/validation.go.
    """
    for webhook in webhooks(ctx.index):
        value = webhook.data.get("sideEffects")
        if value in ("None", "NoneOnDryRun"):
            continue
        if webhook.v1:
            what = "has no sideEffects" if value is None else f"declares sideEffects {value}"
            consequence = (
                "admissionregistration.k8s.io/v1 requires None or NoneOnDryRun: the API server rejects this "
                "configuration and kubectl apply fails, so the webhook is not installed"
            )
        else:
            what = f"declares sideEffects {value if value is not None else 'Unknown (the v1beta1 default)'}"
            consequence = (
                "every dry-run request it matches (kubectl diff, apply --dry-run=server) is rejected, and the "
                "v1beta1 API it uses was removed in Kubernetes v1.22"
            )
        yield Hit(
            message=f"{webhook.label} {what}: {consequence}.",
            fix="Declare sideEffects: None (or NoneOnDryRun) once the webhook has no side effects on dry runs.",
            path=webhook.field_path("sideEffects"),
            doc=webhook.config,
            severity=Severity.HIGH if webhook.v1 else None,  # v1: the API server refuses the object
        )


@cluster_rule(
    "ADM006",
    "webhook-single-replica-backend",
    "admission",
    Severity.MEDIUM,
    "Fail-closed webhook served by a single replica",
)
def webhook_single_replica_backend(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Fail-closed webhooks (explicit or v1 default) whose backend workload is in the files read (the
    Deployment, StatefulSet or DaemonSet behind `clientConfig.service`, found through the Service's
    selector or by name) and runs one replica in all (an HPA's `minReplicas` counts as the worst
    case). The Service and its workloads are looked up in the Service's namespace and in the webhook
    configuration's input unit only (the same file, or the same directory tree: see
    model/units.py), so a Deployment of another project with the same labels is never taken for the
    backend. A DaemonSet backend runs one pod per node: no single pod's loss stops the webhook, so
    it is not a finding.

    ## Why it breaks clusters
    Every restart of that one pod — a node drain, an eviction, an OOM kill, a rollout, a node
    failure — leaves the webhook without a backend, and with `Fail` the API server rejects every
    request the webhook matches until a replacement pod is Ready. A single replica cannot carry a
    PodDisruptionBudget that allows drains without downtime, nor spread across nodes.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: certs-webhook, namespace: certs}
    spec:
      selector: {app: certs-webhook}
      ports: [{port: 443, targetPort: 8443}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: certs-webhook, namespace: certs}
    spec:
      replicas: 1
      selector: {matchLabels: {app: certs-webhook}}
      template:
        metadata: {labels: {app: certs-webhook}}
        spec:
          containers: [{name: webhook, image: registry.example.com/certs-webhook:1.2.0}]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: certs}
    webhooks:
      - name: certs.example.com
        admissionReviewVersions: [v1]
        sideEffects: None
        timeoutSeconds: 3
        clientConfig:
          service: {namespace: certs, name: certs-webhook}
        rules:
          - operations: [CREATE]
            apiGroups: [certs.example.com]
            apiVersions: [v1]
            resources: [certificates]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: certs-webhook, namespace: certs}
    spec:
      selector: {app: certs-webhook}
      ports: [{port: 443, targetPort: 8443}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: certs-webhook, namespace: certs}
    spec:
      replicas: 2
      selector: {matchLabels: {app: certs-webhook}}
      template:
        metadata: {labels: {app: certs-webhook}}
        spec:
          containers: [{name: webhook, image: registry.example.com/certs-webhook:1.2.0}]
    ```

    ## Fix
    Run at least 2 replicas spread across nodes (topologySpreadConstraints or pod anti-affinity) with
    a PodDisruptionBudget of `maxUnavailable: 1`, or use `failurePolicy: Ignore`.

    ## Source
    K8s docs reference/access-authn-authz/extensible-admission-controllers.md (HA backends);
    kubernetes/kubernetes pkg/apis/admissionregistration/v1/defaults.go (failurePolicy Fail).
    """
    seen: set[tuple[int, int]] = set()
    for webhook in webhooks(ctx.index):
        if not webhook.fails_closed:
            continue
        serving = backends(webhook, ctx.index)
        if not serving or any(w.kind == "DaemonSet" for w in serving):
            continue  # unknown, or one pod per node: no single pod whose loss stops the webhook
        counts = [effective_replicas(w, ctx.index) for w in serving]
        if any(c is None for c in counts) or sum(c or 0 for c in counts) != 1:
            continue
        backend = next(w for w, c in zip(serving, counts, strict=True) if c == 1)
        key = (id(webhook.config), id(backend))
        if key in seen:
            continue
        seen.add(key)
        yield Hit(
            message=(
                f"{webhook.label} fails closed ({webhook.policy_text}) and its backend {backend.kind} "
                f"{backend.ref.name} ({backend.file}:{backend.line}) runs 1 replica: every drain, eviction, "
                "OOM kill or rollout of that pod makes the API server reject every request the webhook "
                "matches until a new pod is Ready."
            ),
            fix="Run 2+ replicas spread across nodes with a PodDisruptionBudget (maxUnavailable: 1), "
            "or use failurePolicy: Ignore.",
            path=webhook.field_path("failurePolicy"),
            doc=webhook.config,
            extra={"backend": f"{backend.kind}/{backend.ref.name}"},
        )
