"""External names that cluster DNS resolves through the pod's search path first (``ndots:5``)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.dns import ConfiguredName, configured_names, pod_ndots, uses_cluster_dns
from premortem.model.podspec import ONE_SHOT_KINDS, pod_spec_of
from premortem.rules.registry import Hit, object_rule

CLUSTER_SEARCH_DOMAINS = 3  # <ns>.svc.cluster.local, svc.cluster.local, cluster.local


@object_rule(
    "DNS003",
    "external-name-through-search-path",
    "dns",
    Severity.LOW,
    "External host names with fewer dots than ndots: each lookup first fails through the cluster search path",
)
def external_name_through_search_path(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Long-running workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets, Pods...) that use
    cluster DNS (`dnsPolicy` `ClusterFirst`, or `ClusterFirstWithHostNet` on the host network)
    and whose containers are configured with an external host name that has fewer dots than the
    pod's `ndots` (5 unless `dnsConfig` sets it): the host of a URL (`https://api.stripe.com/v1`)
    that is a whole `env` value, `command` or `args` word or `--flag=` value, with a scheme a client
    connects with (HTTP, gRPC, WebSocket, database, queue and mail schemes; not `ko://`, `s3://`,
    `file://`), or a bare `host[:port]` in an `env` variable named `*_HOST`, `*_ENDPOINT`, `*_ADDR`,
    `*_SERVER`, `*_URL`... Scripts (words with spaces) are not read: their URLs may be comments or run
    under another root. A name counts as external when it ends in a public top-level domain (`com`,
    `net`, `org`, `io`... with at least one dot; a two-letter country code or a newer one such as
    `dev` or `cloud` with at least two, so that `<service>.<namespace>` short names are not mistaken
    for one) and is not written fully qualified (a trailing dot). Jobs and CronJobs are not checked:
    a run resolves its names a handful of times.

    ## Why it breaks clusters
    With `ClusterFirst` the kubelet writes the pod's resolv.conf with the search path
    `<namespace>.svc.cluster.local svc.cluster.local cluster.local` (plus the node's own search
    domains) and `options ndots:5`. The resolver tries a name with fewer dots than `ndots` with every
    search domain before trying it as written, and asks for the A and AAAA records of each: a lookup
    of `api.stripe.com` is at least 8 queries to cluster DNS, 6 of them answered NXDOMAIN, more with
    the node's search domains (cloud VPCs add one or two). Under load this multiplies the queries
    cluster DNS serves and adds their latency to every new connection. It amplified Zalando's
    January 2019 DNS outage (10 queries per external lookup, CoreDNS OOM-killed by the volume) and
    Toyota Connected's 2018 "perfect DNS storm" (musl sends the search-domain queries at once).
    Caching (CoreDNS `cache`, NodeLocal DNSCache) makes the failing queries cheaper; it does not
    remove them: every lookup still asks them in turn.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          containers:
            - name: checkout
              image: registry.example.com/checkout:3.2.0
              env:
                - {name: PAYMENTS_URL, value: "https://api.payments-provider.com/v2"}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          dnsConfig:
            options:
              - {name: ndots, value: "2"}
          containers:
            - name: checkout
              image: registry.example.com/checkout:3.2.0
              env:
                - {name: PAYMENTS_URL, value: "https://api.payments-provider.com/v2"}
    ```

    ## Fix
    Set `dnsConfig.options: [{name: ndots, value: "2"}]` in the pod spec: names with two dots or more
    are then looked up as written first, and `<service>.<namespace>` names still use the search path.
    For a name with a single dot, write it fully qualified with a trailing dot where the client
    accepts one.

    ## Source
    K8s docs concepts/services-networking/dns-pod-service.md ("Pod's DNS Policy", "Pod's DNS
    Config": the ClusterFirst search path, `ndots`); kubernetes/kubernetes
    pkg/kubelet/network/dns/dns.go (`ndots:5` for cluster DNS, the search list); resolv.conf(5)
    (`ndots`: names with fewer dots go through the search list first); Zalando, "Total DNS outage in
    Kubernetes cluster" (kubernetes-on-aws docs/postmortems/jan-2019-dns-outage.md).
    """
    if doc.kind in ONE_SHOT_KINDS or not uses_cluster_dns(doc):
        return
    pod = pod_spec_of(doc)
    if pod is None:
        return
    ndots = pod_ndots(pod.spec)
    for container in pod.containers():
        names = [n for n in configured_names(container.data, container.path) if n.dots < ndots]
        if names:
            yield _hit(container.name or "?", names, ndots)
            return


def _hit(container: str, names: list[ConfiguredName], ndots: int) -> Hit:
    first = names[0]
    queries = 2 * (CLUSTER_SEARCH_DOMAINS + 1)
    shown = ", ".join(dict.fromkeys(n.host for n in names[:3]))
    fix = (
        'Set dnsConfig.options: [{name: ndots, value: "2"}] in the pod spec (names with 2 or more dots are then '
        "looked up as written first; <service>.<namespace> names keep the search path)."
        if min(n.dots for n in names) >= 2
        else f"Write {first.host} fully qualified, {first.host}., where the client accepts it (or set "
        'dnsConfig.options: [{name: ndots, value: "1"}] if the pod uses no <service>.<namespace> names).'
    )
    return Hit(
        message=(
            f"container {container!r} connects to {shown}, with fewer dots than the pod's ndots {ndots}: each "
            f"lookup first goes through the {CLUSTER_SEARCH_DOMAINS} cluster search domains (and any the node "
            f"adds), for A and AAAA: at least {queries} queries to cluster DNS, {queries - 2} of them answered "
            "NXDOMAIN, before the name itself. Under load that multiplies cluster DNS traffic and adds latency "
            "to every new connection."
        ),
        fix=fix,
        path=first.path,
        container=container,
        extra={"names": [n.host for n in names], "ndots": ndots},
    )
