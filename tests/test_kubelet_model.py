"""The shared kubelet model: reservations, eviction replace-not-merge, node allocatable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.load.reader import load_text
from premortem.model.kubelet import (
    DEFAULT_EVICTION_HARD,
    DEFAULT_EVICTION_HARD_V130,
    allocatable,
    default_kubelet_settings,
    kubelet_settings,
    memory_eviction_bytes,
)
from premortem.settings import Settings, use_settings

GI = 2**30
MI = 2**20


def settings_of(body: str):
    text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + body
    docs = load_text(text, "kubelet.yaml").documents
    assert len(docs) == 1
    return kubelet_settings(docs[0])


def test_defaults_reserve_nothing_and_evict_at_100mi():
    s = default_kubelet_settings()
    assert s.system_reserved == {} and s.kube_reserved == {}
    assert s.eviction_hard == DEFAULT_EVICTION_HARD_V130  # the newest release by default
    with use_settings(Settings(kubernetes_version="1.29")):
        assert default_kubelet_settings().eviction_hard == DEFAULT_EVICTION_HARD
    assert "imagefs.inodesFree" not in DEFAULT_EVICTION_HARD  # a v1.30 default, not v1.29
    assert s.max_pods == 110
    alloc = allocatable({"cpu": 4000, "memory": 16 * GI, "pods": 110}, s)
    assert alloc == {"cpu": 4000, "memory": 16 * GI - 100 * MI, "pods": 110}


def test_an_empty_document_is_the_defaults():
    s = settings_of("address: 0.0.0.0\n")
    assert s.eviction_hard == DEFAULT_EVICTION_HARD_V130
    assert s.eviction_hard_declared is None
    assert not s.reserves_anything


def test_documented_worked_example():
    # K8s docs tasks/administer-cluster/reserve-compute-resources.md: 14.5 CPU, 28.5Gi, 88Gi.
    s = settings_of(
        """
