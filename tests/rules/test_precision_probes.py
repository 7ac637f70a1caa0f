"""Regression tests for issue 14 on the probe rules, from the real files the review judged noise."""

from __future__ import annotations

from conftest import scan_yaml

# GoogleCloudPlatform/kubernetes-engine-samples
#   ai-ml/llm-serving-tpus-jetstream/pytorch/jetstream-pytorch-gemma-7b-it-2x4.yaml (trimmed)
JETSTREAM = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: jetstream-pytorch-server}
spec:
  selector: {matchLabels: {app: jetstream}}
  template:
    metadata: {labels: {app: jetstream}}
    spec:
      containers:
      - name: jetstream-pytorch-server
        image: us-docker.pkg.dev/cloud-tpu-images/inference/jetstream-pytorch-server:v0.2.4
        livenessProbe:
          httpGet: {path: /healthcheck, port: 8000, scheme: HTTP}
          periodSeconds: 60
          failureThreshold: 30
        readinessProbe:
          httpGet: {path: /healthcheck, port: 8000, scheme: HTTP}
          periodSeconds: 60
          failureThreshold: 30
"""


def rules(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


def test_thirty_minute_liveness_budget_is_patient_enough():
    assert rules(JETSTREAM, "PRB002") == []
    quick = JETSTREAM.replace("failureThreshold: 30", "failureThreshold: 3")
    assert len(rules(quick, "PRB002")) == 1


# longhorn/longhorn examples/simple_pod.yaml and istio/istio samples/health-check/liveness-command.yaml
LONGHORN_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: longhorn-simple-pod}
spec:
  containers:
  - name: volume-test
    image: nginx:stable-alpine
    livenessProbe:
      exec:
        command: [ls, /data/lost+found]
      initialDelaySeconds: 5
      periodSeconds: 5
"""

# GoogleCloudPlatform/microservices-demo kubernetes-manifests/cartservice.yaml (redis-cart)
REDIS_CART = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: redis-cart}
spec:
  selector: {matchLabels: {app: redis-cart}}
  template:
    metadata: {labels: {app: redis-cart}}
    spec:
      containers:
      - name: redis
        image: redis:alpine
        livenessProbe:
          periodSeconds: 5
          tcpSocket: {port: 6379}
"""


def test_file_checks_pass_at_once_and_need_no_start_grace():
    assert rules(LONGHORN_POD, "PRB003") == []
    cat = LONGHORN_POD.replace("[ls, /data/lost+found]", "[sh, -c, cat /tmp/healthy]")
    assert rules(cat, "PRB003") == []
    app = LONGHORN_POD.replace("[ls, /data/lost+found]", "[/app/healthcheck]")
    assert len(rules(app, "PRB003")) == 1


def test_redis_answers_at_once():
    assert rules(REDIS_CART, "PRB003") == []
    ping = REDIS_CART.replace("tcpSocket: {port: 6379}", "exec: {command: [redis-cli, ping]}")
    assert rules(ping, "PRB003") == []
    other = REDIS_CART.replace("redis:alpine", "registry.example.com/cart:1.0.0")
    assert len(rules(other, "PRB003")) == 1


# istio/istio samples/sleep/sleep.yaml (trimmed): a curl client with a Service, that only sleeps.
ISTIO_SLEEP = """\
apiVersion: v1
kind: Service
metadata: {name: sleep, labels: {app: sleep}}
spec:
  ports: [{port: 80, name: http}]
  selector: {app: sleep}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep}
spec:
  replicas: 1
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      containers:
      - name: sleep
        image: curlimages/curl:8.16.0
        command: ["/bin/sleep", "infinity"]
"""


def test_no_readiness_probe_is_not_asked_of_a_container_that_only_sleeps():
    assert rules(ISTIO_SLEEP, "PRB005") == []
    serving = ISTIO_SLEEP.replace('command: ["/bin/sleep", "infinity"]', "ports: [{containerPort: 80}]")
    assert len(rules(serving, "PRB005")) == 1


# GoogleCloudPlatform/kubernetes-engine-samples cost-optimization/gke-shift-left-cost/samples/
#   k8s-cost-estimator-local/app-v2/deployment.yaml (trimmed): container ports, no Service anywhere.
NGINX_NO_SERVICE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-nginx}
spec:
  replicas: 2
  selector: {matchLabels: {run: my-nginx}}
  template:
    metadata: {labels: {run: my-nginx}}
    spec:
      containers:
      - name: my-nginx
        image: nginx:1.27.0
        ports: [{containerPort: 80}]
"""

OTHER_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: metrics}
spec:
  selector: {app: something-else}
  ports: [{port: 9090}]
"""


def test_no_service_read_at_all_is_unknown_and_info():
    [finding] = rules(NGINX_NO_SERVICE, "PRB005")
    assert finding.severity.label == "info"


def test_services_of_the_unit_read_and_none_selects_it_is_no_finding():
    # kubernetes/kops .../ha_gce/data/...gcp-pd-csi-driver...: the addon file holds the Services it has.
    assert rules(NGINX_NO_SERVICE + "---\n" + OTHER_SERVICE, "PRB005") == []
