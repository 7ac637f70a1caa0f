"""Fixers for where pods land and who may evict them (SCH001, SCH006) and for cluster DNS (DNS001, DNS002)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.paths import get
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Append, Set
from premortem.load.document import Document
from premortem.model.criticality import CLUSTER_CRITICAL, NODE_CRITICAL
from premortem.model.podspec import pod_spec_of, replicas_of, template_labels
from premortem.model.spread import DO_NOT_SCHEDULE, HOSTNAME


@fixer("SCH001")
def spread_over_nodes(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers SCH001 (replicas-may-share-a-node). Appends a topology spread constraint to the pod
    template: `maxSkew: 1` on `kubernetes.io/hostname`, `whenUnsatisfiable: DoNotSchedule`,
    `nodeTaintsPolicy: Honor` (cordoned and tainted nodes do not count, v1.26+) and a
    `labelSelector` with the pod template's labels. Held back unless `--unsafe-fixes`: the scheduler
    then leaves a replica Pending rather than put it next to another when the only node with room
    would break the skew, which a cluster without spare nodes can hit during a rollout or a drain.
    """
    pod = pod_spec_of(doc)
    labels = template_labels(doc)
    if pod is None or not labels:
        yield Note("the pod template has no labels to select its own pods with; add the constraint by hand.")
        return
    constraint = {
        "maxSkew": 1,
        "topologyKey": HOSTNAME,
        "whenUnsatisfiable": DO_NOT_SCHEDULE,
        "nodeTaintsPolicy": "Honor",
        "labelSelector": {"matchLabels": labels},
    }
    yield Fix(
        [Append((*pod.path, "topologySpreadConstraints"), constraint)],
        f"topologySpreadConstraints: maxSkew 1 on {HOSTNAME}, DoNotSchedule: no node may hold two replicas more "
        "than another eligible node, so one node loss no longer takes them all.",
        unsafe=(
            "a replica now stays Pending instead of sharing a node when the only node with room would break the "
            "skew: make sure the cluster has room for one replica per node."
        ),
    )


@fixer("SCH006")
def critical_priority(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers SCH006 (kube-system-add-on-not-critical). Sets `priorityClassName: system-node-critical`
    on kube-system DaemonSets and `system-cluster-critical` on kube-system Deployments, as kubeadm
    and the upstream add-on manifests do: the kubelet no longer evicts them under node pressure, user
    pods cannot preempt them, and a DaemonSet pod may preempt others to run on a full node. A class
    already named (a custom one below critical) is a deliberate choice: it is a note, not replaced.
    """
    pod = pod_spec_of(doc)
    if pod is None:
        return
    if pod.spec.get("priorityClassName"):
        yield Note(
            f"priorityClassName {pod.spec['priorityClassName']} is set explicitly; replace it by hand with "
            f"{NODE_CRITICAL if doc.kind == 'DaemonSet' else CLUSTER_CRITICAL} if this add-on is critical."
        )
        return
    wanted = NODE_CRITICAL if doc.kind == "DaemonSet" else CLUSTER_CRITICAL
    yield Fix(
        [Set((*pod.path, "priorityClassName"), wanted)],
        f"priorityClassName: {wanted}: the kubelet no longer evicts these pods under node pressure and user pods "
        "cannot preempt them.",
    )


@fixer("DNS001")
def two_dns_replicas(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers DNS001 (cluster-dns-single-replica). Sets `spec.replicas: 2` on the cluster DNS
    Deployment (kubeadm's default). When a HorizontalPodAutoscaler scales it (the finding then
    points at the Deployment's name, not at `replicas`), its `minReplicas` must change instead: a
    note. Keep the two replicas on different nodes (SCH001) and under a PodDisruptionBudget.
    """
    if finding.path != "/spec/replicas":
        yield Note(
            "an autoscaler sets the replicas: raise its minReplicas to 2 (or preventSinglePointFailure)."
        )
        return
    replicas = replicas_of(doc)
    if replicas is None or replicas >= 2:
        return
    yield Fix(
        [Set(("spec", "replicas"), 2)],
        "replicas 1 -> 2: a drain or a node failure now leaves one DNS pod serving while the other is replaced.",
    )


@fixer("DNS002")
def cluster_dns_policy(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers DNS002 (node-dns-for-cluster-names). Sets `dnsPolicy: ClusterFirstWithHostNet` on a
    host-network pod (`ClusterFirst` otherwise): the pod's resolv.conf then points at cluster DNS,
    which answers the `.svc` names and forwards every other name to the node's upstream resolvers.
    """
    pod = pod_spec_of(doc)
    if pod is None:
        return
    wanted = "ClusterFirstWithHostNet" if pod.spec.get("hostNetwork") is True else "ClusterFirst"
    if get(pod.spec, ("dnsPolicy",)) == wanted:
        return
    yield Fix(
        [Set((*pod.path, "dnsPolicy"), wanted)],
        f"dnsPolicy: {wanted}: cluster DNS answers the .svc names and forwards the others upstream.",
    )
