"""Cluster DNS: the one service every pod depends on, and pods that cannot reach it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.dns import (
    configured_strings,
    is_cluster_dns,
    proportional_autoscaler_for,
    resolves_with_node_dns,
)
from premortem.model.pdb import effective_replicas, hpa_for
from premortem.model.podspec import pod_spec_of
from premortem.rules.registry import ClusterContext, Hit, cluster_rule, object_rule

# A name only cluster DNS answers: <service>.<namespace>.svc[.cluster.local] (or a custom domain after svc).
_CLUSTER_NAME = re.compile(
    r"(?<![\w.-])((?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\.){2,}svc(?:\.[a-z0-9.-]+)?)(?![\w-])", re.I
)


@cluster_rule(
    "DNS001",
    "cluster-dns-single-replica",
    "dns",
    Severity.HIGH,
    "Cluster DNS runs one replica: every drain or loss of its node is a cluster-wide DNS outage",
)
def cluster_dns_single_replica(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    The cluster DNS Deployment (`coredns` or `kube-dns` in `kube-system`, or the label
    `k8s-app: kube-dns` there) running fewer than 2 replicas: `spec.replicas` (default 1), or an
    HPA's `minReplicas`. A cluster-proportional-autoscaler in the scan that targets it
    (`--target=Deployment/coredns`) with `preventSinglePointFailure: true` or `min` of 2 or more
    keeps 2 replicas on any cluster of 2+ nodes and is accepted; one without either is reported.
    With NodeLocal DNSCache (a `node-local-dns` DaemonSet in the scan) the finding is medium: cached
    answers survive, cache misses still fail.

    ## Why it breaks clusters
    Every pod with the default `dnsPolicy: ClusterFirst` sends every name lookup, including the
    Service names applications use to reach each other, to the `kube-dns` Service. With one
    CoreDNS pod, draining its node (an upgrade, a scale-down), a node failure, an eviction under
    memory pressure or an OOM kill of CoreDNS leaves that Service without endpoints until a new
    pod is scheduled, pulls its image and passes readiness: for that time every lookup in the
    cluster fails or times out (resolvers retry for 5 s per attempt), connection pools cannot
    reconnect, and clients that treat a failed lookup as fatal crash. Post-mortems describe exactly
    this: a total outage from one DNS pod.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: coredns
      namespace: kube-system
      labels: {k8s-app: kube-dns}
    spec:
      replicas: 1
      selector: {matchLabels: {k8s-app: kube-dns}}
      template:
        metadata: {labels: {k8s-app: kube-dns}}
        spec:
          priorityClassName: system-cluster-critical
          containers:
            - name: coredns
              image: registry.k8s.io/coredns/coredns:v1.11.1
              args: ["-conf", "/etc/coredns/Corefile"]
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: coredns
      namespace: kube-system
      labels: {k8s-app: kube-dns}
    spec:
      replicas: 2
      selector: {matchLabels: {k8s-app: kube-dns}}
      template:
        metadata: {labels: {k8s-app: kube-dns}}
        spec:
          priorityClassName: system-cluster-critical
          containers:
            - name: coredns
              image: registry.k8s.io/coredns/coredns:v1.11.1
              args: ["-conf", "/etc/coredns/Corefile"]
    ```

    ## Fix
    Run at least 2 replicas (kubeadm's default), kept on different nodes and covered by a
    PodDisruptionBudget (`maxUnavailable: 1`), or let the cluster-proportional-autoscaler scale it
    with `preventSinglePointFailure: true`. NodeLocal DNSCache on every node further shields pods
    from a CoreDNS restart.

    ## Source
    K8s docs tasks/administer-cluster/dns-horizontal-autoscaling.md ("preventSinglePointFailure"),
    tasks/administer-cluster/nodelocaldns.md, concepts/services-networking/dns-pod-service.md;
    kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns (2 replicas by default);
    kubernetes-sigs/cluster-proportional-autoscaler README (linear and ladder parameters).
    """
    index = ctx.index
    node_cache = any((d.ref.name or "") == "node-local-dns" for d in index.of_kind("DaemonSet"))
    for doc in index.of_kind("Deployment"):
        if not is_cluster_dns(doc):
            continue
        replicas = effective_replicas(doc, index)
        if replicas is None or replicas >= 2:
            continue
        autoscaler = proportional_autoscaler_for(doc, index)
        if autoscaler is not None and autoscaler[1]:
            continue
        hpa = hpa_for(doc, index)
        count = f"HPA minReplicas {replicas}" if hpa is not None else f"{replicas} replica"
        if autoscaler is not None:
            count += (
                f" and the proportional autoscaler {autoscaler[0].ref.name} may keep it there (no "
                "preventSinglePointFailure, min below 2)"
            )
        cache = (
            " NodeLocal DNSCache answers cached names meanwhile; every cache miss still fails."
            if node_cache
            else ""
        )
        yield Hit(
            message=(
                f"cluster DNS ({doc.kind} {doc.ref.name}) runs {count}: when its node is drained, fails or runs out "
                "of memory, the kube-dns Service has no endpoint until a new pod is scheduled and Ready, and every "
                f"name lookup of every pod in the cluster fails meanwhile.{cache}"
            ),
            fix="Run 2+ replicas on different nodes with a PodDisruptionBudget (maxUnavailable: 1).",
            path=("spec", "replicas") if hpa is None else ("metadata", "name"),
            severity=Severity.MEDIUM if node_cache else None,
            doc=doc,
            extra={"replicas": replicas},
        )


