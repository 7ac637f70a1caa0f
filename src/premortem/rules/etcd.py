"""etcd as a manifest shows it: resources, priority, data directory, quota and Raft timing.

An etcd *server* container is found by what it runs, not by its name alone: ``command``/``args``
starting with the ``etcd`` binary (directly or in a ``sh -c`` script), or an etcd image run with its
default entrypoint (an image whose name only contains "etcd" must also expose port 2379 or 2380). ``etcdctl``/``etcdutl`` jobs, etcd-manager and operators are not etcd servers.
Flags are read as etcd reads them (``--flag=value``, ``--flag value``, single dash too) and from
``ETCD_*`` environment variables, which flags override. Live disk and metrics checks belong to
``premortem etcd``.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document, Path
from premortem.model.criticality import NODE_CRITICAL, criticality_of, is_static_pod
from premortem.model.image import parse_image
from premortem.model.index import ObjectIndex
from premortem.model.podspec import CONTAINER, SIDECAR, ContainerView, pod_spec_of
from premortem.model.quantity import format_bytes
from premortem.model.resources import BEST_EFFORT, oom_score_adj, resources_of
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule, object_rule

# Kinds whose pods run a long-lived etcd member (Jobs and CronJobs run etcdctl backups).
SERVER_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")
ETCD_BINARIES = frozenset({"etcd"})
ETCD_IMAGES = frozenset({"etcd", "etcd-amd64", "etcd-arm64", "etcd-ppc64le", "etcd-s390x"})
SHELLS = frozenset({"sh", "bash", "ash", "dash"})
ETCD_PORTS = (2379, 2380)
MAX_QUOTA = 8 * 2**30  # etcd's suggested maximum (server/etcdserver/quota.go MaxQuotaBytes)
DEFAULT_HEARTBEAT_MS = 100
DEFAULT_ELECTION_MS = 1000
MAX_ELECTION_MS = 50000
TYPICAL_NODE_MEMORY = 16 * 2**30


@dataclass(frozen=True, slots=True)
class EtcdServer:
    """An etcd member's container and the settings it starts with."""

    doc: Document
    container: ContainerView
    flags: dict[str, str]  # flag name without dashes -> value ("true" for a bare boolean flag)
    flag_paths: dict[str, Path]  # where each flag is written (command/args item or env entry)

    def path_of(self, flag: str) -> Path:
        return self.flag_paths.get(flag, self.container.path)

    @property
    def container_name(self) -> str | None:
        return self.container.name

    @property
    def static_control_plane(self) -> bool:
        return is_static_control_plane(self.doc)


@dataclass(frozen=True, slots=True)
class KubeadmEtcd:
    """The local etcd a kubeadm ClusterConfiguration asks for (``etcd.local.extraArgs``, ``dataDir``)."""

    doc: Document
    flags: dict[str, str]
    flag_paths: dict[str, Path]
    container_name: str | None = "etcd"

    def path_of(self, flag: str) -> Path:
        return self.flag_paths.get(flag, ("etcd", "local"))


def kubeadm_etcd(doc: Document) -> KubeadmEtcd | None:
    """kubeadm.k8s.io ClusterConfiguration: extraArgs is a map (v1beta3) or a list of name/value (v1beta4)."""
    if (
        doc.kind != "ClusterConfiguration"
        or doc.api_group != "kubeadm.k8s.io"
        or not isinstance(doc.obj, dict)
    ):
        return None
    etcd = doc.obj.get("etcd")
    local = etcd.get("local") if isinstance(etcd, dict) else None
    if not isinstance(local, dict):
        return None  # external etcd: not run by kubeadm
    flags: dict[str, str] = {}
    paths: dict[str, Path] = {}
    if isinstance(local.get("dataDir"), str):
        flags["data-dir"] = local["dataDir"]
        paths["data-dir"] = ("etcd", "local", "dataDir")
    extra = local.get("extraArgs")
    if isinstance(extra, dict):
        for key, value in extra.items():
            flags[str(key)] = str(value)
            paths[str(key)] = ("etcd", "local", "extraArgs", str(key))
    elif isinstance(extra, list):
        for i, item in enumerate(extra):
            if isinstance(item, dict) and "name" in item:
                flags[str(item["name"])] = str(item.get("value", ""))
                paths[str(item["name"])] = ("etcd", "local", "extraArgs", i, "value")
    return KubeadmEtcd(doc, flags, paths)


