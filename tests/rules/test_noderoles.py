"""API002: selectors and tolerations written for the node-role.kubernetes.io/master kubeadm removed."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.settings import Settings, use_settings

DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      priorityClassName: system-node-critical
PLACEMENT
      containers:
        - name: agent
          image: registry.example.com/agent:1.0.0
          resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 32Mi}}
"""

BGP_PEER = """\
apiVersion: crd.projectcalico.org/v1
kind: BGPPeer
metadata: {name: rr}
spec:
  nodeSelector: all()
  peerSelector: SELECTOR
"""


def api002(text: str, version: str = "1.24") -> list[tuple[str, str]]:
    with use_settings(Settings(kubernetes_version=version)):
        found = scan_yaml(text).findings
    return [(f.severity.label, f.path) for f in found if f.rule == "API002"]


def placed(placement: str) -> str:
    return DAEMONSET.replace("PLACEMENT", placement)


MASTER_SELECTOR = '      nodeSelector: {node-role.kubernetes.io/master: ""}'


def test_node_selector_on_the_old_label_selects_nothing_from_1_24():
    assert api002(placed(MASTER_SELECTOR)) == [
        ("high", "/spec/template/spec/nodeSelector/node-role.kubernetes.io~1master")
    ]
    assert api002(placed(MASTER_SELECTOR), "1.23") == [
        ("low", "/spec/template/spec/nodeSelector/node-role.kubernetes.io~1master")
    ]


def test_required_affinity_is_reported_only_when_every_term_needs_the_old_label():
    only_master = """\
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{key: node-role.kubernetes.io/master, operator: Exists}]"""
    assert [s for s, _ in api002(placed(only_master))] == ["high"]
    either = (
        only_master
        + "\n              - matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]"
    )
    assert api002(placed(either)) == []
    excluded = only_master.replace("operator: Exists", "operator: DoesNotExist")
    assert api002(placed(excluded)) == []


@pytest.mark.parametrize(
    ("selector", "reported"),
    [
        ("has(node-role.kubernetes.io/master)", True),
        ("node-role.kubernetes.io/master == ''", True),
        ("has(node-role.kubernetes.io/master) || has(node-role.kubernetes.io/control-plane)", False),
        ("has(node-role.kubernetes.io/master-candidate)", False),
        ("has(route-reflector)", False),
    ],
)
def test_calico_selectors(selector, reported):
    text = BGP_PEER.replace("SELECTOR", f'"{selector}"')
    assert bool(api002(text)) is reported


def test_a_toleration_of_the_old_taint_alone_is_low_and_folded_into_a_selection():
    tolerates = (
        "      tolerations: [{key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}]"
    )
    assert api002(placed(tolerates), "1.25") == [("low", "/spec/template/spec/tolerations/0")]
    both = tolerates.replace("}]", "}, {key: node-role.kubernetes.io/control-plane, operator: Exists}]")
    assert api002(placed(both), "1.25") == []
    assert api002(placed("      tolerations: [{operator: Exists}]"), "1.25") == []
    assert [s for s, _ in api002(placed(MASTER_SELECTOR + "\n" + tolerates))] == ["high"]


def test_messages_and_fixes_speak_of_what_was_selected():
    with use_settings(Settings(kubernetes_version="1.24")):
        calico = scan_yaml(BGP_PEER.replace("SELECTOR", '"has(node-role.kubernetes.io/master)"')).findings
        deployment = placed(MASTER_SELECTOR).replace("kind: DaemonSet", "kind: Deployment")
        pods = scan_yaml(deployment).findings
        daemons = scan_yaml(placed(MASTER_SELECTOR)).findings
    [peer] = [f for f in calico if f.rule == "API002"]
    assert "BGP peerings" in peer.message and "taint" not in peer.fix
    [deploy] = [f for f in pods if f.rule == "API002"]
    assert "its pods stay Pending" in deploy.message and "taint" in deploy.fix
    [daemon] = [f for f in daemons if f.rule == "API002"]
    assert "runs no pod at all" in daemon.message
