"""Kubelet rules: edge cases beyond the documented examples (those run in test_rule_docs.py)."""

from __future__ import annotations

from conftest import scan_yaml
from premortem.settings import Settings, use_settings

HEAD = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


def findings(body: str, name: str = "kubelet.yaml", rule: str | None = None):
    result = scan_yaml(HEAD + body, name=name)
    return [f for f in result.findings if rule is None or f.rule == rule]


def test_kub001_names_the_allocatable_consequence():
    [f] = findings("maxPods: 110\n", rule="KUB001")
    assert "100Mi" in f.message and "15.9Gi" in f.message
    assert f.severity.label == "medium"


def test_kub001_silent_with_kube_reserved_only():
    assert not findings("kubeReserved: {memory: 893Mi}\n", rule="KUB001")


def test_kub001_zero_reservations_reserve_nothing():
    assert findings("kubeReserved: {memory: '0'}\nsystemReserved: {}\n", rule="KUB001")


def test_drop_in_files_are_not_judged_for_what_they_leave_out():
    for name in ("etc/kubernetes/kubelet.conf.d/10-max-pods.conf", "expected-kubelet-config-drop-in.json"):
        result = findings("maxPods: 58\nevictionHard: {memory.available: 200Mi}\n", name=name)
        assert not [f for f in result if f.rule in ("KUB001", "KUB002", "KUB003")], name


def test_kub002_disk_signals_off_is_medium_and_lists_them():
    body = "kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: 1Gi}\n"
    [f] = findings(body, rule="KUB002")
    assert f.severity.label == "medium"
    off = ["nodefs.available", "nodefs.inodesFree", "imagefs.available"]
    assert f.extra["disabled_signals"] == [*off, "imagefs.inodesFree"]  # a default since v1.30
    assert "mergeDefaultEvictionSettings" in f.fix and "v1.35 kubelet" in f.message
    with use_settings(Settings(kubernetes_version="1.29")):
        [f] = findings(body, rule="KUB002")
    assert f.extra["disabled_signals"] == off
    assert "(and from v1.30 imagefs.inodesFree<5%)" in f.message


def test_kub002_the_four_v129_signals_leave_imagefs_inodes_off_from_v130():
    # The list many node images write (awslabs/amazon-eks-ami and kops write these four).
    body = (
        "kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: 100Mi, nodefs.available: '10%', "
        "nodefs.inodesFree: '5%', imagefs.available: '15%'}\n"
    )
    [f] = findings(body, rule="KUB002")
    assert f.severity.label == "low" and f.extra["disabled_signals"] == ["imagefs.inodesFree"]
    for version in ("1.29", "1.28"):
        with use_settings(Settings(kubernetes_version=version)):
            assert not findings(body, rule="KUB002")


def test_kub002_only_imagefs_off_is_low():
    body = (
        "kubeReserved: {memory: 1Gi}\n"
        "evictionHard: {memory.available: 100Mi, nodefs.available: '10%', nodefs.inodesFree: '5%'}\n"
    )
    [f] = findings(body, rule="KUB002")
    assert f.severity.label == "low"


def test_kub002_honours_merge_default_eviction_settings():
    body = "kubeReserved: {memory: 1Gi}\nmergeDefaultEvictionSettings: true\nevictionHard: {memory.available: 1Gi}\n"
    assert not findings(body)


def test_kub002_explicit_zero_percent_is_a_choice_not_a_finding():
    body = (
        "kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: 1Gi, nodefs.available: '10%', "
        "nodefs.inodesFree: '5%', imagefs.available: '0%', imagefs.inodesFree: '0%'}\n"
    )
    assert not findings(body, rule="KUB002")


def test_kub003_empty_map_switches_memory_eviction_off():
    result = findings("kubeReserved: {memory: 1Gi}\nevictionHard: {}\n")
    rules = sorted(f.rule for f in result)
    assert rules == ["KUB002", "KUB003"]


def test_kub003_zero_percent_is_off():
    [f] = findings("kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: '0%'}\n", rule="KUB003")
    assert "switches it off" in f.message


def test_kub003_percentages_judged_on_a_16gi_node():
    assert findings("kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: '0.5%'}\n", rule="KUB003")
    assert not findings(
        "kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: '5%'}\n", rule="KUB003"
    )


def test_kub003_small_absolute_threshold():
    [f] = findings("kubeReserved: {memory: 1Gi}\nevictionHard: {memory.available: 50Mi}\n", rule="KUB003")
    assert f.path == "/evictionHard/memory.available"
    assert f.line == 4


def test_kub003_soft_threshold_lowers_severity():
    body = (
        "kubeReserved: {memory: 1Gi}\nevictionHard: {nodefs.available: '10%'}\n"
        "evictionSoft: {memory.available: 1Gi}\nevictionSoftGracePeriod: {memory.available: 1m}\n"
    )
    [f] = findings(body, rule="KUB003")
    assert f.severity.label == "low"


def test_defaults_are_clean_apart_from_reservations():
    assert [f.rule for f in findings("cgroupDriver: systemd\n")] == ["KUB001"]


def test_kub004_rejections():
    body = "kubeReserved: {memory: 1Gi, gpu: '1'}\nevictionHard: {memory.available: '0', memory.free: 1Gi}\n"
    messages = [f.message for f in findings(body, rule="KUB004")]
    assert any("cannot reserve 'gpu'" in m for m in messages)
    assert any("must be positive" in m for m in messages)
    assert any("unsupported eviction signal 'memory.free'" in m for m in messages)
    # an invalid memory threshold is KUB004's, not reported again as "off" by KUB003
    assert not findings(body, rule="KUB003")