def _flag_sources(doc: Document) -> list[EtcdServer | KubeadmEtcd]:
    sources: list[EtcdServer | KubeadmEtcd] = list(etcd_servers(doc))
    kubeadm = kubeadm_etcd(doc)
    if kubeadm is not None:
        sources.append(kubeadm)
    return sources


def is_static_control_plane(doc: Document) -> bool:
    """A control-plane pod: a static pod (model/criticality.py), or a Pod in kube-system or labelled
    ``component: etcd`` (kubeadm, minikube, rke2, kops manifests)."""
    if doc.kind != "Pod" or not isinstance(doc.obj, dict):
        return False
    if is_static_pod(doc):
        return True
    meta = doc.obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    labels = labels if isinstance(labels, dict) else {}
    return doc.ref.namespace == "kube-system" or labels.get("component") == "etcd"


def _basename(text: str) -> str:
    return posixpath.basename(text.strip())


def _is_etcd_image(image: Any) -> bool:
    if not isinstance(image, str) or "etcd" not in image:  # every name in ETCD_IMAGES has it
        return False
    ref = parse_image(image)
    return posixpath.basename(ref.repository) in ETCD_IMAGES


def _serves_etcd_ports(container: ContainerView) -> bool:
    """An image named like etcd (``openshift/etcd-20-centos7``) exposing etcd's client or peer port."""
    image = container.field("image")
    if not isinstance(image, str) or "etcd" not in image:
        return False
    if "etcd" not in posixpath.basename(parse_image(image).repository):
        return False
    ports = container.field("ports")
    if not isinstance(ports, list):
        return False
    return any(isinstance(p, dict) and p.get("containerPort") in ETCD_PORTS for p in ports)


def _etcd_argv(container: ContainerView) -> tuple[list[tuple[str, Path]], bool] | None:
    """The arguments etcd receives (each with its path), and whether they came from a shell script.

    None when the container does not run an etcd server.
    """
    command = container.field("command")
    args = container.field("args")
    # Most containers are not etcd: tell from the first word before listing every argument.
    head = command if isinstance(command, list) and command else args if isinstance(args, list) else None
    if head:
        first = _basename(str(head[0]))
        if (
            first not in ETCD_BINARIES
            and first not in SHELLS
            and (isinstance(command, list) or first[:1] != "-")
        ):
            return None
    items: list[tuple[str, Path]] = []
    if isinstance(command, list):
        items += [(str(v), (*container.path, "command", i)) for i, v in enumerate(command)]
    if isinstance(args, list):
        items += [(str(v), (*container.path, "args", i)) for i, v in enumerate(args)]
    if not items:
        return (
            ([], False) if _is_etcd_image(container.field("image")) or _serves_etcd_ports(container) else None
        )
    first = _basename(items[0][0])
    if first in ETCD_BINARIES:
        return items[1:], False
    if first in SHELLS:
        for i, (text, _path) in enumerate(items):
            if text.startswith("-") and "c" in text[1:] and i + 1 < len(items):
                script_argv = _script_etcd_argv(items[i + 1][0])
                if script_argv is not None:
                    return [(arg, items[i + 1][1]) for arg in script_argv], True
        return None
    if not isinstance(command, list) and first.startswith("-") and _is_etcd_image(container.field("image")):
        return items, False  # args only: flags to the image's etcd entrypoint
    return None


_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
_PREFIXES = frozenset({"exec", "then", "do", "else", "nohup", "time", "command"})


