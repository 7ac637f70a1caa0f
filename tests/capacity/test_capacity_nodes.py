"""Where node numbers come from: --nodes specs, inventory files, Node objects; allocatable derived the
kubelet's way when only capacity is known."""

from __future__ import annotations

import pytest
from capacity_helpers import index_of

from premortem.analyses.capacity.nodes import NodeSpecError, nodes_from_index, nodes_from_option

GI = 2**30
MI = 2**20

KUBELET = """
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
systemReserved: {cpu: 500m, memory: 1Gi}
kubeReserved: {cpu: 500m, memory: 1Gi}
evictionHard: {memory.available: 500Mi}
maxPods: 58
"""


def test_spec_with_upstream_defaults():
    nodeset = nodes_from_option("3x16cpu/64Gi")
    assert [n.name for n in nodeset.nodes] == ["node-1", "node-2", "node-3"]
    n = nodeset.nodes[0]
    # Upstream kubelet: nothing reserved, memory.available<100Mi, maxPods 110.
    assert (n.cpu, n.memory, n.pods) == (16000, 64 * GI - 100 * MI, 110)
    assert "upstream kubelet defaults" in nodeset.source
    assert "--nodes 3x16cpu/64Gi" in nodeset.source


def test_spec_with_several_shapes_and_pods():
    nodeset = nodes_from_option("2x8cpu/32Gi, 1x4cpu/16Gi/30pods")
    assert [(n.cpu, n.pods) for n in nodeset.nodes] == [(8000, 110), (8000, 110), (4000, 30)]
    assert nodes_from_option("4/16Gi").nodes[0].cpu == 4000
    assert nodes_from_option("2 x 3500m/8Gi").nodes[1].cpu == 3500


def test_spec_derives_allocatable_from_a_kubelet_configuration_read():
    nodeset = nodes_from_option("1x16cpu/64Gi", index_of(KUBELET))
    n = nodeset.nodes[0]
    # 16 - 0.5 - 0.5 cpu; 64Gi - 1Gi - 1Gi - 500Mi; maxPods 58.
    assert (n.cpu, n.memory, n.pods) == (15000, 62 * GI - 500 * MI, 58)
    assert "KubeletConfiguration at t.yaml:" in nodeset.source


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("3x16cpu", "cannot read '3x16cpu'"),
        ("lots", "cannot read 'lots'"),
        ("0x4cpu/8Gi", "between 1 and"),
        ("4cpu/8", "write the unit"),
        ("4cpu/8Gi,", "cannot read ''"),
        ("nodes.yaml", "no such file"),
        ("", "empty"),
    ],
)
def test_bad_specs_say_what_is_expected(spec, words):
    with pytest.raises(NodeSpecError) as info:
        nodes_from_option(spec)
    assert words in str(info.value)


def test_inventory_file(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(
        """
kubelet:
  systemReserved: {cpu: "1", memory: 2Gi}
pools:
  - name: general
    count: 2
    cpu: 8
    memory: 32Gi
    labels: {pool: general}
  - name: db
    count: 1
    cpu: "16"
    memory: 128Gi
    maxPods: 20
    labels: {pool: db}
    taints: [{key: dedicated, value: db, effect: NoSchedule}]
  - name: fixed
    cpu: 4
    memory: 16Gi
    allocatable: {cpu: 3500m, memory: 14Gi, pods: 40}
"""
    )
    nodeset = nodes_from_option(str(path))
    names = [n.name for n in nodeset.nodes]
    assert names == ["general-1", "general-2", "db-1", "fixed-1"]
    general, _, db, fixed = nodeset.nodes
    # 8 cpu - 1 reserved; 32Gi - 2Gi - 100Mi (the default hard eviction threshold stays).
    assert (general.cpu, general.memory) == (7000, 30 * GI - 100 * MI)
    assert general.labels["pool"] == "general"
    assert general.labels["kubernetes.io/hostname"] == "general-1"
    assert general.labels["kubernetes.io/os"] == "linux"  # the kubelet's well-known labels
    assert db.pods == 20 and db.taints[0].display() == "dedicated=db:NoSchedule"
    assert (fixed.cpu, fixed.memory, fixed.pods) == (3500, 14 * GI, 40)
    assert "inventory" in nodeset.source


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("pools: []", "non-empty `pools:`"),
        ("pools: [{name: a, count: 2, cpu: 4}]", "`memory` is missing"),
        ("pools: [{name: a, cpu: 4, memory: lots}]", "not a valid quantity"),
        ("pools: [{name: a, cpu: 4, memory: 8Gi, taints: [{key: k, effect: Sometimes}]}]", "taint effect"),
        ("pools: [{name: a, cpu: 4, memory: 8Gi, count: 0}]", "count must be"),
        ("pools: [{cpu: 4, memory: 8Gi\n", "not valid YAML"),
    ],
)
def test_bad_inventories(tmp_path, text, words):
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(NodeSpecError) as info:
        nodes_from_option(str(path))
    assert words in str(info.value)


def test_node_objects_allocatable_capacity_and_cordon():
    text = """
apiVersion: v1
kind: Node
metadata: {name: a, labels: {pool: x}}
spec:
  unschedulable: true
status:
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
  allocatable: {cpu: 7800m, memory: 30Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata: {name: b}
status:
  capacity: {cpu: "8", memory: 32Gi, pods: "50"}
---
apiVersion: v1
kind: Node
metadata: {name: c}
"""
    nodeset = nodes_from_index(index_of(text, KUBELET))
    assert nodeset is not None
    a, b = nodeset.nodes
    assert (a.cpu, a.memory) == (7800, 30 * GI)
    assert a.unschedulable and a.taints[-1].key == "node.kubernetes.io/unschedulable"
    # b: capacity only -> derived with the KubeletConfiguration: 8 - 1 cpu, 32Gi - 2Gi - 500Mi, min(58, 50).
    assert (b.cpu, b.memory, b.pods) == (7000, 30 * GI - 500 * MI, 50)
    assert "status.allocatable of 1 Node object(s)" in nodeset.source
    assert "status.capacity of 1 Node object(s)" in nodeset.source
    assert any("Node c" in note and "left out" in note for note in nodeset.notes)


def test_no_node_objects_means_no_nodes():
    assert nodes_from_index(index_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")) is None
