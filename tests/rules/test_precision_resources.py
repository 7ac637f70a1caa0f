"""Regression tests for issue 14 (precision) on the resources rules, each drawn from a real file of
the corpus the review sampled (the source is noted on each object)."""

from __future__ import annotations

from conftest import scan_yaml
from premortem.engine import scan
from premortem.load.reader import load_text
from premortem.rules import all_rules
from premortem.rules.registry import RULES

# kubernetes/kops tests/integration/update_cluster/nvidia/data/
#   aws_s3_object_minimal.example.com-addons-nvidia.addons.k8s.io-k8s-1.16_content.yaml
NVIDIA_DEVICE_PLUGIN = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nvidia-device-plugin-daemonset
  namespace: kube-system
spec:
  selector:
    matchLabels: {name: nvidia-device-plugin-ds}
  template:
    metadata:
      labels: {name: nvidia-device-plugin-ds}
    spec:
      containers:
      - args: [--fail-on-init-error=false]
        image: nvcr.io/nvidia/k8s-device-plugin:v0.17.3
        name: nvidia-device-plugin-ctr
      priorityClassName: system-node-critical
"""

# kubescape/regolibrary rules/etcd-unique-ca/test/rke2-args/input/etcdpod.yaml (an rke2 static pod)
RKE2_ETCD = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {component: etcd, tier: control-plane}
  name: etcd
  namespace: kube-system
spec:
  containers:
    - command: [etcd]
      args:
        - '--advertise-client-urls=https://192.168.49.2:2379'
        - '--data-dir=/var/lib/rancher/rke2/server/db/etcd'
      image: index.docker.io/rancher/hardened-etcd:v3.5.21-k3s1
      name: etcd
  hostNetwork: true
  nodeName: rke2-server
"""


def res001(text: str):
    [finding] = [f for f in scan_yaml(text).findings if f.rule == "RES001"]
    return finding


def test_node_critical_best_effort_pod_is_never_evicted_and_scores_minus_997():
    finding = res001(NVIDIA_DEVICE_PLUGIN)
    assert finding.severity.label == "medium"
    assert "never evicts" in finding.message and "-997" in finding.message
    assert "oom_score_adj 1000" not in finding.message
    assert finding.extra["oom_score_adj"] == -997


def test_cluster_critical_best_effort_pod_is_not_evicted_but_still_scores_1000():
    finding = res001(NVIDIA_DEVICE_PLUGIN.replace("system-node-critical", "system-cluster-critical"))
    assert finding.severity.label == "high"
    assert "never evicts" in finding.message and "oom_score_adj 1000" in finding.message
    assert "evicts it first" not in finding.message


def test_plain_best_effort_daemonset_is_evicted_first():
    finding = res001(NVIDIA_DEVICE_PLUGIN.replace("      priorityClassName: system-node-critical\n", ""))
    assert finding.severity.label == "high"
    assert "evicts it first" in finding.message


def test_static_etcd_pod_is_one_finding_with_the_etcd_facts_folded_in():
    findings = [f for f in scan_yaml(RKE2_ETCD).findings if f.category in ("resources", "etcd")]
    assert [f.rule for f in findings] == ["RES001"]
    [finding] = findings
    assert sorted(a["rule"] for a in finding.extra["absorbed"]) == ["ETC001", "ETC002"]
    assert "a static pod" in finding.message and "never evicts" in finding.message
    assert "priorityClassName: system-node-critical" in finding.fix
    assert finding.severity.label == "high"


def test_absorbed_rule_still_reports_alone_when_selected_alone():
    loaded = load_text(RKE2_ETCD, "etcd.yaml")
    result = scan(loaded, [RULES["ETC001"], RULES["ETC002"]])
    assert sorted(f.rule for f in result.findings) == ["ETC001", "ETC002"]


def test_absorbing_needs_the_same_object():
    other = NVIDIA_DEVICE_PLUGIN.replace("      priorityClassName: system-node-critical\n", "")
    result = scan(load_text(RKE2_ETCD + "---\n" + other, "both.yaml"), all_rules())
    assert sorted(f.rule for f in result.findings if f.category in ("resources", "etcd")) == [
        "RES001",
        "RES001",
    ]


# GoogleCloudPlatform/kubernetes-engine-samples ai-ml/llm-finetuning-gemma/finetune.yaml (trimmed)
FINETUNE_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: finetune-job}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: finetuner
        image: us-docker.pkg.dev/example/finetune:1.0.0
"""


def test_one_shot_job_is_medium_and_says_the_run_is_retried():
    finding = res001(FINETUNE_JOB)
    assert finding.severity.label == "medium"
    assert "retried" in finding.message


# --- RES002: severity from what the nodes could be short of ------------------------------------------

# prometheus-operator/kube-prometheus manifests/kubeStateMetrics-deployment.yaml (trimmed): 20 MiB gap
KUBE_RBAC_PROXY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-state-metrics, namespace: monitoring}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: kube-state-metrics}}
  template:
    metadata: {labels: {app.kubernetes.io/name: kube-state-metrics}}
    spec:
      containers:
      - name: kube-rbac-proxy-main
        image: quay.io/brancz/kube-rbac-proxy:v0.20.0
        resources:
          limits: {cpu: 40m, memory: 40Mi}
          requests: {cpu: 20m, memory: 20Mi}
"""

