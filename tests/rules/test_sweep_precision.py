"""Regression tests from the corpus sweep of the integrated rule set (issues 13 and 14): findings
judged noise on real files. Each object is copied, trimmed, from the file named above it."""

from __future__ import annotations

from conftest import scan_yaml


def found(text: str, rule: str, name: str = "test.yaml"):
    return [f for f in scan_yaml(text, name).findings if f.rule == rule]


# kubernetes/examples _archived/volumes/rbd/rbd-with-secret.yaml: the pod only holds a volume
# mounted; its container runs the pause image (IMG001 was high).
RBD_PAUSE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: rbd2
spec:
  containers:
    - image: kubernetes/pause
      name: rbd-rw
      volumeMounts:
      - {name: rbdpd, mountPath: /mnt/rbd}
  volumes:
    - name: rbdpd
      rbd: {monitors: ['10.16.154.78:6789'], pool: kube, image: foo, fsType: ext4, readOnly: true}
"""


def test_a_floating_tag_on_an_idle_container_is_low():
    [f] = found(RBD_PAUSE_POD, "IMG001")
    assert f.severity.label == "low"
    assert "only idles" in f.message
    # The same pod running a program is judged as serving.
    busy = RBD_PAUSE_POD.replace("    - image: kubernetes/pause\n", "    - image: nginx\n")
    [f] = found(busy, "IMG001")
    assert f.severity.label == "high"


# open-telemetry/opentelemetry-operator config/manifests/openshift (kustomize build, trimmed): the
# kubebuilder layout's controller-manager-metrics-service selects the manager for scraping only
# (WRK002 said it "sends traffic" to it).
OTEL_OPERATOR = """\
apiVersion: v1
kind: Service
metadata:
  name: opentelemetry-operator-controller-manager-metrics-service
  namespace: opentelemetry-operator-system
spec:
  ports:
  - {name: https, port: 8443, protocol: TCP, targetPort: https}
  selector:
    app.kubernetes.io/name: opentelemetry-operator
    control-plane: controller-manager
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: opentelemetry-operator-controller-manager
  namespace: opentelemetry-operator-system
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: opentelemetry-operator, control-plane: controller-manager}
  template:
    metadata:
      labels: {app.kubernetes.io/name: opentelemetry-operator, control-plane: controller-manager}
    spec:
      containers:
      - name: manager
        image: ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator:0.120.0
        args: [--zap-log-level=info]
        ports:
        - {containerPort: 8443, name: https, protocol: TCP}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 128Mi}
"""


def test_a_kubebuilder_metrics_service_sends_no_client_traffic():
    assert not found(OTEL_OPERATOR, "WRK002")
    assert not [f for f in found(OTEL_OPERATOR, "RES005") if "Service" in f.message]
    # A Service named for what it serves still counts.
    serving = OTEL_OPERATOR.replace("-metrics-service\n", "-api-service\n")
    assert found(serving, "WRK002")


# kubernetes/dashboard hack/test-resources/terminated-pod.yaml (RES001 spoke of one pod as "them").
TERMINATED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: terminated
spec:
  containers:
    - name: terminated
      image: alpine:3.4
      command: ["/bin/sh", "-c", "exit 1"]
  restartPolicy: Never
"""


def test_a_run_to_completion_pod_is_spoken_of_as_one_pod():
    [f] = found(TERMINATED_POD, "RES001")
    assert f.severity.label == "medium"
    assert "this pod is BestEffort: the scheduler places it as if it used nothing" in f.message
    assert " them " not in f.message


# prometheus-operator/kube-prometheus manifests/nodeExporter-daemonset.yaml and nodeExporter-service.yaml
# (trimmed): kube-rbac-proxy fronts the exporter's metrics on a port named https (RES005 was medium,
# "it serves traffic (Service node-exporter)").
NODE_EXPORTER = """\
apiVersion: v1
kind: Service
metadata:
  name: node-exporter
  namespace: monitoring
spec:
  clusterIP: None
  ports:
  - {name: https, port: 9100, targetPort: https}
  selector: {app.kubernetes.io/name: node-exporter}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: monitoring
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: node-exporter}
  template:
    metadata:
      labels: {app.kubernetes.io/name: node-exporter}
    spec:
      containers:
      - name: node-exporter
        image: quay.io/prometheus/node-exporter:v1.10.2
        args: [--web.listen-address=127.0.0.1:9101]
        resources:
          limits: {cpu: 250m, memory: 180Mi}
          requests: {cpu: 102m, memory: 180Mi}
      - name: kube-rbac-proxy
        image: quay.io/brancz/kube-rbac-proxy:v0.22.1
        args: ["--secure-listen-address=[$(IP)]:9100", --upstream=http://127.0.0.1:9101/]
        ports:
        - {containerPort: 9100, hostPort: 9100, name: https}
        resources:
          limits: {cpu: 20m, memory: 40Mi}
          requests: {cpu: 10m, memory: 20Mi}
      hostNetwork: true
      priorityClassName: system-cluster-critical
"""


def test_an_exporter_is_scraped_not_served():
    findings = found(NODE_EXPORTER, "RES005")
    assert findings and {f.severity.label for f in findings} == {"low"}
    assert all("serves no traffic the scan can see" in f.message for f in findings)
    assert not found(NODE_EXPORTER, "WRK002")
    # The same pods behind a Service named for clients serve traffic.
    served = NODE_EXPORTER.replace(
        "  name: node-exporter\n  namespace: monitoring\nspec:\n  clusterIP",
        "  name: api\n  namespace: monitoring\nspec:\n  clusterIP",
    )
    assert "medium" in {f.severity.label for f in found(served, "RES005")}
