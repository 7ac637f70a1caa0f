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
