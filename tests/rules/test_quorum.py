"""PRB008: a liveness probe on the only member of a consensus store."""

from __future__ import annotations

from conftest import scan_yaml
from premortem.engine import scan
from premortem.load.document import LoadResult
from premortem.load.reader import load_text
from premortem.rules import all_rules

KUBEADM_PROBE = """\
      livenessProbe:
        failureThreshold: 8
        httpGet: {host: 127.0.0.1, path: /health?exclude=NOSPACE&serializable=true, port: 2381, scheme: HTTP}
        initialDelaySeconds: 10
        periodSeconds: 10
        timeoutSeconds: 15
"""
TIGHT_PROBE = """\
      livenessProbe:
        httpGet: {host: 127.0.0.1, path: /health, port: 2381}
"""


def static_etcd(name: str, initial_cluster: str, probe: str, extra: str = "") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: etcd-{name}, namespace: kube-system, labels: {{component: etcd, tier: control-plane}}}}
spec:
  hostNetwork: true
  priorityClassName: system-node-critical
  containers:
    - name: etcd
      image: registry.k8s.io/etcd:3.5.12-0
      command:
        - etcd
        - --data-dir=/var/lib/etcd
        - --initial-cluster={initial_cluster}
{extra}{probe}"""


def prb008(text: str, name: str = "t.yaml"):
    return [f for f in scan_yaml(text, name=name).findings if f.rule == "PRB008"]


def test_tight_probe_on_a_single_static_etcd():
    [f] = prb008(static_etcd("cp1", "cp1=https://10.0.0.1:2380", TIGHT_PROBE))
    assert f.severity.label == "medium"
    assert "only etcd member" in f.message and "30 s" in f.message and "1 s timeout" in f.message
    assert f.path == "/spec/containers/0/livenessProbe"
    assert f.extra == {"failure_budget_seconds": 30, "timeout_seconds": 1}


def test_kubeadm_probe_is_not_tight():
    assert not prb008(static_etcd("cp1", "cp1=https://10.0.0.1:2380", KUBEADM_PROBE))


def test_members_that_are_not_alone():
    three = "a=https://10.0.0.1:2380,b=https://10.0.0.2:2380,c=https://10.0.0.3:2380"
    assert not prb008(static_etcd("a", three, TIGHT_PROBE))
    joined = "        - --initial-cluster-state=existing\n"
    assert not prb008(static_etcd("b", "b=https://10.0.0.2:2380", TIGHT_PROBE, joined))
    # the first control-plane node of an HA cluster: its manifest names only itself, but the other
    # members' static pods are deployed with it
    loaded = LoadResult()
    for node in ("cp1", "cp2", "cp3"):
        loaded.extend(
            load_text(static_etcd(node, f"{node}=https://x:2380", TIGHT_PROBE), f"manifests/etcd-{node}.yaml")
        )
    assert "PRB008" not in [f.rule for f in scan(loaded, all_rules()).findings]
    # ...while two unrelated single-node clusters in sibling projects are each alone
    loaded = LoadResult()
    for project in ("alpha", "beta"):
        loaded.extend(
            load_text(static_etcd("cp1", "cp1=https://x:2380", TIGHT_PROBE), f"{project}/etcd.yaml")
        )
    assert [f.rule for f in scan(loaded, all_rules()).findings].count("PRB008") == 2


def test_statefulset_replicas_decide():
    sts = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk}
spec:
  replicas: REPLICAS
  serviceName: zk
  selector: {matchLabels: {app: zk}}
  template:
    metadata: {labels: {app: zk}}
    spec:
      containers:
        - name: zookeeper
          image: docker.io/library/zookeeper:3.9.2
          livenessProbe: {exec: {command: [zkServer.sh, status]}, timeoutSeconds: 2, failureThreshold: 3}
"""
    [f] = prb008(sts.replace("REPLICAS", "1"))
    assert "only ZooKeeper member" in f.message
    assert not prb008(sts.replace("REPLICAS", "3"))


def test_consul_only_in_server_mode():
    pod = """\
apiVersion: v1
kind: Pod
metadata: {name: consul}
spec:
  containers:
    - name: consul
      image: hashicorp/consul:1.18.1
      args: ARGS
      livenessProbe: {httpGet: {path: /v1/status/leader, port: 8500}}
"""
    assert prb008(pod.replace("ARGS", "[agent, -server, -bootstrap-expect=1]"))
    assert not prb008(pod.replace("ARGS", "[agent, -retry-join=consul-server]"))


def test_threshold_params_are_tunable():
    from premortem.settings import Settings, use_settings

    text = static_etcd("cp1", "cp1=https://10.0.0.1:2380", KUBEADM_PROBE)
    with use_settings(Settings(params={"PRB008": {"min_failure_seconds": 120}})):
        assert prb008(text)


def test_fix_raises_the_timing_to_kubeadms():
    from fix.helpers import fix_run

    text = static_etcd("cp1", "cp1=https://10.0.0.1:2380", TIGHT_PROBE)
    run = fix_run({"t.yaml": text}, ("PRB008",))
    fixed = run.files[0].fixed
    assert "timeoutSeconds: 15" in fixed and "failureThreshold: 8" in fixed
    assert not prb008(fixed)
