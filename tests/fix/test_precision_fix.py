"""Regression tests for issue 14 on `premortem fix` for RES002, from knative/serving
config/core/deployments (autoscaler.yaml, activator.yaml + activator-hpa.yaml, trimmed)."""

from __future__ import annotations

from fix.helpers import changed_lines, fix_run
from premortem.settings import Settings, use_settings

AUTOSCALER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: autoscaler, namespace: knative-serving}
spec:
  replicas: 1
  selector: {matchLabels: {app: autoscaler}}
  template:
    metadata: {labels: {app: autoscaler}}
    spec:
      containers:
      - name: autoscaler
        image: gcr.io/knative-releases/autoscaler:v1.0.0
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
          limits:
            cpu: 1000m
            memory: 1000Mi
"""

ACTIVATOR_HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: autoscaler, namespace: knative-serving}
spec:
  minReplicas: 1
  maxReplicas: 20
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: autoscaler}
"""


def fixed(text: str):
    run = fix_run({"deploy.yaml": text}, ("RES002",))
    [outcome] = [o for o in run.files[0].outcomes if o.finding.rule == "RES002" and o.status == "fixed"]
    return run.files[0].fixed, outcome.message


def test_fix_raises_the_memory_request_only():
    text, message = fixed(AUTOSCALER)
    removed, added = changed_lines(AUTOSCALER, text)
    assert removed == ["            memory: 100Mi\n"] and added == ["            memory: 1000Mi\n"]
    assert "cpu: 100m" in text
    assert "requests.cpu" not in message
    assert "the pod stays Burstable (autoscaler requests less cpu than its limit)" in message


def test_fix_states_the_cluster_wide_cost_at_the_hpa_maximum():
    _, message = fixed(AUTOSCALER + ACTIVATOR_HPA)
    assert "x20 at peak (HPA autoscaler maxReplicas)" in message
    assert "memory 19.5Gi" in message


def test_raising_the_cpu_request_is_an_opt_in():
    with use_settings(Settings(params={"RES002": {"fix_cpu": True}})):
        text, message = fixed(AUTOSCALER)
    assert "requests:\n            cpu: 1000m\n" in text
    assert "requests.cpu 100m -> 1" in message and "Guaranteed" in message
