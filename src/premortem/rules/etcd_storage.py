"""Where an etcd member keeps its data: storage that is deleted with the pod or the container."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.podspec import pod_spec_of, replicas_of
from premortem.rules.etcd import EtcdServer, etcd_servers
from premortem.rules.registry import Hit, object_rule

# etcd's default --data-dir is "<name>.etcd" in the working directory: only an explicit one is judged.


def _volumes(doc: Document, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or () if isinstance(v, dict)}
    claims = doc.obj.get("spec", {}).get("volumeClaimTemplates") if doc.kind == "StatefulSet" else None
    for claim in claims if isinstance(claims, list) else ():
        name = claim.get("metadata", {}).get("name") if isinstance(claim, dict) else None
        if isinstance(name, str):
            volumes[name] = {"name": name, "persistentVolumeClaim": {"claimName": name}}
    return volumes


def ephemeral_data_dir(server: EtcdServer, spec: dict[str, Any]) -> str | None:
    """What deletes this member's data directory ("the pod" for an emptyDir, "the container" when no
    volume holds it), or None when it is on lasting storage or cannot be told."""
    data_dir = server.flags.get("data-dir")
    if not data_dir or not data_dir.startswith("/") or "$" in data_dir:
        return None
    data_dir = posixpath.normpath(data_dir)
    mounts = server.container.field("volumeMounts")
    best: dict[str, Any] | None = None
    for mount in mounts if isinstance(mounts, list) else ():
        if not isinstance(mount, dict) or not isinstance(mount.get("mountPath"), str):
            continue
        at = posixpath.normpath(mount["mountPath"])
        inside = data_dir == at or data_dir.startswith(at.rstrip("/") + "/")
        if inside and (best is None or len(at) > len(posixpath.normpath(best["mountPath"]))):
            best = mount
    if best is None:
        # no mount at all is a trimmed object (a policy test's input), not a member that runs so
        return "the container" if mounts or spec.get("volumes") else None
    volume = _volumes(server.doc, spec).get(str(best.get("name")))
    if volume is None:
        return None  # a volume the file does not define (a patch or a template completes it)
    return "the pod" if "emptyDir" in volume else None


def _members(server: EtcdServer) -> int:
    replicas = replicas_of(server.doc)
    listed = [e for e in (server.flags.get("initial-cluster") or "").split(",") if e.strip()]
    return max(replicas if replicas is not None else 1, len(listed), 1)


@object_rule(
    "ETC006",
    "etcd-data-dir-ephemeral",
    "etcd",
    Severity.HIGH,
    "etcd keeps its data in an emptyDir or the container's own filesystem: deleted with the pod",
)
def etcd_data_dir_ephemeral(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    etcd servers (see the etcd rules) whose explicit `--data-dir` (or `ETCD_DATA_DIR`) is on an
    `emptyDir` volume, or on no volume at all (the container's writable layer). A `hostPath`, a
    PersistentVolumeClaim, a StatefulSet's `volumeClaimTemplates` or any other volume is accepted,
    and so is a volume the file does not define, or a pod with no volume at all (a trimmed object,
    such as a policy test's input: a running etcd always mounts its certificates).

    Critical when the member is alone (`--initial-cluster` names one member and the workload has one
    replica): its data is the cluster's only copy. High for a member of a larger cluster.

    ## Why it breaks clusters
    An `emptyDir` is created empty when the pod is scheduled and deleted with it: every drain, node
    upgrade, eviction, rollout or node loss that replaces the pod replaces its data directory with an
    empty one; a data directory on no volume is lost at every container restart too (an OOM kill, a
    failed liveness probe). A member that comes back empty under its old name and peer URLs keeps its
    old member ID: the leader sends it a commit index beyond its empty log and etcd stops with
    `tocommit(N) is out of range [lastIndex(0)]`. It crash-loops until a human removes the member and
    adds it again with `--initial-cluster-state=existing`. Lose a majority this way (a node-pool
    upgrade drains them one after another) and the cluster's state is gone; a single member loses it
    at the first drain.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: etcd}
    spec:
      replicas: 3
      serviceName: etcd
      selector: {matchLabels: {app: etcd}}
      template:
        metadata: {labels: {app: etcd}}
        spec:
          containers:
            - name: etcd
              image: registry.k8s.io/etcd:3.5.12-0
              command: [etcd, --data-dir=/var/lib/etcd]
              volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
          volumes:
            - {name: data, emptyDir: {}}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: etcd}
    spec:
      replicas: 3
      serviceName: etcd
      selector: {matchLabels: {app: etcd}}
      template:
        metadata: {labels: {app: etcd}}
        spec:
          containers:
            - name: etcd
              image: registry.k8s.io/etcd:3.5.12-0
              command: [etcd, --data-dir=/var/lib/etcd]
              volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
      volumeClaimTemplates:
        - metadata: {name: data}
          spec:
            accessModes: [ReadWriteOnce]
            resources: {requests: {storage: 20Gi}}
    ```

    ## Fix
    Keep the data directory on a PersistentVolumeClaim (a StatefulSet's `volumeClaimTemplates`), or
    on a `hostPath` for a static control-plane member pinned to its node.

    ## Source
    K8s docs concepts/storage/volumes.md ("emptyDir": deleted permanently when the pod is removed
    from the node) and concepts/workloads/controllers/statefulset.md (stable storage);
    etcd-io/website content/en/docs/v3.5/op-guide/runtime-configuration.md ("Replace a failed
    member": remove, then add with --initial-cluster-state existing) and op-guide/failures.md;
    etcd-io/raft log.go (the "tocommit out of range" panic); KubeCon Europe 2018, "101 Ways to
    'Break and Recover' Kubernetes Cluster" (Oath: etcd on an empty dir).
    """
    pod = pod_spec_of(doc)
    if pod is None:
        return
    for server in etcd_servers(doc):
        lost_with = ephemeral_data_dir(server, pod.spec)
        if lost_with is None:
            continue
        members = _members(server)
        where = (
            "an emptyDir volume" if lost_with == "the pod" else "no volume (the container's writable layer)"
        )
        when = (
            "every drain, eviction, rollout or node loss that replaces the pod"
            if lost_with == "the pod"
            else "every container restart (an OOM kill, a crash) and every pod replacement"
        )
        if members == 1:
            consequence = "it is the only member: the cluster's whole state is gone, with nothing to rejoin."
            severity = Severity.CRITICAL
        else:
            consequence = (
                f"a member of {members} that comes back empty under its old identity crash-loops "
                "(tocommit out of range) until it is removed and added again by hand; lose a majority this "
                "way and the state is gone."
            )
            severity = Severity.HIGH
        yield Hit(
            message=(
                f"etcd's --data-dir {server.flags['data-dir']} is on {where}: {when} deletes it, and {consequence}"
            ),
            fix="Put the data directory on a PersistentVolumeClaim (StatefulSet volumeClaimTemplates).",
            path=server.path_of("data-dir"),
            severity=severity,
            container=server.container_name,
        )
