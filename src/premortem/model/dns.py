"""Cluster DNS as manifests show it: which workload is the cluster's DNS server, and how pods resolve.

The cluster DNS server is the Deployment that kubeadm, kops and the cloud providers install in
``kube-system`` under the name ``coredns`` or ``kube-dns`` with the label ``k8s-app: kube-dns`` (the
Service is called ``kube-dns`` whichever server runs). A pod's ``dnsPolicy`` decides its resolv.conf:
``ClusterFirst`` (the default) points it at cluster DNS with the search path
``<ns>.svc.cluster.local svc.cluster.local cluster.local`` and ``ndots:5``; ``Default`` gives it the
node's resolv.conf, and so does ``ClusterFirst`` on a ``hostNetwork`` pod (only
``ClusterFirstWithHostNet`` gives a host-network pod cluster DNS); ``None`` takes only ``dnsConfig``.
(K8s docs concepts/services-networking/dns-pod-service.md, "Pod's DNS Policy".)
"""

from __future__ import annotations

import json

from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.podspec import pod_spec_of, template_labels

DNS_NAMES = frozenset({"coredns", "kube-dns"})
DNS_LABEL = ("k8s-app", "kube-dns")


def is_cluster_dns(doc: Document) -> bool:
    """True for the kube-system Deployment that serves cluster DNS."""
    if doc.kind != "Deployment" or doc.ref.namespace != "kube-system" or pod_spec_of(doc) is None:
        return False
    labels = template_labels(doc)
    return (doc.ref.name or "") in DNS_NAMES or labels.get(DNS_LABEL[0]) == DNS_LABEL[1]


def resolves_with_node_dns(doc: Document) -> str | None:
    """Why the pods of ``doc`` get the node's resolv.conf instead of cluster DNS, or None."""
    pod = pod_spec_of(doc)
    if pod is None:
        return None
    policy = pod.spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "Default":
        return "dnsPolicy: Default (the node's resolv.conf; it is not the default policy)"
    if policy == "ClusterFirst" and pod.spec.get("hostNetwork") is True:
        return "hostNetwork: true with dnsPolicy ClusterFirst, which falls back to the node's resolv.conf"
    return None


def proportional_autoscaler_for(dns: Document, index: ObjectIndex) -> tuple[Document, bool] | None:
    """The cluster-proportional-autoscaler Deployment that scales ``dns`` (``--target=Deployment/NAME``
    in its namespace), and whether its parameters keep 2+ replicas (``preventSinglePointFailure``
    or ``min`` >= 2); None when no autoscaler in the scan targets it."""
    wanted = f"deployment/{dns.ref.name or ''}".lower()
    for doc in index.of_kind("Deployment"):
        if doc.ref.namespace != dns.ref.namespace or doc is dns:
            continue
        pod = pod_spec_of(doc)
        if pod is None:
            continue
        for container in pod.containers():
            words = [
                str(w)
                for key in ("command", "args")
                for w in (container.data.get(key) or [])
                if w is not None
            ]
            flags = dict(_flag(w) for w in words if w.startswith("--") and "=" in w)
            if flags.get("--target", "").lower() != wanted:
                continue
            return doc, _keeps_two(flags.get("--default-params"))
    return None


def _flag(word: str) -> tuple[str, str]:
    name, _, value = word.partition("=")
    return name, value


def _keeps_two(params: str | None) -> bool:
    """cluster-proportional-autoscaler ``--default-params``: linear or ladder mode with
    ``preventSinglePointFailure: true`` (2 replicas once there are 2 nodes) or ``min`` >= 2. Without
    parameters it reads them from its ConfigMap: assumed to keep two."""
    if not params:
        return True
    try:
        parsed = json.loads(params)
    except ValueError:
        return True
    if not isinstance(parsed, dict):
        return True
    for mode in parsed.values():
        if isinstance(mode, dict) and (
            mode.get("preventSinglePointFailure") is True
            or (isinstance(mode.get("min"), int) and mode["min"] >= 2)
        ):
            return True
    return False