# knative/serving config/core/deployments/activator.yaml + activator-hpa.yaml (trimmed)
ACTIVATOR = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: activator, namespace: knative-serving}
spec:
  selector: {matchLabels: {app: activator}}
  template:
    metadata: {labels: {app: activator}}
    spec:
      containers:
      - name: activator
        image: gcr.io/knative-releases/activator:v1.0.0
        resources:
          requests: {cpu: 300m, memory: 60Mi}
          limits: {cpu: 1000m, memory: 600Mi}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: activator, namespace: knative-serving}
spec:
  minReplicas: 1
  maxReplicas: 20
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: activator}
"""


def res002(text: str):
    return [f for f in scan_yaml(text).findings if f.rule == "RES002"]


def test_small_gap_on_one_replica_is_low():
    [finding] = res002(KUBE_RBAC_PROXY)
    assert finding.severity.label == "low"
    assert finding.extra["overcommit_bytes"] == 20 * 2**20
    assert "20Mi x1 replicas" in finding.message


def test_gap_times_hpa_max_decides_and_is_said():
    [finding] = res002(ACTIVATOR)
    assert finding.severity.label == "medium"
    assert finding.extra["replicas_at_peak"] == 20
    assert finding.extra["overcommit_bytes"] == 540 * 2**20 * 20
    assert "HPA activator maxReplicas" in finding.message
    # Without the HPA: one replica, 540Mi short at most: low.
    [alone] = res002(ACTIVATOR[: ACTIVATOR.index("---")])
    assert alone.severity.label == "low"


def test_medium_cut_off_is_a_rule_parameter():
    from premortem.settings import Settings, use_settings

    with use_settings(Settings(params={"RES002": {"medium_bytes": 16 * 2**20}})):
        assert res002(KUBE_RBAC_PROXY)[0].severity.label == "medium"


# --- LimitRange defaults in the QoS model -----------------------------------------------------------

# tektoncd/pipeline examples/v1/taskruns/no-ci/limitrange.yaml: its Task's step runs in a pod that
# sets no resources (here written as the Pod the TaskRun creates).
TEKTON_LIMIT_RANGE = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: limit-mem-cpu-per-container
spec:
  limits:
  - max: {cpu: "800m", memory: "1Gi"}
    min: {cpu: "100m", memory: "99Mi"}
    default: {cpu: "700m", memory: "900Mi"}
    defaultRequest: {cpu: "110m", memory: "111Mi"}
    type: Container
---
apiVersion: v1
kind: Pod
metadata: {name: echo-hello-world-run-pod}
spec:
  containers:
  - name: step-echo
    image: mirror.gcr.io/ubuntu@sha256:0d39fcc8335d6d74d5502f6df2d30119ff4790ebbb60b364818d5112d9e3e932
    command: [echo]
"""


def objects(text: str, name: str = "test.yaml"):
    return {o["kind"]: o for o in scan(load_text(text, name), all_rules()).objects}


def test_limit_range_defaults_make_the_pod_burstable_not_best_effort():
    result = scan_yaml(TEKTON_LIMIT_RANGE)
    pod = next(o for o in result.objects if o["kind"] == "Pod")
    assert pod["qos"] == "Burstable"
    assert pod["requests"] == {"cpu": 110, "memory": 111 * 2**20}
    assert pod["limits"] == {"cpu": 700, "memory": 900 * 2**20}
    ids = [f.rule for f in result.findings]
    assert "RES001" not in ids and "RES003" not in ids
    [finding] = [f for f in result.findings if f.rule == "RES002"]
    assert "request from LimitRange limit-mem-cpu-per-container" in finding.message


def test_limit_range_applies_only_in_its_namespace_and_input_unit():
    other_ns = TEKTON_LIMIT_RANGE.replace(
        "metadata: {name: echo-hello-world-run-pod}",
        "metadata: {name: echo-hello-world-run-pod, namespace: ci}",
    )
    assert objects(other_ns)["Pod"]["qos"] == "BestEffort"
    limit_range, pod = TEKTON_LIMIT_RANGE.split("---\n")
    from premortem.load.document import LoadResult

    loaded = LoadResult()
    loaded.extend(load_text(limit_range, "tekton/examples/limitrange.yaml"))
    loaded.extend(load_text(pod, "other-project/pod.yaml"))
    assert next(o for o in scan(loaded, all_rules()).objects if o["kind"] == "Pod")["qos"] == "BestEffort"