def _script_etcd_argv(script: str) -> list[str] | None:
    """The arguments of the ``etcd`` command in a shell script, if it runs one (in command position:
    ``mkdir -p /var/lib/etcd`` does not count)."""
    try:
        tokens = shlex.split(script.replace("\\\n", " "), comments=True)
    except ValueError:
        return None
    command_position = True
    for i, token in enumerate(tokens):
        if command_position and _basename(token) in ETCD_BINARIES:
            out = []
            for arg in tokens[i + 1 :]:
                if arg in _SEPARATORS:
                    break
                out.append(arg.rstrip(";"))
                if arg.endswith(";"):
                    break
            return out
        if token in _SEPARATORS or token.endswith(";"):
            command_position = True
        elif command_position and (token in _PREFIXES or "=" in token.split("/")[0]):
            command_position = True  # exec etcd, VAR=value etcd
        else:
            command_position = False
    return None


def _parse_flags(argv: list[tuple[str, Path]]) -> tuple[dict[str, str], dict[str, Path]]:
    flags: dict[str, str] = {}
    paths: dict[str, Path] = {}
    i = 0
    while i < len(argv):
        text, path = argv[i]
        i += 1
        if not text.startswith("-") or text in ("-", "--"):
            continue
        name, eq, value = text.lstrip("-").partition("=")
        if not eq:
            if i < len(argv) and not argv[i][0].startswith("-"):
                value = argv[i][0]
                i += 1
            else:
                value = "true"
        flags[name] = value
        paths[name] = path
    return flags, paths


def etcd_servers(doc: Document) -> list[EtcdServer]:
    """The etcd member containers of a pod-bearing object (cached on the document)."""
    cached = doc.cache.get("etcd_servers")
    if isinstance(cached, list):
        return cached
    out: list[EtcdServer] = []
    pod = pod_spec_of(doc) if doc.kind in SERVER_KINDS else None
    if pod is not None:
        for container in pod.containers():
            if container.role not in (CONTAINER, SIDECAR):
                continue
            found = _etcd_argv(container)
            if found is None:
                continue
            argv, _from_script = found
            flags, paths = _env_flags(container)
            arg_flags, arg_paths = _parse_flags(argv)
            flags.update(arg_flags)  # flags win over ETCD_* variables
            paths.update(arg_paths)
            out.append(EtcdServer(doc, container, flags, paths))
    doc.cache["etcd_servers"] = out
    return out


def _env_flags(container: ContainerView) -> tuple[dict[str, str], dict[str, Path]]:
    flags: dict[str, str] = {}
    paths: dict[str, Path] = {}
    env = container.field("env")
    if not isinstance(env, list):
        return flags, paths
    for i, item in enumerate(env):
        if not isinstance(item, dict) or "value" not in item:
            continue
        name = str(item.get("name") or "")
        if not name.startswith("ETCD_") or name.startswith("ETCDCTL_"):
            continue
        flag = name[len("ETCD_") :].lower().replace("_", "-")
        flags[flag] = str(item["value"])
        paths[flag] = (*container.path, "env", i, "value")
    return flags, paths


def _int_flag(server: EtcdServer | KubeadmEtcd, name: str) -> int | None:
    value = server.flags.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


# --- ETC001 ---------------------------------------------------------------------------------------


