"""RES005: CPU limits and the CFS quota, scaled by the numbers and by what the container does."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity
from premortem.settings import Settings, use_settings


def workload(
    limit: str, ports: str = "", kind: str = "Deployment", group: str = "apps/v1", service: bool = False
) -> str:
    text = f"""
apiVersion: {group}
kind: {kind}
metadata: {{name: w, namespace: prod}}
spec:
  selector: {{matchLabels: {{app: w}}}}
  template:
    metadata: {{labels: {{app: w}}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.0.0
{ports}          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: {limit}, memory: 128Mi}}
"""
    if service:
        text += """---
apiVersion: v1
kind: Service
metadata: {name: w, namespace: prod}
spec:
  selector: {app: w}
  ports: [{name: http, port: 80}]
"""
    return text


PORT = "          ports: [{containerPort: 8080}]\n"
METRICS_PORT = "          ports: [{name: metrics, containerPort: 9090}]\n"


def res005(text: str):
    return [f for f in scan_yaml(text).findings if f.rule == "RES005"]


@pytest.mark.parametrize(
    ("limit", "ports", "service", "severity"),
    [
        ("500m", PORT, False, Severity.MEDIUM),
        ("500m", "", True, Severity.MEDIUM),
        ("2", PORT, False, Severity.LOW),
        ("500m", "", False, Severity.LOW),
        ("500m", METRICS_PORT, False, Severity.LOW),
    ],
    ids=["serving-port", "serving-service", "serving-two-cores", "worker-small", "metrics-only"],
)
def test_severity_follows_the_numbers(limit, ports, service, severity):
    [f] = res005(workload(limit, ports, service=service))
    assert f.severity == severity
    assert f.path == "/spec/template/spec/containers/0/resources/limits/cpu"


def test_large_limit_on_a_worker_is_not_reported():
    assert res005(workload("2")) == []


def test_batch_is_not_reported():
    text = workload("500m", PORT, kind="Job", group="batch/v1").replace(
        "    spec:\n      containers", "    spec:\n      restartPolicy: Never\n      containers"
    )
    assert res005(text) == []


def test_numbers_in_the_message():
    [small] = res005(workload("200m", PORT))
    assert "20 ms per 100 ms period" in small.message
    assert "A request needing 24 ms of CPU takes over 100 ms" in small.message
    assert "use the quota in 5 ms and wait 95 ms" in small.message
    [large] = res005(workload("2", PORT))
    assert "200 ms per 100 ms period" in large.message
    assert "4 busy threads" in large.message and "in 50 ms and wait 50 ms" in large.message
    assert small.extra["quota_ms_per_period"] == 20


def test_service_is_named():
    [f] = res005(workload("500m", service=True))
    assert "Service w" in f.message


def test_threshold_is_a_parameter():
    with use_settings(Settings(params={"RES005": {"throttle_below_millicores": 250}})):
        [f] = res005(workload("500m", PORT))
    assert f.severity == Severity.LOW


def test_a_sidecar_without_ports_does_not_serve_the_service_of_its_neighbour():
    text = workload("2", PORT, service=True).replace(
        "      containers:\n",
        "      containers:\n        - name: proxy\n          image: registry.example.com/proxy:1.0.0\n"
        "          resources: {limits: {cpu: 3, memory: 64Mi}}\n",
    )
    found = {f.container: f for f in res005(text)}
    assert set(found) == {"app"}
