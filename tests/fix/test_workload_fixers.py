"""Fixers of the workload, scheduling, DNS and CPU-limit rules: edits, notes and held-back fixes."""

from __future__ import annotations

from fix.helpers import fix_run, rules_found
from premortem.settings import Settings, use_settings

SERVED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
GRACE      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          ports: [{containerPort: 8080}]
          resources:
            requests: {memory: 256Mi}
            limits: {cpu: 500m, memory: 256Mi}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def outcome(run, rule):
    [found] = [o for o in run.outcomes if o.finding.rule == rule]
    return found


def test_prestop_sleep_is_added_and_the_rule_is_quiet():
    text = SERVED.replace("GRACE", "")
    run = fix_run({"a.yaml": text}, ("WRK002",))
    assert outcome(run, "WRK002").status == "fixed"
    fixed = run.files[0].fixed
    assert (
        "          lifecycle:\n            preStop:\n              sleep:\n                seconds: 5\n"
        in fixed
    )
    assert "WRK002" not in rules_found(fixed)


def test_prestop_sleep_needs_v130():
    with use_settings(Settings(kubernetes_version="1.29")):
        run = fix_run({"a.yaml": SERVED.replace("GRACE", "")}, ("WRK002",))
    o = outcome(run, "WRK002")
    assert o.status == "not-fixable" and "v1.30" in o.message


def test_prestop_sleep_with_a_short_grace_period_is_a_note():
    run = fix_run(
        {"a.yaml": SERVED.replace("GRACE", "      terminationGracePeriodSeconds: 5\n")}, ("WRK002",)
    )
    assert outcome(run, "WRK002").status == "not-fixable"


def test_cpu_limit_removal_is_held_back_and_keeps_the_request():
    text = SERVED.replace("GRACE", "").replace("requests: {memory: 256Mi}", "requests: {memory: 128Mi}")
    held = fix_run({"a.yaml": text}, ("RES005",))
    assert outcome(held, "RES005").status == "held"
    run = fix_run({"a.yaml": text}, ("RES005",), unsafe=True)
    fixed = run.files[0].fixed
    assert "limits: {memory: 256Mi}" in fixed and "requests: {memory: 128Mi, cpu: 500m}" in fixed
    assert "RES005" not in rules_found(fixed)


def test_cpu_limit_removal_leaves_a_guaranteed_pod_alone():
    text = SERVED.replace("GRACE", "").replace(
        "requests: {memory: 256Mi}", "requests: {cpu: 500m, memory: 256Mi}"
    )
    run = fix_run({"a.yaml": text}, ("RES005",), unsafe=True)
    assert outcome(run, "RES005").status == "not-fixable" and "Burstable" in outcome(run, "RES005").message
    assert run.files[0].fixed == text


def test_cpu_limit_alone_in_limits_removes_the_mapping():
    text = SERVED.replace("GRACE", "").replace(
        "            requests: {memory: 256Mi}\n            limits: {cpu: 500m, memory: 256Mi}\n",
        "            limits:\n              cpu: 500m\n",
    )
    fixed = fix_run({"a.yaml": text}, ("RES005",), unsafe=True).files[0].fixed
    assert "limits" not in fixed and "requests:\n              cpu: 500m\n" in fixed


def test_new_blocks_quote_what_yaml_1_1_would_misread():
    text = SERVED.replace("GRACE", "").replace("{app: web}", '{app: web, enabled: "yes"}')
    fixed = fix_run({"a.yaml": text}, ("SCH001",), unsafe=True).files[0].fixed
    assert 'enabled: "yes"' in fixed.split("topologySpreadConstraints")[1]
    assert "SCH001" not in rules_found(fixed)


CRON = """apiVersion: batch/v1
kind: CronJob
metadata: {name: sync, namespace: ops}
spec:
  schedule: "*/10 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: sync, image: registry.example.com/sync:1.0.0}]
"""


def test_cronjob_deadline_is_unsafe_and_80_percent_of_the_interval():
    assert outcome(fix_run({"c.yaml": CRON}, ("WRK001",)), "WRK001").status == "held"
    fixed = fix_run({"c.yaml": CRON}, ("WRK001",), unsafe=True).files[0].fixed
    assert "\n      activeDeadlineSeconds: 480\n" in fixed
    assert "WRK001" not in rules_found(fixed)


ADDON = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
CLASS      containers: [{name: agent, image: registry.example.com/agent:1.0.0}]
"""


def test_kube_system_daemonset_gets_node_critical():
    fixed = fix_run({"d.yaml": ADDON.replace("CLASS", "")}, ("SCH006",)).files[0].fixed
    assert "      priorityClassName: system-node-critical\n" in fixed
    assert "SCH006" not in rules_found(fixed)


def test_an_explicit_class_is_not_replaced():
    text = ADDON.replace("CLASS", "      priorityClassName: infra\n")
    run = fix_run({"d.yaml": text}, ("SCH006",))
    assert outcome(run, "SCH006").status == "not-fixable"
    assert run.files[0].fixed == text


def test_dns_with_an_hpa_is_a_note():
    text = """apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      priorityClassName: system-cluster-critical
      containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: coredns, namespace: kube-system}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: coredns}
  minReplicas: 1
  maxReplicas: 5
"""
    run = fix_run({"d.yaml": text}, ("DNS001",))
    assert outcome(run, "DNS001").status == "not-fixable"
