"""etcd manifest rules: edge cases beyond the documented examples (those run in test_rule_docs.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import scan_yaml
from premortem.load.reader import load_text
from premortem.rules.etcd import etcd_servers

# kubeadm's etcd static pod (cmd/kubeadm/app/phases/etcd/local.go), as written to
# /etc/kubernetes/manifests/etcd.yaml by kubeadm v1.29.
KUBEADM_ETCD = """
apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://10.0.0.10:2379
  creationTimestamp: null
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.0.10:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --experimental-initial-corrupt-check=true
    - --experimental-watch-progress-notify-interval=5s
    - --initial-advertise-peer-urls=https://10.0.0.10:2380
    - --initial-cluster=cp-1=https://10.0.0.10:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://10.0.0.10:2380
    - --name=cp-1
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:3.5.12-0
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet: {host: 127.0.0.1, path: /health?exclude=NOSPACE&serializable=true, port: 2381, scheme: HTTP}
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
"""


def etcd_findings(text: str):
    return [f for f in scan_yaml(text).findings if f.category == "etcd"]


def servers(text: str):
    return [s for d in load_text(text, "t.yaml").documents for s in etcd_servers(d)]


def test_kubeadm_etcd_manifest_passes():
    assert etcd_findings(KUBEADM_ETCD) == []
    [server] = servers(KUBEADM_ETCD)
    assert server.flags["data-dir"] == "/var/lib/etcd"
    assert server.static_control_plane


def test_three_kubeadm_members_in_one_dump_do_not_share_a_data_dir():
    members = []
    for i in (1, 2, 3):
        member = KUBEADM_ETCD.replace("name: etcd\n  namespace", f"name: etcd-cp-{i}\n  namespace")
        members.append(member.replace("  hostNetwork: true", f"  hostNetwork: true\n  nodeName: cp-{i}"))
    assert etcd_findings("---".join(members)) == []


def test_two_etcd_static_pods_in_one_file_on_one_directory():
    second = KUBEADM_ETCD.replace("name: etcd\n  namespace", "name: etcd-events\n  namespace")
    found = [f for f in etcd_findings(KUBEADM_ETCD + "---" + second) if f.rule == "ETC003"]
    assert found and all(f.severity.label == "high" for f in found)


def test_daemonset_writer_must_tolerate_the_control_plane():
    agent = """
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      TOLERATIONS
      containers:
        - name: agent
          image: registry.example.com/agent:1.0.0
          volumeMounts: [{name: d, mountPath: /d}]
      volumes: [{name: d, hostPath: {path: /var/lib}}]
"""
    untolerating = agent.replace("TOLERATIONS", "tolerations: []")
    assert not [f for f in etcd_findings(KUBEADM_ETCD + untolerating) if f.rule == "ETC003"]
    tolerating = agent.replace(
        "TOLERATIONS", "tolerations: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]"
    )
    [f] = [f for f in etcd_findings(KUBEADM_ETCD + tolerating) if f.rule == "ETC003"]
    assert f.severity.label == "medium"
    assert "DaemonSet ops/agent" in f.message
    assert f.path == "/spec/containers/0/command/4"


def test_etcdctl_jobs_operators_and_init_containers_are_not_servers():
    text = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: etcd-backup, namespace: kube-system}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: etcd
              image: registry.k8s.io/etcd:3.5.12-0
              command: [etcdctl, snapshot, save, /backup/snap.db]
---
apiVersion: v1
kind: Pod
metadata: {name: etcd-manager-main, namespace: kube-system}
spec:
  initContainers:
    - name: etcd
      image: registry.k8s.io/etcd:3.5.12-0
      command: [/bin/cp, /usr/local/bin/etcd, /opt/etcd/]
  containers:
    - name: etcd-manager
      image: registry.k8s.io/etcd-manager/etcd-manager-slim:v3.0.20240101
      command: [/go-runner]
      args: [/ko-app/etcd-manager, --cluster-name=etcd]
---
apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers:
    - name: etcd
      image: registry.k8s.io/etcd:3.5.12-0
      command: [sh, -c, "mkdir -p /var/lib/etcd && etcdctl endpoint health && sleep 3600"]
"""
    assert servers(text) == []


def test_shell_script_env_and_args_only_forms():
    text = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd, namespace: apisix}
