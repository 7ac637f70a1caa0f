"""The kubelet fixer completes what evictionHard dropped silently, not what was switched off on purpose."""

from __future__ import annotations

import yaml

from fix.helpers import fix_text, rules_found

CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
kubeReserved: {cpu: 100m, memory: 1Gi}
systemReserved: {cpu: 100m, memory: 512Mi}
evictionHard:
  memory.available: 500Mi
  imagefs.available: "0%"   # image GC handles this disk, on purpose
"""


def test_signal_switched_off_on_purpose_stays_off():
    assert "KUB002" in rules_found(CONFIG)  # nodefs signals were dropped silently
    fixed = fix_text(CONFIG)
    eviction = yaml.safe_load(fixed)["evictionHard"]
    assert eviction["imagefs.available"] == "0%"
    assert eviction["nodefs.available"] == "10%"
    assert eviction["nodefs.inodesFree"] == "5%"
    assert "# image GC handles this disk, on purpose" in fixed
    assert "KUB002" not in rules_found(fixed)
