"""ETC006: etcd's data directory on storage deleted with the pod or the container."""

from __future__ import annotations

import pytest

from conftest import scan_yaml

ETCD = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd}
spec:
  replicas: REPLICAS
  serviceName: etcd
  selector: {matchLabels: {app: etcd}}
  template:
    metadata: {labels: {app: etcd}}
    spec:
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd/data]
          resources: {requests: {cpu: 100m, memory: 512Mi}, limits: {memory: 512Mi}}
          volumeMounts: [{name: data, mountPath: MOUNT}]
      volumes:
        - VOLUME
"""


def etc006(
    replicas: int = 3, volume: str = "{name: data, emptyDir: {}}", mount: str = "/var/lib/etcd"
) -> list[str]:
    text = ETCD.replace("REPLICAS", str(replicas)).replace("VOLUME", volume).replace("MOUNT", mount)
    return [f.severity.label for f in scan_yaml(text).findings if f.rule == "ETC006"]


def test_an_empty_dir_member_of_three_is_high_and_a_sole_member_critical():
    assert etc006(3) == ["high"]
    assert etc006(1) == ["critical"]
    assert etc006(3, "{name: data, emptyDir: {medium: Memory}}") == ["high"]


@pytest.mark.parametrize(
    "volume",
    [
        "{name: data, hostPath: {path: /var/lib/etcd}}",
        "{name: data, persistentVolumeClaim: {claimName: etcd-data}}",
    ],
)
def test_lasting_storage_passes(volume):
    assert etc006(3, volume) == []


def test_a_data_dir_outside_every_mount_is_the_writable_layer():
    assert etc006(3, mount="/etc/etcd/certs") == ["high"]


def test_volume_claim_templates_and_trimmed_objects_pass():
    text = ETCD.replace("REPLICAS", "3").replace("MOUNT", "/var/lib/etcd")
    text = text.replace("      volumes:\n        - VOLUME\n", "")
    claims = (
        text
        + "  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec: {accessModes: [ReadWriteOnce]}\n"
    )
    assert [f.rule for f in scan_yaml(claims).findings if f.rule == "ETC006"] == []
    trimmed = text.replace("          volumeMounts: [{name: data, mountPath: /var/lib/etcd}]\n", "")
    assert [f.rule for f in scan_yaml(trimmed).findings if f.rule == "ETC006"] == []