@object_rule(
    "ETC001",
    "etcd-without-requests",
    "etcd",
    Severity.MEDIUM,
    "etcd container without cpu and memory requests",
    kinds=SERVER_KINDS,
)
def etcd_without_requests(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    etcd server containers (static pod manifests, StatefulSets, anything running the `etcd`
    binary) whose cpu or memory request is zero or missing after API defaulting (a limit alone
    counts: the API server copies it into the request). High when the pod is BestEffort and not
    `system-node-critical`.

    ## Why it breaks clusters
    - Without a cpu request the container gets the minimum cpu weight (cpu.shares 2): any busy
      process on the node starves etcd, heartbeats go out late, followers start elections, and the
      API server sees timeouts and leader changes.
    - Without a memory request the scheduler does not account for etcd's memory (its database is
      memory-mapped and grows with it), so pods are packed onto the control-plane node, and unless
      the pod is `system-node-critical` the kernel OOM killer ranks etcd among the first victims
      (`oom_score_adj` 1000 when BestEffort, about 999 with no memory request).

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd, tier: control-plane}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd, tier: control-plane}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
          resources:
            requests: {cpu: 100m, memory: 100Mi}
    ```

    ## Fix
    Set `resources.requests` for cpu and memory on the etcd container (kubeadm uses 100m / 100Mi;
    size the memory request to the database and the cpu request to your write load).

    ## Source
    kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go (MilliCPUToShares: no request gives the
    minimum 2 shares), pkg/kubelet/qos/policy.go (oom_score_adj), cmd/kubeadm/app/phases/etcd/local.go
    (kubeadm's etcd requests); docs/k8s-facts §1-§3.
    """
    servers = etcd_servers(doc)
    if not servers:
        return
    res = resources_of(doc)
    if res is None:
        return
    by_path = {c.container.path: c for c in res.containers}
    critical = criticality_of(doc).node_critical
    for server in servers:
        c = by_path.get(server.container.path)
        if c is None:
            continue
        missing = [r for r in ("cpu", "memory") if not c.request(r)]
        if not missing:
            continue
        adj = oom_score_adj(res.qos, c.request("memory"), TYPICAL_NODE_MEMORY, critical)
        parts = []
        if "cpu" in missing:
            parts.append(
                "no cpu request gives it the minimum cpu weight (cpu.shares 2), so busy neighbours delay heartbeats and trigger leader elections"
            )
        if "memory" in missing:
            parts.append(
                "no memory request leaves its memory out of the scheduler's accounting"
                + (f" and the OOM killer ranks it {adj}" if not critical else "")
            )
        yield Hit(
            message=(
                f"etcd runs as {res.qos}: {'; '.join(parts)}. "
                + (
                    "Every Kubernetes API call waits on etcd, so a starved or killed member is a control-plane outage."
                    if server.static_control_plane
                    else "Every client request waits on the etcd leader, so a starved or killed member stalls them all."
                )
            ),
            fix="Set resources.requests: {cpu: 100m, memory: 100Mi} at least (kubeadm's values), sized to your load.",
            path=(*server.container.path, "resources"),
            container=server.container.name,
            severity=Severity.HIGH if res.qos == BEST_EFFORT and not critical else None,
            extra={"oom_score_adj": adj},
        )


# --- ETC002 ---------------------------------------------------------------------------------------


@object_rule(
    "ETC002",
    "etcd-not-node-critical",
    "etcd",
    Severity.MEDIUM,
    "Control-plane etcd without priorityClassName system-node-critical",
    kinds=["Pod"],
)
def etcd_not_node_critical(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Control-plane etcd pods (static pod manifests: namespace `kube-system`, `component: etcd` or
    `tier: control-plane` labels, or `hostNetwork` without a namespace) without `priorityClassName:
    system-node-critical`. etcd run as an application (a StatefulSet in its own namespace) is not
    checked: `system-node-critical` is meant for the node's own control plane.

    ## Why it breaks clusters
    The kubelet gives `oom_score_adj` -997 to node-critical pods whatever their QoS class; without
    the priority class, etcd gets its QoS score (a Burstable etcd with a 100Mi request on a 16Gi
    node: 994), so when the control-plane node runs out of memory the kernel kills etcd before
    almost any pod. The kubelet also admits critical pods when the node is under pressure and
    preempts others to make room for them.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd, tier: control-plane}}
    spec:
      hostNetwork: true
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
          resources:
            requests: {cpu: 100m, memory: 100Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd, tier: control-plane}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
          resources:
            requests: {cpu: 100m, memory: 100Mi}
    ```

    ## Fix
    Add `priorityClassName: system-node-critical` to the etcd pod spec (kubeadm does).

    ## Source
    kubernetes/kubernetes pkg/kubelet/qos/policy.go (IsNodeCriticalPod gives -997),
    pkg/kubelet/types/pod_update.go (critical pods), cmd/kubeadm/app/util/staticpod/utils.go
    (ComponentPod sets system-node-critical); docs/k8s-facts §2.
    """
    servers = [s for s in etcd_servers(doc) if s.static_control_plane]
    if not servers:
        return
    spec = pod_spec_of(doc)
    if spec is None or spec.spec.get("priorityClassName") == NODE_CRITICAL:
        return
    res = resources_of(doc)
    server = servers[0]
    request = 0
    qos = BEST_EFFORT
    if res is not None:
        qos = res.qos
        request = next(
            (c.request("memory") for c in res.containers if c.container.path == server.container.path), 0
        )
    adj = oom_score_adj(qos, request, TYPICAL_NODE_MEMORY)
    current = spec.spec.get("priorityClassName")
    yield Hit(
        message=(f"etcd has priorityClassName {current!r}" if current else "etcd has no priorityClassName")
        + (
            f", so the kubelet scores it by QoS ({qos}: oom_score_adj {adj} on a 16Gi node) instead of -997: "
            "when the control-plane node runs out of memory, the kernel kills etcd before the pods around it."
        ),
        fix="Set spec.priorityClassName: system-node-critical.",
        path=(*spec.path, "priorityClassName") if current else spec.path,
        container=server.container.name,
        extra={"oom_score_adj": adj},
    )


# --- ETC003 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HostMount:
    doc: Document
    container: ContainerView
    host_path: str
    read_only: bool
    mount_path: str


def _host_mounts(doc: Document) -> list[_HostMount]:
    pod = pod_spec_of(doc)
    if pod is None:
        return []
    volumes = pod.spec.get("volumes")
    host_paths: dict[str, str] = {}
    if isinstance(volumes, list):
        for vol in volumes:
            if isinstance(vol, dict) and isinstance(vol.get("hostPath"), dict):
                path = vol["hostPath"].get("path")
                if isinstance(path, str) and path.startswith("/"):
                    host_paths[str(vol.get("name"))] = posixpath.normpath(path)
    out = []
    for container in pod.containers():
        if container.role not in (CONTAINER, SIDECAR):
            continue  # init containers finish before etcd starts (a restore or chown is not a rival)
        mounts = container.field("volumeMounts")
        if not isinstance(mounts, list):
            continue
        for m in mounts:
            if not isinstance(m, dict) or str(m.get("name")) not in host_paths:
                continue
            host = host_paths[str(m.get("name"))]
            sub = m.get("subPath")
            if isinstance(sub, str) and sub:
                host = posixpath.normpath(posixpath.join(host, sub))
            out.append(
                _HostMount(
                    doc,
                    container,
                    host,
                    m.get("readOnly") is True,
                    posixpath.normpath(str(m.get("mountPath") or "/")),
                )
            )
    return out


def _data_dir_host_path(server: EtcdServer) -> str | None:
    data_dir = server.flags.get("data-dir")
    if not data_dir or not data_dir.startswith("/"):
        return None
    data_dir = posixpath.normpath(data_dir)
    best: _HostMount | None = None
    for mount in _host_mounts(server.doc):
        if mount.container.path != server.container.path:
            continue
        inside = data_dir == mount.mount_path or data_dir.startswith(mount.mount_path.rstrip("/") + "/")
        if inside and (best is None or len(mount.mount_path) > len(best.mount_path)):
            best = mount
    if best is None:
        return None
    rest = posixpath.relpath(data_dir, best.mount_path)
    return posixpath.normpath(posixpath.join(best.host_path, rest)) if rest != "." else best.host_path


def _overlaps(a: str, b: str) -> bool:
    if a == b:
        return True
    return a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def _tolerates_control_plane(doc: Document) -> bool:
    pod = pod_spec_of(doc)
    tolerations = pod.spec.get("tolerations") if pod else None
    if not isinstance(tolerations, list):
        return False
    for t in tolerations:
        if not isinstance(t, dict):
            continue
        key = t.get("key")
        if key is None and t.get("operator") == "Exists":
            return True
        if key in ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"):
            return True
    return False


def _same_node(a: Document, b: Document) -> bool:
    """Can these two pods run on the same node, as far as the files say?"""
    if b.kind == "DaemonSet":
        return not is_static_control_plane(a) or _tolerates_control_plane(b)
    if a.kind == "Pod" and b.kind == "Pod":
        node_a, node_b = _node_name(a), _node_name(b)
        if node_a or node_b:
            return bool(node_a) and node_a == node_b
        return a.file == b.file  # two static manifests written together for one node
    return False


def _node_name(doc: Document) -> str | None:
    pod = pod_spec_of(doc)
    name = pod.spec.get("nodeName") if pod else None
    return name if isinstance(name, str) and name else None


@cluster_rule(
    "ETC003",
    "etcd-data-dir-shared",
    "etcd",
    Severity.HIGH,
    "etcd's data directory is on a hostPath another container writes to",
)
def etcd_data_dir_shared(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    The host directory behind etcd's `--data-dir` (through its `hostPath` volume) against every other
    running container (init containers finish first) in the files read that mounts the same directory, a directory inside it or one
    containing it, without `readOnly: true`, and that can run on the same node: a DaemonSet (on a
    static control-plane etcd only if it tolerates the control-plane taint), or a pod pinned to the
    same `nodeName` (static manifests without one count when they are in the same file). Another
    etcd member on the same directory is high; any other writer is medium.

    ## Why it breaks clusters
    etcd's write-ahead log and bbolt database expect to be the only writer. A second etcd on the same
    directory cannot take the file lock (it hangs or crash-loops) or, started against copied state,
    forks the cluster's history. Any other writer shares the filesystem and its fsync queue: WAL
    fsync latency rises past etcd's 10 ms guidance, heartbeats slip, and if the writer fills the
    disk, etcd cannot append to its WAL and the member stops serving.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
          volumeMounts: [{name: etcd-data, mountPath: /var/lib/etcd}]
      volumes:
        - {name: etcd-data, hostPath: {path: /var/lib/etcd, type: DirectoryOrCreate}}
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: backup-agent, namespace: ops}
    spec:
      selector: {matchLabels: {app: backup-agent}}
      template:
        metadata: {labels: {app: backup-agent}}
        spec:
          tolerations: [{operator: Exists}]
          containers:
            - name: agent
              image: registry.example.com/backup-agent:2.3.1
              volumeMounts: [{name: state, mountPath: /data}]
          volumes:
            - {name: state, hostPath: {path: /var/lib/etcd/agent-cache}}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
          volumeMounts: [{name: etcd-data, mountPath: /var/lib/etcd}]
      volumes:
        - {name: etcd-data, hostPath: {path: /var/lib/etcd, type: DirectoryOrCreate}}
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: backup-agent, namespace: ops}
    spec:
      selector: {matchLabels: {app: backup-agent}}
      template:
        metadata: {labels: {app: backup-agent}}
        spec:
          tolerations: [{operator: Exists}]
          containers:
            - name: agent
              image: registry.example.com/backup-agent:2.3.1
              volumeMounts: [{name: etcd, mountPath: /etcd, readOnly: true}]
          volumes:
            - {name: etcd, hostPath: {path: /var/lib/etcd}}
    ```

    ## Fix
    Give etcd a directory (ideally a dedicated disk) no other container writes to; mount it
    `readOnly: true` where others only need to read it; take backups with `etcdctl snapshot save`
    over the client port instead of from the files.

    ## Source
    etcd-io/website content/en/docs/v3.5/op-guide/hardware.md (dedicated disk), faq.md (WAL fsync
    p99 < 10 ms); etcd-io/etcd server/storage/backend (bbolt file lock); docs/k8s-facts §9.
    """
    index: ObjectIndex = context.index
    servers = [s for doc in index.workloads() for s in etcd_servers(doc)]
    if not servers:
        return
    mounts = [m for doc in index.workloads() for m in _host_mounts(doc) if not m.read_only]
    for server in servers:
        host_dir = _data_dir_host_path(server)
        if host_dir is None:
            continue
        for mount in mounts:
            if mount.doc is server.doc and mount.container.path == server.container.path:
                continue
            if mount.host_path == "/" or not _overlaps(host_dir, mount.host_path):
                continue
            if mount.doc is not server.doc and not _same_node(server.doc, mount.doc):
                continue
            other_is_etcd = any(s.container.path == mount.container.path for s in etcd_servers(mount.doc))
            who = f"{mount.doc.ref.display()} container {mount.container.name!r}"
            yield Hit(
                message=(
                    f"etcd's data directory {host_dir} (host path) is also mounted read-write by {who} at "
                    f"{mount.host_path}: "
                    + (
                        "two etcd members on one data directory: the second cannot take the database lock "
                        "and hangs or crash-loops, or forks the cluster's history if started from copied state."
                        if other_is_etcd
                        else "it shares etcd's disk and fsync queue (WAL fsync latency rises, heartbeats slip) and "
                        "can fill the filesystem, after which etcd cannot append to its WAL and stops serving."
                    )
                ),
                fix=f"Give etcd its own directory (or disk), or mount {mount.host_path} readOnly in {who}.",
                path=server.path_of("data-dir"),
                doc=server.doc,
                container=server.container.name,
                severity=Severity.HIGH if other_is_etcd else Severity.MEDIUM,
            )


