"""Quorum stores run as one member: a liveness probe restarts the only copy of the state."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.image import parse_image
from premortem.model.podspec import CONTAINER, ONE_SHOT_KINDS, ContainerView, pod_spec_of, replicas_of
from premortem.model.probes import LIVENESS, probes_of
from premortem.model.units import same_unit
from premortem.rules.etcd import etcd_servers
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule

# Images of consensus stores whose single member holds the only copy of the state.
_QUORUM_IMAGES = {"zookeeper": "ZooKeeper", "cp-zookeeper": "ZooKeeper", "consul": "Consul"}
_DISCOVERY_FLAGS = ("discovery", "discovery-srv", "discovery-srv-name")
_KINDS = ("Pod", "StatefulSet", "Deployment", "ReplicaSet", "ReplicationController")


@dataclass(frozen=True, slots=True)
class SoleMember:
    doc: Document
    container: ContainerView
    store: str  # "etcd", "ZooKeeper", "Consul"
    evidence: str  # why this is the only member


def _etcd_members(flag: str | None) -> int:
    """Members an etcd ``--initial-cluster`` names (etcd's default names this member alone)."""
    if not flag:
        return 1
    return len([entry for entry in flag.split(",") if entry.strip()])


def sole_members(docs: list[Document]) -> list[SoleMember]:
    """Members of etcd, ZooKeeper or Consul that are, by what the manifests say, alone."""
    etcd: list[SoleMember] = []
    others: list[SoleMember] = []
    etcd_files: list[tuple[str, int]] = []  # (file, members it runs) of every etcd server read
    for doc in docs:
        if doc.kind in ONE_SHOT_KINDS or doc.kind == "DaemonSet":
            continue
        replicas = replicas_of(doc)
        for server in etcd_servers(doc):
            etcd_files.append((doc.file, replicas if replicas is not None else 1))
            if replicas not in (None, 1) or any(f in server.flags for f in _DISCOVERY_FLAGS):
                continue
            if server.flags.get("initial-cluster-state") == "existing":
                continue  # it joined a cluster that has other members
            if _etcd_members(server.flags.get("initial-cluster")) != 1:
                continue
            why = (
                "--initial-cluster names this member alone"
                if server.flags.get("initial-cluster")
                else "no --initial-cluster: etcd starts a one-member cluster"
            )
            etcd.append(SoleMember(doc, server.container, "etcd", why))
        if replicas not in (None, 1):
            continue
        pod = pod_spec_of(doc)
        if pod is None:
            continue
        for container in pod.containers():
            image = container.data.get("image")
            if container.role != CONTAINER or not isinstance(image, str):
                continue
            store = _QUORUM_IMAGES.get(posixpath.basename(parse_image(image).repository))
            if store is None or (store == "Consul" and not _consul_server(container)):
                continue
            where = "a bare Pod" if replicas is None else f"{doc.kind} with replicas: 1"
            others.append(SoleMember(doc, container, store, f"{where}: one {store} server"))
    # Other etcd members deployed with it (one static pod per control-plane node): none is alone.
    alone = [m for m in etcd if sum(n for f, n in etcd_files if same_unit(f, m.doc.file)) == 1]
    return alone + others


def _consul_server(container: ContainerView) -> bool:
    words = [
        str(w)
        for key in ("command", "args")
        if isinstance(container.data.get(key), list)
        for w in container.data[key]
    ]
    return any(w in ("-server", "--server") or w.startswith("-server=") for w in words)


@cluster_rule(
    "PRB008",
    "liveness-on-sole-quorum-member",
    "probes",
    Severity.MEDIUM,
    "Liveness probe on the only member of etcd, ZooKeeper or Consul: a slow disk restarts the store",
    params={
        "min_failure_seconds": Param(
            60, "a liveness budget (periodSeconds x failureThreshold) below this is tight"
        ),
        "min_timeout_seconds": Param(5, "a liveness timeoutSeconds below this is tight"),
    },
)
def liveness_on_sole_quorum_member(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    A liveness probe with a tight budget (`periodSeconds x failureThreshold` under 60 s, or
    `timeoutSeconds` under 5 s) on the only member of a consensus store: an etcd server whose
    `--initial-cluster` names only itself (or is absent), when no other etcd member is deployed with
    it (same file or directory tree) and it did not join an existing cluster (`--initial-cluster-state=existing`, `--discovery`);
    a ZooKeeper server, or a Consul agent run with `-server`, in a bare Pod or a workload with
    `replicas: 1`. kubeadm's own etcd probe (`/health?serializable=true`, `timeoutSeconds: 15`,
    `failureThreshold: 8`) is not tight and is not reported.

    ## Why it breaks clusters
    A single member has no peer to take over: while it restarts, every write and every read of the
    store fails (for etcd: the API server answers 5xx, controllers stop, nothing can be scheduled).
    What makes a healthy-but-busy member miss a health check is exactly what a lone member meets in
    ordinary operation: a slow fsync on a shared disk, a compaction or defragmentation (etcd's
    backend is locked for the duration), a snapshot. With a tight budget the kubelet kills it in the
    middle of that work; on restart etcd replays its WAL and reloads the snapshot, which takes
    longer and loads the same disk harder, so the next probes fail too and the member ends in
    CrashLoopBackOff with back-off delays of up to five minutes: the only copy of the cluster's state
    stays offline far longer than the stall that started it. A readiness or startup probe never
    restarts the container and does not have this failure mode.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: etcd}
    spec:
      replicas: 1
      serviceName: etcd
      selector: {matchLabels: {app: etcd}}
      template:
        metadata: {labels: {app: etcd}}
        spec:
          containers:
            - name: etcd
              image: registry.k8s.io/etcd:3.5.12-0
              command: [etcd, --data-dir=/var/lib/etcd, --listen-client-urls=http://0.0.0.0:2379]
              livenessProbe:
                httpGet: {path: /health, port: 2379}
                timeoutSeconds: 1
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: etcd}
    spec:
      replicas: 1
      serviceName: etcd
      selector: {matchLabels: {app: etcd}}
      template:
        metadata: {labels: {app: etcd}}
        spec:
          containers:
            - name: etcd
              image: registry.k8s.io/etcd:3.5.12-0
              command: [etcd, --data-dir=/var/lib/etcd, --listen-client-urls=http://0.0.0.0:2379]
              readinessProbe:
                httpGet: {path: /health, port: 2379}
              livenessProbe:
                httpGet: {path: "/health?serializable=true", port: 2379}
                timeoutSeconds: 15
                periodSeconds: 10
                failureThreshold: 8
    ```

    ## Fix
    Run three members (or five) so that one restart does not take the store down. With one member,
    drop the liveness probe (keep a readiness probe) or give it the budget kubeadm uses for etcd:
    a local check (`/health?serializable=true`), `timeoutSeconds: 15`, `periodSeconds: 10`,
    `failureThreshold: 8`.

    ## Source
    K8s docs concepts/configuration/liveness-readiness-startup-probes.md (liveness restarts the
    container; readiness does not), concepts/workloads/pods/pod-lifecycle.md (CrashLoopBackOff
    back-off capped at 5 minutes); kubernetes/kubernetes cmd/kubeadm/app/phases/etcd/local.go and
    cmd/kubeadm/app/util/staticpod (kubeadm's etcd probe); etcd-io/website
    content/en/docs/v3.5/op-guide/maintenance.md (defragmentation blocks the member) and faq.md
    (slow disks), op-guide/runtime-configuration.md (--initial-cluster-state).
    """
    docs = [doc for kind in _KINDS for doc in context.index.of_kind(kind)]
    min_failure = int(liveness_on_sole_quorum_member.param("min_failure_seconds"))
    min_timeout = int(liveness_on_sole_quorum_member.param("min_timeout_seconds"))
    for member in sole_members(docs):
        probe = probes_of(member.container).get(LIVENESS)
        if probe is None or probe.failure_budget is None or probe.timeout is None:
            continue
        if probe.failure_budget >= min_failure and probe.timeout >= min_timeout:
            continue
        name = member.container.name or "?"
        yield Hit(
            message=(
                f"container {name!r} is the only {member.store} member ({member.evidence}) and its liveness probe "
                f"gives up after {probe.failure_threshold} failures {probe.period} s apart ({probe.failure_budget} s) "
                f"with a {probe.timeout} s timeout: a slow disk, a compaction or a defragmentation that stalls it that "
                f"long makes the kubelet restart the only copy of the {member.store} state, the restart (WAL replay, "
                "snapshot load) loads the same disk harder, and the store stays down in CrashLoopBackOff long after "
                "the stall."
            ),
            fix=(
                "Run 3 members; with one, remove livenessProbe (keep readinessProbe) or give it a local check with "
                "timeoutSeconds: 15, periodSeconds: 10, failureThreshold: 8 (what kubeadm uses for etcd)."
            ),
            path=probe.path,
            container=member.container.name,
            doc=member.doc,
            extra={"failure_budget_seconds": probe.failure_budget, "timeout_seconds": probe.timeout},
        )
