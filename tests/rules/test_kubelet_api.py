"""KUB006: the kubelet's API rate limit against maxPods, with the defaults of the target release."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.settings import Settings, use_settings

HEAD = (
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nsystemReserved: {memory: 1Gi}\n"
)


def kub006(body: str, version: str | None = None, name: str = "kubelet.yaml"):
    with use_settings(Settings(kubernetes_version=version)):
        return [f for f in scan_yaml(HEAD + body, name=name).findings if f.rule == "KUB006"]


def test_numbers_in_the_message():
    [f] = kub006("maxPods: 250\nkubeAPIQPS: 5\nkubeAPIBurst: 10\n")
    assert f.severity.label == "medium"
    assert f.extra == {"catch_up_seconds": 198, "kube_api_qps": 5.0, "kube_api_burst": 10, "max_pods": 250}
    assert "about 198 s" in f.message and f.path == "/kubeAPIQPS"


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.26", "medium"), ("1.27", None), (None, None)],
)
def test_defaults_follow_the_release(version, expected):
    found = kub006("maxPods: 110\n", version)
    assert [f.severity.label for f in found] == ([expected] if expected else [])
    if found:
        assert "the defaults before v1.27" in found[0].message
        assert found[0].fix.startswith("Set kubeAPIQPS: 50")


def test_high_when_catching_up_takes_minutes():
    [f] = kub006("maxPods: 500\nkubeAPIQPS: 5\n", "1.30")
    assert f.severity.label == "high"


def test_zero_qps_is_client_gos_default_and_negative_is_unlimited():
    assert kub006("maxPods: 110\nkubeAPIQPS: 0\nkubeAPIBurst: 10\n")
    assert not kub006("maxPods: 500\nkubeAPIQPS: -1\n")


def test_drop_ins_only_when_they_set_the_limits():
    dropin = "etc/kubernetes/kubelet.conf.d/20-pods.conf"
    assert not kub006("maxPods: 250\n", "1.26", name=dropin)
    assert kub006("kubeAPIQPS: 2\n", name=dropin)


def test_small_nodes_are_fine_even_with_old_defaults():
    assert not kub006("maxPods: 20\n", "1.26")
