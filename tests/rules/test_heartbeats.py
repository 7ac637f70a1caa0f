"""ADM007: webhooks on the control plane's heartbeats (Leases, node status), even failing open."""

from __future__ import annotations

import pytest

from conftest import scan_yaml

HEAD = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: hook}
webhooks:
  - name: hook.example.com
    sideEffects: None
    admissionReviewVersions: [v1]
    clientConfig: {service: {name: hook, namespace: hooks}}
"""


def adm(body: str, rule: str = "ADM007"):
    return [f for f in scan_yaml(HEAD + body).findings if f.rule == rule]


LEASES = "    rules: [{operations: [UPDATE], apiGroups: [coordination.k8s.io], apiVersions: [v1], resources: [leases]}]\n"


@pytest.mark.parametrize(
    ("extra", "severity"),
    [
        ("    failurePolicy: Ignore\n", "high"),  # default 10 s = the leader renew deadline
        ("    failurePolicy: Ignore\n    timeoutSeconds: 7\n", "medium"),
        ("    failurePolicy: Ignore\n    timeoutSeconds: 2\n", "low"),
        ("    failurePolicy: Fail\n    timeoutSeconds: 2\n", "high"),  # renewals refused outright
    ],
)
def test_severity_follows_policy_and_timeout(extra, severity):
    [f] = adm(extra + LEASES)
    assert f.severity.label == severity
    assert "kube-node-lease" in f.message and "kube-system" in f.message
    assert f.path == "/webhooks/0/rules"


def test_messages_say_what_the_wait_does():
    [slow] = adm("    failurePolicy: Ignore\n" + LEASES)
    assert "uses up the 10 s renew deadline" in slow.message
    [quick] = adm("    failurePolicy: Ignore\n    timeoutSeconds: 2\n" + LEASES)
    assert "inside the 10 s renew deadline" in quick.message and "NotReady" not in quick.message


def test_namespace_exclusions_and_other_resources():
    exclude_both = (
        "    namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, "
        "values: [kube-system, kube-node-lease]}]}\n"
    )
    assert not adm("    failurePolicy: Ignore\n" + exclude_both + LEASES)
    only_system = (
        "    namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, "
        "values: [kube-system]}]}\n"
    )
    [f] = adm("    failurePolicy: Ignore\n" + only_system + LEASES)
    assert "kube-node-lease" in f.message and "leader-election" not in f.message
    assert f.severity.label == "medium"  # node Leases break only at 30 s
    pods = "    rules: [{operations: [CREATE], apiGroups: [''], apiVersions: [v1], resources: [pods]}]\n"
    assert not adm("    failurePolicy: Ignore\n" + pods)
    create_only = LEASES.replace("[UPDATE]", "[CREATE]")
    assert not adm("    failurePolicy: Ignore\n" + create_only)


def test_node_status_needs_the_subresource():
    nodes = "    rules: [{operations: ['*'], apiGroups: [''], apiVersions: [v1], resources: [RES]}]\n"
    assert not adm("    failurePolicy: Ignore\n" + nodes.replace("RES", "nodes"))
    [f] = adm("    failurePolicy: Ignore\n" + nodes.replace("RES", "nodes/status"))
    assert "nodes/status" in f.message
    # an objectSelector on Nodes: which nodes it matches is not known
    labelled = "    objectSelector: {matchLabels: {audit: 'true'}}\n"
    assert not adm("    failurePolicy: Ignore\n" + labelled + nodes.replace("RES", "nodes/status"))


def test_wildcards_match_leases_and_fail_closed_wildcards_stay_adm004s():
    wild = "    rules: [{operations: [CREATE, UPDATE], apiGroups: ['*'], apiVersions: ['*'], resources: ['*']}]\n"
    [f] = adm("    failurePolicy: Ignore\n    timeoutSeconds: 3\n" + wild)
    assert f.severity.label == "low"
    assert not adm("    failurePolicy: Fail\n" + wild)
    assert adm("    failurePolicy: Fail\n" + wild, rule="ADM004")


def test_unknown_match_conditions_lower_the_severity():
    cel = "    matchConditions: [{name: skip, expression: 'request.userInfo.username != \"x\"'}]\n"
    [f] = adm("    failurePolicy: Ignore\n" + cel + LEASES)
    assert f.severity.label == "medium" and "matchConditions" in f.message