# --- ETC004 ---------------------------------------------------------------------------------------


@object_rule(
    "ETC004",
    "etcd-quota-above-8gib",
    "etcd",
    Severity.MEDIUM,
    "--quota-backend-bytes above etcd's suggested 8GiB maximum, or negative (no quota at all)",
    kinds=(*SERVER_KINDS, "ClusterConfiguration"),
    params={"max_quota_bytes": Param(MAX_QUOTA, "largest --quota-backend-bytes accepted without a finding")},
)
def etcd_quota_above_8gib(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    etcd servers started with `--quota-backend-bytes` (or `ETCD_QUOTA_BACKEND_BYTES`, or kubeadm's
    `etcd.local.extraArgs`) above 8GiB
    (8 x 1024^3 bytes), etcd's suggested maximum, or negative, which disables the quota. Unset or 0
    means the 2GiB default.

    ## Why it breaks clusters
    etcd warns at startup above 8GiB because everything that touches the whole database gets
    slower with it: defragmentation blocks the member for its duration, snapshots sent to a new or
    lagging member take longer (during which that member is not in service), restores take longer,
    and the memory-mapped database wants as much page cache as its size. A larger quota usually
    hides the real problem (no compaction, huge objects, event churn) until it hits the new limit
    and the NOSPACE alarm makes the cluster read-only. A negative quota removes that alarm: the
    database grows until the disk is full, and then etcd cannot write at all.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd, --quota-backend-bytes=17179869184]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd, --quota-backend-bytes=8589934592]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
    ```

    ## Fix
    Keep the quota at or below 8GiB (8589934592); compact (`--auto-compaction-retention`) and defragment
    regularly, and find what fills the database before raising it.

    ## Source
    etcd-io/etcd server/etcdserver/quota.go @v3.5.33 (MaxQuotaBytes 8GB, warning above it; default
    2GiB; "disable quotas if negative"); etcd-io/website content/en/docs/v3.5/faq.md, op-guide/maintenance.md; docs/k8s-facts §9.
    """
    for server in _flag_sources(doc):
        quota = _int_flag(server, "quota-backend-bytes")
        if quota is not None and quota < 0:
            yield Hit(
                message=(
                    f"--quota-backend-bytes is {quota}: a negative quota disables etcd's space quota, so there is "
                    "no NOSPACE alarm to stop growth; the database grows until the disk is full and then etcd "
                    "cannot append to its WAL or database at all."
                ),
                fix="Remove the flag (2GiB default) or set a positive quota of at most 8589934592.",
                path=server.path_of("quota-backend-bytes"),
                container=server.container_name,
                extra={"quota_backend_bytes": quota},
            )
            continue
        if quota is None or quota <= etcd_quota_above_8gib.param("max_quota_bytes"):
            continue
        yield Hit(
            message=(
                f"--quota-backend-bytes is {format_bytes(quota)}, above etcd's suggested 8GiB maximum (etcd logs a "
                "warning): defragmentation, snapshots to new members and restores all scale with the database and "
                "block or slow the member for longer."
            ),
            fix="Set --quota-backend-bytes=8589934592 or less, and compact/defragment to keep the database small.",
            path=server.path_of("quota-backend-bytes"),
            container=server.container_name,
            extra={"quota_backend_bytes": quota},
        )


# --- ETC005 ---------------------------------------------------------------------------------------


@object_rule(
    "ETC005",
    "etcd-election-timeout",
    "etcd",
    Severity.HIGH,
    "etcd refuses to start: election timeout below 5x the heartbeat interval (or out of range)",
    kinds=(*SERVER_KINDS, "ClusterConfiguration"),
)
def etcd_election_timeout(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    etcd servers whose `--election-timeout` is below 5 x `--heartbeat-interval` (defaults 1000 ms and
    100 ms; each may come from flags, `ETCD_ELECTION_TIMEOUT` / `ETCD_HEARTBEAT_INTERVAL`, or a kubeadm
    ClusterConfiguration's `etcd.local.extraArgs`), above 50000 ms, zero, negative or not a number.

    ## Why it breaks clusters
    etcd validates these at startup and exits ("--election-timeout[...] should be at least as 5 times
    as --heartbeat-interval[...]"). A member rolled out with them never starts; rolled out to a
    majority of members, the cluster loses quorum and the API server stops serving. The usual
    cause is raising the heartbeat for a slow network without raising the election timeout with it.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd, --heartbeat-interval=300]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      containers:
        - name: etcd
          image: registry.k8s.io/etcd:3.5.12-0
          command: [etcd, --data-dir=/var/lib/etcd, --heartbeat-interval=300, --election-timeout=3000]
          resources: {requests: {cpu: 100m, memory: 100Mi}}
    ```

    ## Fix
    Keep `--election-timeout` at least 5 x (etcd's docs suggest 10 x) `--heartbeat-interval`, both in
    milliseconds, the same on every member, and at most 50000.

    ## Source
    etcd-io/etcd server/embed/config.go (Validate: "should be at least as 5 times as
    --heartbeat-interval", maxElectionMs 50000; TickMs 100, ElectionMs 1000); etcd-io/website
    content/en/docs/v3.5/tuning.md; docs/k8s-facts §9.
    """
    for server in _flag_sources(doc):
        problems: list[tuple[str, str]] = []
        values: dict[str, int] = {}
        for flag, default in (
            ("heartbeat-interval", DEFAULT_HEARTBEAT_MS),
            ("election-timeout", DEFAULT_ELECTION_MS),
        ):
            raw = server.flags.get(flag)
            parsed = _int_flag(server, flag)
            if raw is not None and parsed is None:
                problems.append((flag, f"--{flag}={raw!r} is not a number of milliseconds"))
            elif parsed is not None and parsed <= 0:
                problems.append((flag, f"--{flag} must be > 0 (set to {parsed}ms)"))
            values[flag] = parsed if parsed is not None and parsed > 0 else default
        heartbeat, election = values["heartbeat-interval"], values["election-timeout"]
        if not problems and 5 * heartbeat > election:
            where = "election-timeout" if "election-timeout" in server.flags else "heartbeat-interval"
            problems.append(
                (
                    where,
                    f"--election-timeout {election}ms is below 5 x --heartbeat-interval {heartbeat}ms "
                    f"(= {5 * heartbeat}ms)",
                )
            )
        if not problems and election > MAX_ELECTION_MS:
            problems.append(
                ("election-timeout", f"--election-timeout {election}ms is above the 50000ms maximum")
            )
        for flag, text in problems:
            yield Hit(
                message=(
                    f"{text}: etcd exits at startup instead of joining the cluster. Rolled out to a majority of "
                    "members, etcd loses quorum and the API server stops serving."
                ),
                fix=(
                    f"Set --election-timeout={10 * heartbeat} (10 x the heartbeat, etcd's advice; {5 * heartbeat}ms "
                    "is the least it accepts) on every member, at most 50000."
                ),
                path=server.path_of(flag),
                container=server.container_name,
                extra={"heartbeat_interval_ms": heartbeat, "election_timeout_ms": election},
            )
