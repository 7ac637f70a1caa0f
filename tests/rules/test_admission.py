"""Admission webhook rules: v1 defaults, selector exclusions, backends."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import scan_yaml

KEYS = (
    "name",
    "failurePolicy",
    "timeoutSeconds",
    "sideEffects",
    "namespaceSelector",
    "objectSelector",
    "rules",
    "clientConfig",
    "service",
    "namespace",
    "matchConditions",
    "expression",
    "operations",
    "apiGroups",
    "resources",
    "scope",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "selector",
    "minAvailable",
    "maxUnavailable",
    "unhealthyPodEvictionPolicy",
    "scaleTargetRef",
    "kind",
    "minReplicas",
)


def webhook(
    extra: str = "",
    resources: str = "[pods]",
    groups: str = '[""]',
    operations: str = "[CREATE]",
    kind: str = "MutatingWebhookConfiguration",
    namespace: str = "hooks",
) -> str:
    return f"""
apiVersion: admissionregistration.k8s.io/v1
kind: {kind}
metadata: {{name: hook}}
webhooks:
  - name: hook.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    clientConfig:
      service: {{namespace: {namespace}, name: hook}}
    rules:
      - operations: {operations}
        apiGroups: {groups}
        apiVersions: ["*"]
        resources: {resources}
{extra}"""


def backend(replicas: int = 1, labels: str = "{app: hook}", namespace: str = "hooks") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: hook, namespace: {namespace}}}
spec:
  selector: {labels}
  ports: [{{port: 443}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hook-server, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {labels}}}
  template:
    metadata: {{labels: {labels}}}
    spec:
      containers: [{{name: hook, image: registry.example.com/hook:1.0.0}}]
"""


EXCLUDE_BOTH = """    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, hooks]}
"""