def test_request_copied_from_the_containers_own_limit_wins_over_default_request():
    # K8s docs tasks/administer-cluster/manage-resources/memory-default-namespace.md: a container with
    # limit 1Gi and no request, in a namespace whose LimitRange has defaultRequest 256Mi, gets 1Gi.
    text = """\
apiVersion: v1
kind: LimitRange
metadata: {name: mem-limit-range}
spec:
  limits:
  - default: {memory: 512Mi}
    defaultRequest: {memory: 256Mi}
    type: Container
---
apiVersion: v1
kind: Pod
metadata: {name: default-mem-demo-2}
spec:
  containers:
  - name: default-mem-demo-2-ctr
    image: registry.example.com/nginx:1.27.0
    resources:
      limits: {memory: 1Gi}
"""
    pod = objects(text)["Pod"]
    assert pod["requests"]["memory"] == 2**30 and pod["limits"]["memory"] == 2**30


def test_limit_range_max_becomes_the_default_limit():
    # kubernetes/kops additionalobjects limit-range addon sets only defaultRequest cpu 100m.
    kops = """\
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: default}
spec:
  limits:
  - defaultRequest: {cpu: 100m}
    type: Container
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - {name: web, image: registry.example.com/web:1.0.0}
"""
    pod = objects(kops)["Pod"]
    assert pod["qos"] == "Burstable" and pod["requests"]["cpu"] == 100
    only_max = kops.replace("defaultRequest: {cpu: 100m}", "max: {memory: 1Gi}")
    pod = objects(only_max)["Pod"]
    assert pod["limits"]["memory"] == 2**30 and pod["requests"]["memory"] == 2**30


# --- RES004 -----------------------------------------------------------------------------------------

# GoogleCloudPlatform/kubernetes-engine-samples observability/elastic-stack-tutorial/
#   max-map-count-setter-ds.yaml (trimmed): the init container sets a sysctl, the app container sleeps.
MAX_MAP_COUNT = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: max-map-count-setter, namespace: elastic-system}
spec:
  selector: {matchLabels: {name: max-map-count-setter}}
  template:
    metadata: {labels: {name: max-map-count-setter}}
    spec:
      initContainers:
        - name: max-map-count-setter
          image: docker.io/bash:5.2.15
          resources:
            requests: {cpu: 10m, memory: 10Mi}
            limits: {cpu: 50m, memory: 32Mi}
          command: ["/usr/local/bin/bash", "-e", "-c", "echo 262144 > /proc/sys/vm/max_map_count"]
      containers:
        - name: sleep
          image: docker.io/bash:5.2.15
          command: ["sleep", "infinity"]
          resources:
            requests: {cpu: 10m, memory: 10Mi}
            limits: {cpu: 10m, memory: 10Mi}
"""


def res004(text: str):
    return [f for f in scan_yaml(text).findings if f.rule == "RES004"]


def test_sleeping_app_container_makes_guaranteed_irrelevant():
    assert res004(MAX_MAP_COUNT) == []


def test_fix_text_says_raise_the_requests_when_the_limits_are_set():
    working = MAX_MAP_COUNT.replace('command: ["sleep", "infinity"]', "command: [/app/serve]")
    [finding] = res004(working)
    assert "requests below their limits" in finding.message
    assert "set limits" not in finding.fix
    assert "raise requests.cpu to 50m" in finding.fix and "requests.memory to 32Mi" in finding.fix
    no_limits = working.replace("            limits: {cpu: 50m, memory: 32Mi}\n", "", 1)
    [finding] = res004(no_limits)
    assert "set limits.cpu" in finding.fix and "set limits.memory" in finding.fix


# GoogleCloudPlatform/kubernetes-engine-samples streaming/kafka-confluent/manifests/04-ssl-options/
#   kafkacat-mtls.yaml: a client toolbox pod that idles until someone execs into it.
KAFKACAT = """\
apiVersion: v1
kind: Pod
metadata:
  name: kafkacat-mtls
spec:
  containers:
  - name: kafkacat
    image: confluentinc/cp-kcat:7.4.0
    command: ["sh", "-c", "exec tail -f /dev/null"]
"""


def test_idle_toolbox_pod_is_low():
    finding = res001(KAFKACAT)
    assert finding.severity.label == "low" and "toolbox" in finding.message
    serving = KAFKACAT.replace('command: ["sh", "-c", "exec tail -f /dev/null"]', "command: [kcat-server]")
    assert res001(serving).severity.label == "high"


def test_bare_pod_that_runs_to_completion_reads_as_one_pod():
    done = KAFKACAT.replace("spec:\n  containers:", "spec:\n  restartPolicy: Never\n  containers:").replace(
        '["sh", "-c", "exec tail -f /dev/null"]', "[kcat, -L]"
    )
    finding = res001(done)
    assert finding.severity.label == "medium"
    assert "this pod is BestEffort" in finding.message and "nothing retries a bare pod" in finding.message
