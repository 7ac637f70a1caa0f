"""The QoS truth table, as pkg/apis/core/helper/qos/qos.go computes it after request defaulting."""

import pytest

from conftest import scan_yaml


def pod(containers: str, init: str = "", extra: str = "") -> str:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
    if init:
        text += "  initContainers:\n" + init
    text += "  containers:\n" + containers + extra
    return text


def c(name: str, resources: str = "", restart: str = "") -> str:
    out = f"    - name: {name}\n      image: registry.example.com/{name}:1.0.0\n"
    if restart:
        out += f"      restartPolicy: {restart}\n"
    if resources:
        out += f"      resources: {resources}\n"
    return out


def qos_of(text: str) -> str:
    return scan_yaml(text).objects[0]["qos"]


TABLE = [
    ("limits only, cpu and memory", pod(c("a", "{limits: {cpu: 500m, memory: 256Mi}}")), "Guaranteed"),
    (
        "requests equal limits",
        pod(c("a", "{requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}")),
        "Guaranteed",
    ),
    ("memory limit only", pod(c("a", "{limits: {memory: 256Mi}}")), "Burstable"),
    ("cpu limit only", pod(c("a", "{limits: {cpu: 1}}")), "Burstable"),
    ("nothing", pod(c("a")), "BestEffort"),
    ("zero values are unset", pod(c("a", "{requests: {cpu: '0', memory: '0'}}")), "BestEffort"),
    ("zero limits are unset", pod(c("a", "{limits: {cpu: 0, memory: 0}}")), "BestEffort"),
    ("gpu only", pod(c("a", "{limits: {nvidia.com/gpu: 1}}")), "BestEffort"),
    (
        "request below limit",
        pod(c("a", "{requests: {cpu: 1, memory: 512Mi}, limits: {cpu: 1, memory: 1Gi}}")),
        "Burstable",
    ),
    ("second container without limits", pod(c("a", "{limits: {cpu: 1, memory: 1Gi}}") + c("b")), "Burstable"),
    (
        "init container without resources",
        pod(c("a", "{limits: {cpu: 1, memory: 1Gi}}"), init=c("init")),
        "Burstable",
    ),
    (
        "init container with limits",
        pod(c("a", "{limits: {cpu: 1, memory: 1Gi}}"), init=c("init", "{limits: {cpu: 100m, memory: 64Mi}}")),
        "Guaranteed",
    ),
    (
        "sidecar without resources",
        pod(c("a", "{limits: {cpu: 1, memory: 1Gi}}"), init=c("side", restart="Always")),
        "Burstable",
    ),
    (
        "sidecar with limits",
        pod(
            c("a", "{limits: {cpu: 1, memory: 1Gi}}"),
            init=c("side", "{limits: {cpu: 100m, memory: 64Mi}}", "Always"),
        ),
        "Guaranteed",
    ),
    ("only init has resources", pod(c("a"), init=c("init", "{requests: {memory: 64Mi}}")), "Burstable"),
    (
        "explicit zero request with limit",
        pod(c("a", "{requests: {cpu: '0'}, limits: {cpu: 1, memory: 1Gi}}")),
        "Burstable",
    ),
]


@pytest.mark.parametrize(("label", "text", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_qos(label, text, expected):
    assert qos_of(text) == expected


def test_deployment_limits_only_is_guaranteed():
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 3
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
        - name: d
          image: registry.example.com/d:1.0.0
          resources: {limits: {cpu: 250m, memory: 128Mi}}
"""
    obj = scan_yaml(text).objects[0]
    assert obj["qos"] == "Guaranteed"
    assert obj["requests"] == {"cpu": 250, "memory": 128 * 2**20}
    assert obj["limits"] == {"cpu": 250, "memory": 128 * 2**20}
    assert obj["replicas"] == 3


def test_effective_request_init_dominates():
    # facts sheet example: init 2cpu/3G, containers 2+1 cpu, 1G+1G -> 3 cpu, 3G
    text = pod(
        c("a", "{requests: {cpu: 2, memory: 1G}}") + c("b", "{requests: {cpu: 1, memory: 1G}}"),
        init=c("init", "{requests: {cpu: 2, memory: 3G}}"),
    )
    obj = scan_yaml(text).objects[0]
    assert obj["requests"] == {"cpu": 3000, "memory": 3 * 10**9}


def test_effective_request_sidecars_add_and_precede_init():
    # sidecar 100m started before init (500m): init peak = 600m; app 1 + sidecar 100m = 1100m
    text = pod(
        c("a", "{requests: {cpu: 1, memory: 1Gi}}"),
        init=c("side", "{requests: {cpu: 100m, memory: 64Mi}}", "Always")
        + c("init", "{requests: {cpu: 500m, memory: 2Gi}}"),
    )
    obj = scan_yaml(text).objects[0]
    assert obj["requests"]["cpu"] == 1100
    assert obj["requests"]["memory"] == 2 * 2**30 + 64 * 2**20


def test_overhead_added():
    text = pod(c("a", "{requests: {cpu: 1, memory: 1Gi}}"), extra="  overhead: {cpu: 250m, memory: 120Mi}\n")
    obj = scan_yaml(text).objects[0]
    assert obj["requests"] == {"cpu": 1250, "memory": 2**30 + 120 * 2**20}


def test_unbounded_limits_are_null():
    obj = scan_yaml(pod(c("a", "{requests: {cpu: 1, memory: 1Gi}}"))).objects[0]
    assert obj["limits"] == {"cpu": None, "memory": None}