def found(*docs: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in scan_yaml("---".join(docs)).findings:
        if f.category == "admission":
            out.setdefault(f.rule, []).append(f)
    return out


def test_v1_defaults_fail_closed_everywhere():
    rules = found(webhook())
    (adm001,) = rules["ADM001"]
    assert adm001.severity.label == "high" and "the v1 default" in adm001.message
    assert "kube-system" in adm001.fix and "hooks" in adm001.fix
    (adm002,) = rules["ADM002"]
    assert adm002.severity.label == "critical"
    (adm003,) = rules["ADM003"]
    # issue 14: the v1 default of 10 s is low; an explicit 30 s is medium (tests/rules/test_precision_admission.py)
    assert adm003.severity.label == "low" and "10s by default" in adm003.message


def test_fail_open_short_timeout_with_exclusions_is_clean():
    extra = "    failurePolicy: Ignore\n    timeoutSeconds: 3\n" + EXCLUDE_BOTH
    assert found(webhook(extra), backend(replicas=1)) == {}


def test_v1beta1_defaults_are_ignore_and_thirty_seconds():
    doc = webhook().replace("admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1")
    rules = found(doc)
    assert "ADM001" not in rules and "ADM002" not in rules
    (adm003,) = rules["ADM003"]
    assert adm003.severity.label == "low" and "30s" in adm003.message


def test_opt_in_namespace_selector_excludes_kube_system():
    extra = "    namespaceSelector: {matchLabels: {injection: enabled}}\n"
    assert "ADM001" not in found(webhook(extra))


def test_opt_in_namespace_selector_with_labelled_kube_system_namespace():
    extra = "    namespaceSelector: {matchLabels: {injection: enabled}}\n"
    ns = "\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, labels: {injection: enabled}}\n"
    assert "ADM001" in found(webhook(extra), ns)


def test_opt_out_label_on_namespace_object_excludes_own_namespace():
    extra = (
        "    namespaceSelector:\n      matchExpressions:\n"
        "        - {key: hooks.example.com/ignore, operator: DoesNotExist}\n"
    )
    ns = "\napiVersion: v1\nkind: Namespace\nmetadata: {name: hooks, labels: {hooks.example.com/ignore: 'yes'}}\n"
    rules = found(webhook(extra), ns)
    assert "ADM002" not in rules
    assert "ADM001" in rules  # kube-system does not carry the label


def test_object_selector_opt_in_is_not_a_lockout():
    extra = "    objectSelector: {matchLabels: {inject: 'true'}}\n"
    rules = found(webhook(extra), backend())
    assert "ADM001" not in rules and "ADM002" not in rules


def test_object_selector_that_backend_pods_dodge():
    extra = (
        "    objectSelector:\n      matchExpressions:\n"
        "        - {key: app, operator: NotIn, values: [hook]}\n"
        "    namespaceSelector:\n      matchExpressions:\n"
        "        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}\n"
    )
    assert "ADM002" not in found(webhook(extra), backend())
    assert "ADM002" in found(webhook(extra), backend(labels="{app: other}"))


def test_match_conditions_on_namespace_count_as_exclusion():
    extra = (
        "    matchConditions:\n"
        "      - name: skip-system\n"
        "        expression: \"!(request.namespace in ['kube-system', 'hooks'])\"\n"
    )
    rules = found(webhook(extra))
    assert "ADM001" not in rules and "ADM002" not in rules


def test_unevaluated_cel_downgrades_to_info():
    extra = "    matchConditions:\n      - name: not-nodes\n        expression: \"request.userInfo.username != 'x'\"\n"
    rules = found(webhook(extra))
    assert rules["ADM001"][0].severity.label == "info"
    assert "does not evaluate" in rules["ADM001"][0].message


def test_workload_kinds_count_as_pod_creation():
    rules = found(
        webhook(resources="[deployments]", groups="[apps]", extra=EXCLUDE_BOTH.replace(", hooks", ""))
    )
    assert "ADM001" not in rules  # kube-system excluded
    rules = found(webhook(resources="[deployments]", groups="[apps]"))
    assert "ADM001" in rules
    assert "ADM002" not in rules  # backend unknown: only pods count
    rules = found(webhook(resources="[deployments]", groups="[apps]", operations="[UPDATE]"), backend())
    assert rules["ADM002"][0].severity.label == "high"  # cannot roll out a fixed backend


@pytest.mark.parametrize(
    ("groups", "resources", "hit"),
    [
        ('[""]', "[pods]", True),
        ('["*"]', '["*"]', True),
        ("[apps]", "[pods]", False),  # no pods in apps
        ('[""]', "[deployments]", False),  # no deployments in the core group
        ("[batch]", "[jobs]", True),
        ('[""]', '["pods/*"]', True),
        ('[""]', "[configmaps]", False),
    ],
)
def test_group_resource_pairs(groups, resources, hit):
    assert ("ADM001" in found(webhook(groups=groups, resources=resources))) is hit


def test_cluster_scoped_rules_do_not_intercept_pods():
    doc = webhook(resources='["*"]', groups='["*"]').replace(
        'apiVersions: ["*"]', 'apiVersions: ["*"]\n        scope: Cluster'
    )
    assert "ADM001" not in found(doc)


def test_wildcard_in_builtin_groups_fail_closed():
    rules = found(webhook(resources='["*"]', groups='["*"]', extra=EXCLUDE_BOTH))
    assert rules["ADM004"][0].severity.label == "high"
    own_group = webhook(resources='["*/*"]', groups="[certs.example.com]", extra=EXCLUDE_BOTH)
    assert "ADM004" not in found(own_group)
    ignore = webhook(resources='["*"]', groups='["*"]', extra="    failurePolicy: Ignore\n")
    assert "ADM004" not in found(ignore)


def test_side_effects():
    assert "ADM005" in found(webhook().replace("sideEffects: None", "sideEffects: Some"))
    missing = found(webhook().replace("    sideEffects: None\n", ""))
    assert "rejects this configuration" in missing["ADM005"][0].message
    assert "ADM005" not in found(webhook().replace("sideEffects: None", "sideEffects: NoneOnDryRun"))


def test_single_replica_backend():
    extra = "    timeoutSeconds: 3\n" + EXCLUDE_BOTH
    (f,) = found(webhook(extra), backend(replicas=1))["ADM006"]
    assert f.severity.label == "medium" and "hook-server" in f.message
    assert "ADM006" not in found(webhook(extra), backend(replicas=2))
    assert "ADM006" not in found(webhook(extra + "    failurePolicy: Ignore\n"), backend(replicas=1))


def test_single_replica_backend_by_hpa_min_replicas():
    hpa = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: hook-server, namespace: hooks}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: hook-server}
  minReplicas: 1
  maxReplicas: 5
"""
    assert "ADM006" in found(webhook(EXCLUDE_BOTH), backend(replicas=3), hpa)


def test_url_backend_has_no_self_lockout():
    doc = webhook().replace(
        "service: {namespace: hooks, name: hook}", "url: https://hooks.example.com/mutate"
    )
    rules = found(doc)
    assert "ADM002" not in rules and "ADM001" in rules


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.sampled_from(["", "*", "Fail", "pods", "50%", "x"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5),
)
def test_malformed_webhooks_and_budgets_never_crash(entry, spec):
    """Whatever shape the fields take, the cluster rules report or skip; they never raise."""
    docs = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "w"},
            "webhooks": [entry, "junk"],
        },
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": spec},
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": spec,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "replicas": spec.get("minReplicas"),
                "template": {"metadata": {"labels": {"key": "x"}}, "spec": {"containers": [{"name": "c"}]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "d"},
            "spec": {"selector": {"key": "x"}},
        },
    ]
    scan_yaml("---\n".join(json.dumps(d) for d in docs))
