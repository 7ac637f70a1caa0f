"""Graceful shutdown: preStop delays, grace periods, and externalTrafficPolicy Local."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity
from premortem.model.lifecycle import _exec_sleep


def deployment(container_extra: str = "", pod_extra: str = "", replicas: int = 3, ports: bool = True) -> str:
    port_line = "          ports: [{containerPort: 8080}]\n" if ports else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
{pod_extra}      containers:
        - name: web
          image: registry.example.com/web:1.0.0
{port_line}{container_extra}        - name: log-shipper
          image: registry.example.com/shipper:1.0.0
"""


def service(extra: str = "", name: str = "web", port_name: str = "http") -> str:
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
{extra}  selector: {{app: web}}
  ports: [{{name: {port_name}, port: 80, targetPort: 8080}}]
"""


def found(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


def test_wrk002_names_the_serving_container_and_service():
    [f] = found(deployment() + service(), "WRK002")
    assert f.container == "web" and "Service web" in f.message
    assert f.severity == Severity.LOW


@pytest.mark.parametrize(
    "text",
    [
        deployment(),  # no Service
        deployment() + service(name="web-metrics", port_name="metrics"),
        deployment("          lifecycle: {preStop: {exec: {command: [sleep, '5']}}}\n") + service(),
        deployment("          lifecycle: {preStop: {sleep: {seconds: 5}}}\n") + service(),
        deployment("          lifecycle: {preStop: {httpGet: {path: /drain, port: 8080}}}\n") + service(),
    ],
    ids=["no-service", "metrics-service", "exec-sleep", "sleep-action", "http-hook"],
)
def test_wrk002_not_reported(text):
    assert found(text, "WRK002") == []


def test_wrk002_without_declared_ports_takes_the_first_app_container():
    [f] = found(deployment(ports=False) + service(), "WRK002")
    assert f.container == "web"


@pytest.mark.parametrize(
    ("hook", "grace", "severity"),
    [
        ("{sleep: {seconds: 40}}", "", Severity.HIGH),
        ("{sleep: {seconds: 30}}", "", Severity.MEDIUM),
        (
            "{exec: {command: [/bin/sleep, '60']}}",
            "      terminationGracePeriodSeconds: 60\n",
            Severity.MEDIUM,
        ),
        (
            "{exec: {command: [sh, -c, 'sleep 20 && nginx -s quit']}}",
            "      terminationGracePeriodSeconds: 15\n",
            Severity.MEDIUM,
        ),
    ],
)
def test_wrk003_fires(hook, grace, severity):
    [f] = found(deployment(f"          lifecycle: {{preStop: {hook}}}\n", grace), "WRK003")
    assert f.severity == severity
    assert f.container == "web"


@pytest.mark.parametrize(
    ("hook", "grace"),
    [
        ("{sleep: {seconds: 29}}", ""),
        ("{exec: {command: [sh, -c, 'sleep 20']}}", "      terminationGracePeriodSeconds: 45\n"),
        ("{exec: {command: [sh, -c, 'nginx -s quit']}}", "      terminationGracePeriodSeconds: 1\n"),
        ("{sleep: {seconds: 40}}", "      terminationGracePeriodSeconds: 0\n"),
    ],
)
def test_wrk003_quiet(hook, grace):
    assert found(deployment(f"          lifecycle: {{preStop: {hook}}}\n", grace), "WRK003") == []


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        (["sleep", "5"], 5),
        (["/bin/sleep", "5s"], 5),
        (["sh", "-c", "sleep 10; kill -QUIT 1"], 10),
        (["/bin/sh", "-c", "echo bye && /usr/bin/sleep 3"], 3),
        (["sh", "-c", "nginx -s quit"], None),
        (["sleep", "infinity"], None),
        ("sleep 5", None),
    ],
)
def test_exec_sleep(command, seconds):
    assert _exec_sleep(command) == seconds


LB = "  type: LoadBalancer\n  externalTrafficPolicy: Local\n"


def test_sch003_one_pod_is_medium():
    [f] = found(deployment(replicas=1) + service(LB), "SCH003")
    assert f.severity == Severity.MEDIUM and "one pod" in f.message
    assert f.path == "/spec/externalTrafficPolicy"


def test_sch003_replicas_that_may_share_a_node_are_low():
    [f] = found(deployment(replicas=3) + service(LB), "SCH003")
    assert f.severity == Severity.LOW


@pytest.mark.parametrize(
    "text",
    [
        deployment(replicas=1) + service("  type: LoadBalancer\n"),
        deployment(replicas=1) + service("  type: NodePort\n  externalTrafficPolicy: Local\n"),
        deployment(
            replicas=2,
            pod_extra="      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, "
            "whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}]\n",
        )
        + service(LB),
        deployment(replicas=1).replace("kind: Deployment", "kind: DaemonSet").replace("  replicas: 1\n", "")
        + service(LB),
    ],
    ids=["cluster-policy", "nodeport", "spread", "daemonset"],
)
def test_sch003_quiet(text):
    assert found(text, "SCH003") == []


def test_wrk002_fix_follows_the_target_version():
    from premortem.settings import Settings, use_settings

    [new] = found(deployment() + service(), "WRK002")
    assert "preStop.sleep.seconds: 5" in new.fix
    with use_settings(Settings(kubernetes_version="1.29")):
        [old] = found(deployment() + service(), "WRK002")
    assert "exec.command: [sleep, '5']" in old.fix and "v1.30" in old.fix