spec:
  serviceName: etcd
  selector: {matchLabels: {app: etcd}}
  template:
    metadata: {labels: {app: etcd}}
    spec:
      containers:
        - name: etcd
          image: quay.io/coreos/etcd:v3.5.12
          env:
            - {name: ETCD_QUOTA_BACKEND_BYTES, value: "17179869184"}
            - {name: ETCD_HEARTBEAT_INTERVAL, value: "250"}
          command:
            - /bin/sh
            - -ec
            - |
              exec /usr/local/bin/etcd --name "${HOSTNAME}" \\
                --data-dir /var/run/etcd/default.etcd --election-timeout 1000
          resources: {requests: {cpu: 100m, memory: 256Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: etcd-args, namespace: apps}
spec:
  containers:
    - name: store
      image: registry.k8s.io/etcd:3.5.12-0
      args: [--heartbeat-interval=100, --election-timeout=400]
      resources: {requests: {cpu: 100m, memory: 256Mi}}
"""
    sts, pod = servers(text)
    assert sts.flags["data-dir"] == "/var/run/etcd/default.etcd"
    assert sts.flags["quota-backend-bytes"] == "17179869184"
    assert pod.flags["election-timeout"] == "400"
    rules = sorted((f.object.name, f.rule) for f in etcd_findings(text))
    # an application etcd is not asked to be system-node-critical
    assert rules == [("etcd", "ETC004"), ("etcd", "ETC005"), ("etcd-args", "ETC005")]
    timing = next(f for f in etcd_findings(text) if f.object.name == "etcd" and f.rule == "ETC005")
    assert "1000ms is below 5 x --heartbeat-interval 250ms" in timing.message
    # the finding points at the script that sets the election timeout
    assert timing.path == "/spec/template/spec/containers/0/command/2"


def test_flags_win_over_environment():
    text = KUBEADM_ETCD.replace(
        "    image: registry.k8s.io/etcd:3.5.12-0",
        "    - --heartbeat-interval=100\n    image: registry.k8s.io/etcd:3.5.12-0\n"
        "    env: [{name: ETCD_HEARTBEAT_INTERVAL, value: '900'}]",
    )
    assert etcd_findings(text) == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--election-timeout=60000"], "above the 50000ms maximum"),
        (["--heartbeat-interval=0"], "must be > 0"),
        (["--election-timeout=1s"], "is not a number"),
        (["--quota-backend-bytes=8589934592"], None),
        (["--quota-backend-bytes=8589934593"], "ETC004"),
        (["--quota-backend-bytes=-1"], "ETC004"),
    ],
)
def test_flag_edge_cases(flags, expected):
    extra = "".join(f"    - {flag}\n" for flag in flags)
    text = KUBEADM_ETCD.replace(
        "    - --data-dir=/var/lib/etcd\n", "    - --data-dir=/var/lib/etcd\n" + extra
    )
    found = etcd_findings(text)
    if expected is None:
        assert found == []
    elif expected.startswith("ETC"):
        assert [f.rule for f in found] == [expected]
    else:
        assert [f.rule for f in found] == ["ETC005"] and expected in found[0].message


def test_burstable_without_memory_request_is_medium():
    text = KUBEADM_ETCD.replace("        memory: 100Mi\n", "")
    [f] = etcd_findings(text)
    assert (f.rule, f.severity.label) == ("ETC001", "medium")
    assert "memory" in f.message and "cpu.shares" not in f.message


@pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd is not installed")
def test_real_etcd_refuses_what_etc005_reports(tmp_path):
    """The real etcd binary exits at startup on the documented failing example's flags."""
    proc = subprocess.run(
        ["etcd", f"--data-dir={tmp_path / 'data'}", "--heartbeat-interval=300"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "should be at least as 5 times as" in proc.stdout + proc.stderr


def test_image_named_like_etcd_serving_its_ports_is_a_server():
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: etcd}
spec:
  replicas: 3
  selector: {matchLabels: {name: etcd}}
  template:
    metadata: {labels: {name: etcd}}
    spec:
      containers:
        - name: member
          image: openshift/etcd-20-centos7
          ports: [{containerPort: 2379}, {containerPort: 2380}]
"""
    # One root cause: the BestEffort pod (RES001) carries ETC001's facts instead of a second finding.
    [f] = [f for f in scan_yaml(text).findings if f.category in ("etcd", "resources")]
    assert (f.rule, f.severity.label) == ("RES001", "high")
    assert [a["rule"] for a in f.extra["absorbed"]] == ["ETC001"]
    assert "client request" in f.message
    assert servers(text.replace("2379}, {containerPort: 2380", "8080")) == []


def test_init_container_restoring_into_the_data_dir_is_not_a_rival_but_a_sidecar_is():
    restore = KUBEADM_ETCD.replace(
        "  containers:\n",
        "  initContainers:\n  - name: restore\n    image: registry.example.com/restore:1.0.0\n"
        "    volumeMounts: [{name: etcd-data, mountPath: /var/lib/etcd}]\n  containers:\n",
    )
    assert etcd_findings(restore) == []
    sidecar = KUBEADM_ETCD.replace(
        "  hostNetwork: true",
        "  - name: backup\n    image: registry.example.com/backup:1.0.0\n"
        "    volumeMounts: [{name: etcd-data, mountPath: /data}]\n  hostNetwork: true",
    )
    [f] = etcd_findings(sidecar)
    assert (f.rule, f.severity.label) == ("ETC003", "medium")


@pytest.mark.parametrize(
    "extra_args",
    [
        "extraArgs: {heartbeat-interval: '300', quota-backend-bytes: '17179869184'}",
        "extraArgs: [{name: heartbeat-interval, value: '300'}, {name: quota-backend-bytes, value: '17179869184'}]",
    ],
)
def test_kubeadm_cluster_configuration_extra_args(extra_args):
    text = f"""
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.29.4
etcd:
  local:
    dataDir: /var/lib/etcd
    {extra_args}
"""
    found = sorted((f.rule, f.path) for f in etcd_findings(text.replace("v1beta3", "v1beta4")))
    assert [rule for rule, _ in found] == ["ETC004", "ETC005"]
    assert all(path.startswith("/etcd/local/extraArgs/") for _, path in found)


def test_kubeadm_external_etcd_and_defaults_are_clean():
    text = """
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
etcd:
  external:
    endpoints: [https://10.0.0.5:2379]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
etcd:
  local:
    dataDir: /var/lib/etcd
"""
    assert etcd_findings(text) == []


def test_application_etcd_pod_with_host_network_is_not_asked_to_be_node_critical():
    text = """
apiVersion: v1
kind: Pod
metadata: {name: etcd-0, namespace: apisix}
spec:
  hostNetwork: true
  containers:
    - name: etcd
      image: quay.io/coreos/etcd:v3.5.12
      command: [etcd, --data-dir=/data]
      resources: {requests: {cpu: 100m, memory: 256Mi}}
"""
    assert etcd_findings(text) == []
    assert [f.rule for f in etcd_findings(text.replace(", namespace: apisix", ""))] == ["ETC002"]