@object_rule(
    "DNS002",
    "node-dns-for-cluster-names",
    "dns",
    Severity.MEDIUM,
    "Pod resolves with the node's DNS but is configured with cluster Service names (.svc)",
    kinds=(
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Pod",
        "Job",
        "CronJob",
    ),
)
def node_dns_for_cluster_names(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Pods that get the node's `/etc/resolv.conf` instead of cluster DNS (`dnsPolicy: Default`, or
    `hostNetwork: true` with the default `dnsPolicy: ClusterFirst`) while their containers' `env`
    values, `command` or `args` name a cluster Service by its DNS name
    (`<service>.<namespace>.svc` or `...svc.cluster.local`). Bare service names are not checked:
    they are too often not host names at all.

    ## Why it breaks clusters
    Only cluster DNS answers `*.svc.cluster.local` names. `dnsPolicy: Default` is not the default
    (that is `ClusterFirst`): it copies the node's resolv.conf, which points at the cloud or
    corporate resolver. A `hostNetwork` pod with `ClusterFirst` silently falls back to the same
    behaviour; only `ClusterFirstWithHostNet` gives it cluster DNS. The names in this pod's
    configuration therefore never resolve: the connection fails at every start and every retry,
    and the pod crash-loops or runs degraded, however healthy the Service behind the name is.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: log-shipper, namespace: logging}
    spec:
      selector: {matchLabels: {app: log-shipper}}
      template:
        metadata: {labels: {app: log-shipper}}
        spec:
          hostNetwork: true
          containers:
            - name: shipper
              image: registry.example.com/shipper:2.1.0
              env:
                - {name: SINK, value: "http://loki.logging.svc.cluster.local:3100"}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: log-shipper, namespace: logging}
    spec:
      selector: {matchLabels: {app: log-shipper}}
      template:
        metadata: {labels: {app: log-shipper}}
        spec:
          hostNetwork: true
          dnsPolicy: ClusterFirstWithHostNet
          containers:
            - name: shipper
              image: registry.example.com/shipper:2.1.0
              env:
                - {name: SINK, value: "http://loki.logging.svc.cluster.local:3100"}
    ```

    ## Fix
    Set `dnsPolicy: ClusterFirstWithHostNet` on host-network pods (or `ClusterFirst` instead of
    `Default`) when they must resolve cluster names.

    ## Source
    K8s docs concepts/services-networking/dns-pod-service.md ("Pod's DNS Policy": Default is not
    the default; hostNetwork pods with ClusterFirst fall back to Default); kubernetes/kubernetes
    pkg/kubelet/network/dns/dns.go (`getPodDNSType`).
    """
    why = resolves_with_node_dns(doc)
    pod = pod_spec_of(doc)
    if why is None or pod is None:
        return
    for container in pod.containers():
        for path, text in configured_strings(container.data, container.path):
            match = _CLUSTER_NAME.search(text)
            if match is None:
                continue
            yield Hit(
                message=(
                    f"this pod resolves names with the node's DNS ({why}), but container {container.name!r} is "
                    f"configured with {match.group(1)}, a name only cluster DNS answers: the lookup fails at every "
                    "start and retry, whatever the state of the Service."
                ),
                fix=(
                    "Set dnsPolicy: ClusterFirstWithHostNet"
                    if pod.spec.get("hostNetwork") is True
                    else "Set dnsPolicy: ClusterFirst"
                )
                + " in the pod spec.",
                path=path,
                container=container.name,
            )
            return
