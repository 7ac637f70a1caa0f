"""Admission webhooks on the control plane's heartbeats: node Leases, leader-election Leases, node status.

Even a webhook that fails open (``failurePolicy: Ignore``) holds every request it intercepts until its
backend answers or ``timeoutSeconds`` passes; on the heartbeat path, that wait alone is an outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from premortem.findings import Severity
from premortem.rules.admission import KUBE_SYSTEM, Webhook, exclusion, webhooks
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule

NODE_LEASES = "kube-node-lease"
# client-go leader election as kube-controller-manager and kube-scheduler run it: the leader must
# renew its Lease within --leader-elect-renew-deadline (default 10 s) or it gives up and exits.
RENEW_DEADLINE = 10


NODE_GRACE = 40  # node-monitor-grace-period: a node Lease older than this makes the node NotReady
NODE_RENEW = 10  # the kubelet renews its Lease every 10 s (a quarter of its 40 s duration)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    what: str  # how the message names it
    outage_at: int  # a fail-open wait of this many seconds or more breaks it
    refused: str  # what happens when its writes are refused (fail-closed)
    slowed: str  # what a wait of {t} s does, at or above outage_at
    tolerated: str  # what a wait of {t} s does below outage_at

    def consequence(self, fails_closed: bool, timeout: int) -> str:
        if fails_closed:
            return self.refused
        return (self.slowed if timeout >= self.outage_at else self.tolerated).format(t=timeout)


NODE_LEASE_BEAT = Heartbeat(
    "the kubelets' node Leases (kube-node-lease)",
    NODE_GRACE - NODE_RENEW,
    f"a node whose Lease is not renewed for {NODE_GRACE} s is marked NotReady and tainted, and its pods are "
    "evicted 5 minutes later",
    f"each kubelet renews only every {NODE_RENEW} + {{t}} s, at or past the {NODE_GRACE} s grace period: nodes "
    "flap NotReady and their pods are evicted 5 minutes later",
    f"each renewal takes up to {{t}} s longer (inside the {NODE_GRACE} s grace period), and every node's "
    f"renewal, every {NODE_RENEW} s, goes through the webhook",
)
LEADER_LEASE_BEAT = Heartbeat(
    "the leader-election Leases of kube-controller-manager and kube-scheduler (kube-system)",
    RENEW_DEADLINE,
    f"a leader that cannot renew within its {RENEW_DEADLINE} s deadline exits: controllers and scheduling stop "
    "and restart over and over",
    f"a renewal that waits {{t}} s uses up the {RENEW_DEADLINE} s renew deadline: kube-controller-manager and "
    "kube-scheduler lose leadership and exit, over and over",
    f"each renewal takes up to {{t}} s longer, inside the {RENEW_DEADLINE} s renew deadline",
)
NODE_STATUS_BEAT = Heartbeat(
    "every kubelet's node status updates (nodes/status, never skipped by namespaceSelector)",
    NODE_GRACE,
    "node conditions and capacity stop being reported: the scheduler and the node controller work from stale "
    "node status",
    "node status updates wait {t} s each: node conditions reach the scheduler late",
    "node status updates wait up to {t} s each",
)


def _values(rule: dict[str, Any], key: str) -> set[str]:
    value = rule.get(key)
    items = value if isinstance(value, list) else [] if value is None else [value]
    return {str(v) for v in items}


def _matches(webhook: Webhook, group: str, resources: frozenset[str], namespaced: bool) -> bool:
    """Does a rule send UPDATE requests for one of ``resources`` (subresources spelled out) in ``group``?"""
    for rule in webhook.rules:
        if not {"UPDATE", "*"} & _values(rule, "operations"):
            continue
        scope = rule.get("scope")
        if scope == ("Cluster" if namespaced else "Namespaced"):
            continue
        if not {group, "*"} & _values(rule, "apiGroups"):
            continue
        if _values(rule, "resources") & resources:
            return True
    return False


_LEASES = frozenset({"leases", "*", "*/*"})
_NODE_STATUS = frozenset({"nodes/status", "nodes/*", "*/status", "*/*"})


def heartbeats_intercepted(webhook: Webhook, ctx: ClusterContext) -> tuple[list[Heartbeat], bool]:
    """The heartbeats ``webhook`` sits on, and whether matchConditions premortem cannot read may skip them."""
    found: list[Heartbeat] = []
    unknown = False
    if _matches(webhook, "coordination.k8s.io", _LEASES, namespaced=True):
        for namespace, beat in ((NODE_LEASES, NODE_LEASE_BEAT), (KUBE_SYSTEM, LEADER_LEASE_BEAT)):
            excl = exclusion(webhook, namespace, ctx.index, None)
            if not excl.excluded:
                found.append(beat)
                unknown = unknown or excl.cel_unknown
    object_selector = webhook.object_selector
    node_labels_unknown = object_selector is not None and not object_selector.is_empty
    if not node_labels_unknown and _matches(webhook, "", _NODE_STATUS, namespaced=False):
        found.append(NODE_STATUS_BEAT)
        unknown = unknown or bool(webhook.match_conditions)
    return found, unknown


def _sentence(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}."


def _adm004_reports(webhook: Webhook) -> bool:
    """ADM004 (fail-closed wildcard rules) already reports this webhook with the same consequence."""
    selector = webhook.object_selector
    return (
        webhook.fails_closed
        and not webhook.problems
        and bool(webhook.wildcard_rules())
        and not (selector is not None and not selector.matches({}))
    )


@cluster_rule(
    "ADM007",
    "webhook-on-heartbeats",
    "admission",
    Severity.HIGH,
    "Webhook intercepts node or leader-election Leases (or node status): even failing open, it delays heartbeats",
    params={
        "slow_seconds": Param(5, "a fail-open webhook's timeoutSeconds at or above this delays heartbeats"),
    },
)
def webhook_on_heartbeats(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Validating and mutating webhooks whose rules send UPDATE requests for `leases`
    (`coordination.k8s.io`, by name or by `*`) in `kube-node-lease` or `kube-system`, or for
    `nodes/status` (`nodes/*`, `*/*`), whatever their `failurePolicy`. A `namespaceSelector`,
    `objectSelector` or readable `matchConditions` that skips those namespaces is an exclusion;
    `nodes/status` counts only without an `objectSelector` (Nodes carry labels premortem cannot see).
    Severity: `high` when the webhook fails closed, or fails open after a `timeoutSeconds` that uses
    up a heartbeat's deadline (10 s, the v1 default, for leader-election Leases; 30 s for node
    Leases); `medium` from 5 s; `low` below (every heartbeat still goes through the webhook); one
    level lower when `matchConditions` may skip the request.
    Fail-closed webhooks with wildcard rules are ADM004's and are not reported twice.

    ## Why it breaks clusters
    The API server calls every matching webhook before it writes, and waits for the answer up to
    `timeoutSeconds`. `failurePolicy: Ignore` only decides what happens after the wait: the request
    goes through, late. The heartbeats of the control plane are writes on a schedule:
    - each kubelet renews its Lease in `kube-node-lease` every 10 s; when renewals stop arriving for
      about 40 s the node controller marks the node NotReady, taints it, and 5 minutes later the
      taint-based eviction removes its pods;
    - kube-controller-manager and kube-scheduler renew their leader-election Lease in `kube-system`
      and give up leadership (the process exits) when a renewal does not succeed within 10 s.
    When the webhook's backend hangs or is unreachable (its node is being upgraded, a network policy
    drops the traffic, the pod is overloaded), every heartbeat waits the full timeout. With the
    default 10 s, a leader's renewal uses up its whole renew deadline and kube-controller-manager and
    kube-scheduler lose leadership in a loop; at 30 s node Leases are renewed only every 40 s and
    nodes go NotReady; with a fail-closed policy the renewals are refused outright. Below that the
    heartbeats only slow down, but every node's renewal every 10 s still goes through the webhook.
    A cluster upgrade that replaces the node running the webhook is exactly when this happens.

    ## Failing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: audit-everything}
    webhooks:
      - name: audit.example.com
        failurePolicy: Ignore
        sideEffects: None
        admissionReviewVersions: [v1]
        clientConfig: {service: {name: audit, namespace: audit}}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: [coordination.k8s.io]
            apiVersions: [v1]
            resources: [leases]
    ```

    ## Passing example
    ```yaml
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingWebhookConfiguration
    metadata: {name: audit-everything}
    webhooks:
      - name: audit.example.com
        failurePolicy: Ignore
        sideEffects: None
        admissionReviewVersions: [v1]
        clientConfig: {service: {name: audit, namespace: audit}}
        namespaceSelector:
          matchExpressions:
            - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, kube-node-lease]}
        rules:
          - operations: [CREATE, UPDATE]
            apiGroups: [coordination.k8s.io]
            apiVersions: [v1]
            resources: [leases]
    ```

    ## Fix
    Exclude the heartbeat namespaces:
    `namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values:
    [kube-system, kube-node-lease]}]}`, drop `leases` and `nodes/status` from the rules (list the
    resources the webhook needs instead of `*`), and keep `timeoutSeconds` at a few seconds.

    ## Source
    K8s docs reference/access-authn-authz/extensible-admission-controllers.md ("Avoiding operating on
    the kube-system namespace", timeouts, failure policy), concepts/architecture/leases.md (node
    heartbeats, leader election), concepts/architecture/nodes.md (node heartbeats, 40 s
    node-monitor-grace-period), concepts/scheduling-eviction/taint-and-toleration.md (taint-based
    evictions, 300 s default toleration); kubernetes/kubernetes staging/src/k8s.io/client-go/tools/
    leaderelection/leaderelection.go (RenewDeadline), cmd/kube-controller-manager options
    (--leader-elect-renew-deadline 10 s).
    """
    slow = int(webhook_on_heartbeats.param("slow_seconds"))
    for webhook in webhooks(ctx.index):
        if webhook.problems or _adm004_reports(webhook):
            continue
        beats, unknown = heartbeats_intercepted(webhook, ctx)
        if not beats:
            continue
        if webhook.fails_closed:
            how = (
                f"with {webhook.policy_text} the API server refuses these writes whenever {webhook.backend} is down "
                f"or slower than {webhook.timeout} s"
            )
            severity = Severity.HIGH
        else:
            how = (
                f"even with {webhook.policy_text} every one of these writes waits up to {webhook.timeout} s "
                f"(timeoutSeconds) whenever {webhook.backend} hangs or cannot be reached"
            )
            if any(webhook.timeout >= b.outage_at for b in beats):
                severity = Severity.HIGH
            else:
                severity = Severity.MEDIUM if webhook.timeout >= slow else Severity.LOW
        note = ""
        if unknown:
            severity = Severity(max(int(severity) - 1, int(Severity.LOW)))
            note = " (its matchConditions may skip some of these requests; premortem cannot evaluate CEL)"
        yield Hit(
            message=(
                f"{webhook.label} intercepts {'; '.join(b.what for b in beats)}{note}: {how}. "
                + " ".join(_sentence(b.consequence(webhook.fails_closed, webhook.timeout)) for b in beats)
            ),
            fix=(
                "Add namespaceSelector {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, "
                "values: [kube-system, kube-node-lease]}]}, and list only the resources the webhook needs "
                "(no leases, no nodes/status, no *)."
            ),
            path=(*webhook.path, "rules"),
            severity=severity,
            doc=webhook.config,
            extra={"timeout_seconds": webhook.timeout, "failure_policy": webhook.failure_policy},
        )
