"""Edge cases of the resources rules beyond their documented examples."""

from conftest import rule_ids, scan_yaml

KUBEADM_ETCD = """\
apiVersion: v1
kind: Pod
metadata: {name: etcd-cp1, namespace: kube-system}
spec:
  priorityClassName: system-node-critical
  hostNetwork: true
  containers:
    - name: etcd
      image: registry.k8s.io/etcd:3.5.12-0
      command: [etcd, --data-dir=/var/lib/etcd]
      resources:
        requests: {cpu: 100m, memory: 100Mi}
"""


def test_control_plane_pods_without_memory_limit_are_not_flagged():
    assert "RES003" not in rule_ids(scan_yaml(KUBEADM_ETCD))


def test_same_pod_without_priority_class_is_flagged():
    text = KUBEADM_ETCD.replace("  priorityClassName: system-node-critical\n", "")
    assert "RES003" in rule_ids(scan_yaml(text))


def test_limit_without_request_is_not_request_below_limit():
    text = KUBEADM_ETCD.replace("requests: {cpu: 100m, memory: 100Mi}", "limits: {memory: 1Gi}")
    assert "RES002" not in rule_ids(scan_yaml(text))


def test_oom_score_in_message():
    text = KUBEADM_ETCD.replace(
        "requests: {cpu: 100m, memory: 100Mi}", "{requests: {memory: 1Gi}, limits: {memory: 4Gi}}"
    )
    text = text.replace("resources:\n        {", "resources: {")
    finding = next(f for f in scan_yaml(text).findings if f.rule == "RES002")
    # 1000 - 1000 * 1Gi / 16Gi = 938 (pkg/kubelet/qos/policy.go, integer maths)
    assert finding.extra["oom_score_adj"] == 938
    assert "938" in finding.message
