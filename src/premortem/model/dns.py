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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from premortem.load.document import Document, Path
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


def uses_cluster_dns(doc: Document) -> bool:
    """True when the pods of ``doc`` resolve through cluster DNS with its search path and ``ndots``
    (``ClusterFirst`` off the host network, or ``ClusterFirstWithHostNet``)."""
    pod = pod_spec_of(doc)
    if pod is None:
        return False
    policy = pod.spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirstWithHostNet":
        return True
    return policy == "ClusterFirst" and pod.spec.get("hostNetwork") is not True


DEFAULT_NDOTS = 5  # the kubelet's resolv.conf for ClusterFirst pods (pkg/kubelet/network/dns)


def pod_ndots(spec: dict[str, Any]) -> int:
    """The ``ndots`` of a cluster-DNS pod: its ``dnsConfig`` option, else the kubelet's 5."""
    config = spec.get("dnsConfig")
    options = config.get("options") if isinstance(config, dict) else None
    for option in options if isinstance(options, list) else ():
        if isinstance(option, dict) and option.get("name") == "ndots":
            try:
                return int(str(option.get("value")))
            except ValueError:
                return DEFAULT_NDOTS
    return DEFAULT_NDOTS


def configured_strings(container: dict[str, Any], base: Path) -> Iterator[tuple[Path, str]]:
    """Env values, command and args of a container, with their paths."""
    env = container.get("env")
    for i, item in enumerate(env if isinstance(env, list) else []):
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            yield (*base, "env", i, "value"), item["value"]
    for key in ("command", "args"):
        words = container.get(key)
        for i, word in enumerate(words if isinstance(words, list) else []):
            if isinstance(word, str):
                yield (*base, key, i), word


# Top-level domains that name the public internet: the classic ones count from one dot; country
# codes and newer ones from two, since `<service>.<namespace>` (one dot) may end in any word.
_CLASSIC_TLDS = frozenset({"com", "net", "org", "io", "edu", "gov", "info", "biz"})
_NEWER_TLDS = frozenset(
    {"dev", "app", "cloud", "ai", "co", "me", "tech", "xyz", "online", "site", "services"}
)
_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?", re.I)
# Schemes whose host a client resolves when it connects (not ko://, s3://, file://... placeholders)
_SCHEMES = frozenset({"http", "https", "ws", "wss", "grpc", "grpcs", "tcp", "udp", "amqp", "amqps", "mqtt",
    "mqtts", "nats", "redis", "rediss", "postgres", "postgresql", "mysql", "mariadb", "mongodb", "kafka", "ldap",
    "ldaps", "smtp", "smtps", "ftp", "sftp", "ssh", "git", "clickhouse", "cassandra", "elasticsearch",
    "opensearch"})  # fmt: skip
_HOST_VARIABLES = ("HOST", "HOSTNAME", "ENDPOINT", "ADDR", "ADDRESS", "SERVER", "URL", "URI")


@dataclass(frozen=True)
class ConfiguredName:
    """An external host name a container is configured with."""

    host: str
    dots: int
    path: Path


def external_dots(host: str) -> int | None:
    """The number of dots of ``host`` when it names a public internet host written relative to the
    search path (no trailing dot), else None."""
    if host.endswith("."):
        return None
    labels = host.lower().split(".")
    if "svc" in labels or host.lower().endswith(".cluster.local"):
        return None
    dots = len(labels) - 1
    last = labels[-1]
    if last in _CLASSIC_TLDS and dots >= 1:
        return dots
    if (last in _NEWER_TLDS or len(last) == 2) and dots >= 2:
        return dots
    return None


def configured_names(container: dict[str, Any], base: Path) -> Iterator[ConfiguredName]:
    """External host names a container is configured to connect to: an ``env`` value, a ``command``
    or ``args`` word (or a ``--flag=`` value) that is a URL, or a bare ``host[:port]`` in an ``env``
    variable named like ``*_HOST``. Scripts (words with spaces) are not read: their URLs may be in
    comments, or run in another root."""
    env = container.get("env")
    variables = {
        (*base, "env", i, "value"): str(item.get("name") or "")
        for i, item in enumerate(env if isinstance(env, list) else [])
        if isinstance(item, dict)
    }
    for path, text in configured_strings(container, base):
        word = text.strip()
        if not word or any(c.isspace() for c in word):
            continue
        if word.startswith("-") and "=" in word:
            word = word.partition("=")[2]
        host = _host_of(word, bare=_host_variable(variables.get(path)))
        dots = external_dots(host) if host else None
        if host and dots is not None:
            yield ConfiguredName(host, dots, path)


def _host_of(word: str, bare: bool) -> str | None:
    """The host of a URL with a connecting scheme, or of a bare ``host[:port]`` when ``bare``."""
    scheme, sep, rest = word.partition("://")
    if sep:
        if scheme.lower() not in _SCHEMES:
            return None
        for stop in "/?#":
            rest = rest.partition(stop)[0]
        netloc = rest.rpartition("@")[2]
    elif bare:
        netloc = word
    else:
        return None
    host, colon, port = netloc.rpartition(":")
    if colon and port.isdigit():
        netloc = host
    return netloc if _is_host_name(netloc) else None


def _is_host_name(name: str) -> bool:
    labels = (name[:-1] if name.endswith(".") else name).split(".")
    last = labels[-1]
    return (
        len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and last.isalpha()
        and 2 <= len(last) <= 24
    )


def _host_variable(name: str | None) -> bool:
    return bool(name) and str(name).upper().rsplit("_", 1)[-1] in _HOST_VARIABLES


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