kubeReserved: {cpu: "1", memory: 2Gi, ephemeral-storage: 1Gi}
systemReserved: {cpu: 500m, memory: 1Gi, ephemeral-storage: 1Gi}
evictionHard: {memory.available: 500Mi, nodefs.available: "10%"}
"""
    )
    alloc = allocatable({"cpu": 16000, "memory": 32 * GI, "ephemeral-storage": 100 * GI}, s)
    assert alloc["cpu"] == 14500
    assert alloc["memory"] == 29 * GI - 500 * MI  # the docs round this to 28.5Gi
    assert alloc["ephemeral-storage"] == 88 * GI
    assert alloc["pods"] == 110


def test_setting_one_signal_switches_the_others_off():
    s = settings_of("evictionHard: {memory.available: 500Mi}\n")
    assert s.eviction_hard == {"memory.available": "500Mi"}
    off = ["nodefs.available", "nodefs.inodesFree", "imagefs.available"]
    assert s.disabled_default_signals() == [*off, "imagefs.inodesFree"]
    with use_settings(Settings(kubernetes_version="1.29")):
        assert s.disabled_default_signals() == off


def test_the_defaults_follow_the_release_judged():
    # A cached v1.35 reading must not answer for a v1.29 scan of the same document.
    docs = load_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", "k.yaml")
    assert "imagefs.inodesFree" in kubelet_settings(docs.documents[0]).eviction_hard
    with use_settings(Settings(kubernetes_version="1.29")):
        assert kubelet_settings(docs.documents[0]).eviction_hard == DEFAULT_EVICTION_HARD
    with use_settings(Settings(kubernetes_version="1.30")):
        assert kubelet_settings(docs.documents[0]).eviction_hard == DEFAULT_EVICTION_HARD_V130


def test_merge_default_eviction_settings_keeps_the_defaults():
    s = settings_of("mergeDefaultEvictionSettings: true\nevictionHard: {memory.available: 500Mi}\n")
    assert s.eviction_hard["memory.available"] == "500Mi"
    assert s.eviction_hard["nodefs.available"] == "10%"
    assert s.eviction_hard["imagefs.inodesFree"] == "5%"  # v1.33+ kubelets have the v1.30 defaults
    assert s.disabled_default_signals() == []


def test_empty_map_switches_every_threshold_off():
    s = settings_of("evictionHard: {}\n")
    assert s.eviction_hard == {}
    alloc = allocatable({"memory": 8 * GI}, s)
    assert alloc["memory"] == 8 * GI


def test_null_eviction_hard_is_the_default():
    s = settings_of("evictionHard: null\n")
    assert s.eviction_hard == DEFAULT_EVICTION_HARD_V130


def test_zero_and_hundred_percent_mean_off_and_zero_quantity_is_a_startup_error():
    s = settings_of(
        'evictionHard: {memory.available: "0%", nodefs.available: "100%", imagefs.available: "0"}\n'
    )
    assert s.eviction_hard == {}
    assert [p.path for p in s.problems] == [("evictionHard", "imagefs.available")]


def test_unknown_signal_and_resource_are_problems():
    s = settings_of("evictionHard: {memory.free: 1Gi}\nsystemReserved: {gpu: '1', memory: lots}\n")
    paths = {p.path for p in s.problems}
    assert ("evictionHard", "memory.free") in paths
    assert ("systemReserved", "gpu") in paths
    assert ("systemReserved", "memory") in paths


def test_percentage_memory_threshold():
    assert memory_eviction_bytes("5%", 16 * GI) == int(16 * GI * 0.05)
    assert memory_eviction_bytes("100Mi", 16 * GI) == 100 * MI
    assert memory_eviction_bytes("1.5%", 1000) == 15
    with pytest.raises(ValueError):
        memory_eviction_bytes("lots%", 1000)


def test_hugepages_and_pods_per_core():
    s = settings_of("maxPods: 250\npodsPerCore: 10\n")
    alloc = allocatable({"cpu": 8000, "memory": 16 * GI, "hugepages-2Mi": 1 * GI}, s)
    assert alloc["memory"] == 15 * GI - 100 * MI
    assert alloc["pods"] == 80


def test_pid_reservation_is_a_count():
    s = settings_of("systemReserved: {pid: '1000', memory: 1Gi}\n")
    assert s.system_reserved == {"pid": 1000, "memory": GI}


@given(
    cap=st.integers(min_value=0, max_value=2**40),
    kube=st.integers(min_value=0, max_value=2**36),
    system=st.integers(min_value=0, max_value=2**36),
)
def test_allocatable_never_negative_never_above_capacity(cap, kube, system):
    s = default_kubelet_settings()
    s.kube_reserved = {"memory": kube}
    s.system_reserved = {"memory": system}
    alloc = allocatable({"memory": cap}, s)["memory"]
    assert 0 <= alloc <= cap
    assert alloc == max(0, cap - kube - system - 100 * MI)


def test_kubelet_flags_override_the_file():
    from premortem.model.kubelet import parse_flag_map, with_kubelet_flags

    assert parse_flag_map("cpu=500m, memory=1Gi") == {"cpu": "500m", "memory": "1Gi"}
    assert parse_flag_map("memory.available<200Mi,nodefs.available<5%", "<") == {
        "memory.available": "200Mi",
        "nodefs.available": "5%",
    }
    s = settings_of("kubeReserved: {memory: 2Gi}\nmaxPods: 50\n")
    flags = {
        "kube-reserved": ("memory=1Gi", ("f", "kube-reserved")),
        "eviction-hard": ("memory.available<200Mi", ("f", "eviction-hard")),
        "max-pods": ("lots", ("f", "max-pods")),
    }
    out = with_kubelet_flags(s, flags)
    assert out.kube_reserved == {"memory": GI}
    assert out.eviction_hard == {"memory.available": "200Mi"}
    assert out.max_pods == 50
    assert [p.path for p in out.problems] == [("f", "max-pods")]
    assert s.kube_reserved == {"memory": 2 * GI}  # the file's settings are not modified
    assert allocatable({"memory": 16 * GI}, out)["memory"] == 15 * GI - 200 * MI