def test_kub004_soft_without_grace_period():
    [f] = findings("kubeReserved: {memory: 1Gi}\nevictionSoft: {nodefs.available: '15%'}\n", rule="KUB004")
    assert "grace period must be specified" in f.message
    assert f.path == "/evictionSoft/nodefs.available"


def test_other_kinds_named_kubeletconfiguration_are_ignored():
    text = "apiVersion: example.com/v1\nkind: KubeletConfiguration\nmetadata: {name: x}\n"
    assert not [f for f in scan_yaml(text).findings if f.category == "kubelet"]


def test_kub005_swap_behaviours():
    base = "kubeReserved: {memory: 1Gi}\nfailSwapOn: false\n"
    # Severity policy (issue 14): refused by the release judged against (the newest by default) -> high;
    # judged against v1.29 it works until the upgrade -> medium.
    [f] = findings(base + "memorySwap: {swapBehavior: UnlimitedSwap}\n", rule="KUB005")
    assert f.severity.label == "high" and "refuses it at startup" in f.message  # the newest release
    with use_settings(Settings(kubernetes_version="1.29")):
        [f] = findings(base + "memorySwap: {swapBehavior: UnlimitedSwap}\n", rule="KUB005")
    assert f.severity.label == "medium" and "from v1.30" in f.message
    [f] = findings(base + "memorySwap: {swapBehavior: Unlimited}\n", rule="KUB005")
    assert f.severity.label == "high"
    for ok in ("NoSwap", "LimitedSwap", "''"):
        assert not findings(base + f"memorySwap: {{swapBehavior: {ok}}}\n", rule="KUB005")
    assert not findings(base, rule="KUB005")  # failSwapOn false alone: NoSwap by default from v1.30


def test_kub004_enforcing_reservations_needs_their_cgroups():
    body = "kubeReserved: {memory: 1Gi}\nenforceNodeAllocatable: [pods, system-reserved, kube-reserved]\n"
    found = findings(body, rule="KUB004")
    assert [f.path for f in found] == ["/enforceNodeAllocatable/1", "/enforceNodeAllocatable/2"]
    assert "systemReservedCgroup must be specified" in found[0].message
    ok = body + "systemReservedCgroup: /system.slice\nkubeReservedCgroup: /runtime.slice\n"
    assert not findings(ok, rule="KUB004")
    assert findings("kubeReserved: {memory: 1Gi}\nenforceNodeAllocatable: [none, pods]\n", rule="KUB004")
    assert findings("kubeReserved: {memory: 1Gi}\nenforceNodeAllocatable: [pod]\n", rule="KUB004")


KUBEADM_INIT = """
apiVersion: kubeadm.k8s.io/{version}
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
{args}
---
"""


def kubeadm(args: dict[str, str], body: str, version: str = "v1beta3") -> list:
    if version == "v1beta3":
        lines = "\n".join(f"    {k}: {v!r}" for k, v in args.items())
    else:
        lines = "\n".join(f"    - {{name: {k}, value: {v!r}}}" for k, v in args.items())
    text = KUBEADM_INIT.format(version=version, args=lines) + HEAD + body
    return [f for f in scan_yaml(text).findings if f.category == "kubelet"]


def test_kubeadm_extra_args_reservations_count():
    for version in ("v1beta3", "v1beta4"):
        assert not kubeadm({"system-reserved": "cpu=500m,memory=1Gi"}, "cgroupDriver: systemd\n", version)
    # without them the same KubeletConfiguration reserves nothing
    assert [f.rule for f in kubeadm({"node-labels": "pool=a"}, "cgroupDriver: systemd\n")] == ["KUB001"]


def test_kubeadm_extra_args_eviction_hard_overrides_the_file():
    found = kubeadm(
        {"system-reserved": "memory=1Gi", "eviction-hard": "memory.available<500Mi"},
        "evictionHard: {memory.available: 1Gi, nodefs.available: '10%', nodefs.inodesFree: '5%', "
        "imagefs.available: '15%'}\n",
    )
    [f] = found
    assert f.rule == "KUB002"
    assert f.object.kind == "InitConfiguration"
    assert f.path == "/nodeRegistration/kubeletExtraArgs/eviction-hard"
    assert f.message.startswith("kubeletExtraArgs eviction-hard names memory.available")


def test_kubeadm_extra_args_memory_threshold():
    [f] = kubeadm(
        {
            "kube-reserved": "memory=1Gi",
            "eviction-hard": "memory.available<50Mi,nodefs.available<10%,"
            "nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%",
        },
        "cgroupDriver: systemd\n",
        version="v1beta4",
    )
    assert f.rule == "KUB003"
    assert f.path == "/nodeRegistration/kubeletExtraArgs/1/value"


def test_kub004_checks_kubeadm_flags():
    text = KUBEADM_INIT.format(
        version="v1beta3", args="    system-reserved: 'gpu=1'\n    eviction-hard: 'memory.available<0'"
    ).rstrip("-\n")
    found = [f for f in scan_yaml(text).findings if f.rule == "KUB004"]
    assert sorted(f.path for f in found) == [
        "/nodeRegistration/kubeletExtraArgs/eviction-hard",
        "/nodeRegistration/kubeletExtraArgs/system-reserved",
    ]
    assert any("--system-reserved: cannot reserve 'gpu'" in f.message for f in found)
