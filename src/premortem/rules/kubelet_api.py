"""The kubelet's own API client: how fast a node can report the pods it runs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.kubelet import KUBELET_KIND, is_drop_in, is_kubelet_configuration, kubelet_settings
from premortem.model.kubeversion import KubeVersion, target_version
from premortem.rules.registry import Hit, Param, object_rule

# kubeAPIQPS / kubeAPIBurst defaults: 5 / 10 until v1.26, 50 / 100 from v1.27 (kubernetes#116121).
RAISED_IN = KubeVersion(1, 27)
OLD_DEFAULTS = (5, 10)
NEW_DEFAULTS = (50, 100)
CLIENT_GO_DEFAULT_QPS = 5  # a QPS of 0 means client-go's default


def api_limits(obj: dict[str, Any]) -> tuple[float, int, bool] | None:
    """(qps, burst, explicit) the kubelet's API client runs with; None when a value is not a number
    (KUB004's business) or rate limiting is off (a negative QPS)."""
    default_qps, default_burst = NEW_DEFAULTS if target_version() >= RAISED_IN else OLD_DEFAULTS
    qps_raw, burst_raw = obj.get("kubeAPIQPS"), obj.get("kubeAPIBurst")
    for raw in (qps_raw, burst_raw):
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            return None
    qps = float(qps_raw) if qps_raw is not None else float(default_qps)
    burst = int(burst_raw) if burst_raw is not None else default_burst
    if qps < 0:
        return None
    return (qps or CLIENT_GO_DEFAULT_QPS), burst, qps_raw is not None or burst_raw is not None


@object_rule(
    "KUB006",
    "kubelet-api-throttled",
    "kubelet",
    Severity.MEDIUM,
    "kubeAPIQPS/kubeAPIBurst too low for maxPods: pod status reaches the API server minutes late",
    kinds=[KUBELET_KIND],
    params={
        "requests_per_pod": Param(
            4, "API writes the kubelet makes to start one pod (status updates, a token)"
        ),
        "slow_seconds": Param(60, "a node that needs longer than this to report a full restart is medium"),
        "outage_seconds": Param(300, "... and longer than this is high"),
    },
)
def kubelet_api_throttled(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    KubeletConfigurations whose API rate limit cannot keep up with a node starting `maxPods` pods at
    once (after a kubelet or node restart, a drain of another node, a large rollout). The kubelet
    writes to the API server about 4 times to start a pod (pod status as containers are created,
    started and become Ready; a service-account token), so a full node needs about `4 x maxPods`
    requests; beyond `kubeAPIBurst` they go out at `kubeAPIQPS` per second. The defaults depend on
    the release (`--kubernetes-version`): 5 QPS / burst 10 up to v1.26, 50 / 100 from v1.27.
    `medium` when catching up takes over 60 s, `high` over 5 minutes (parameters).

    ## Why it breaks clusters
    The kubelet's API client is a token bucket: once the burst is spent, every request waits its
    turn, status updates included. A pod that is Running and Ready on the node stays Pending or
    not-Ready in the API until its update gets through, so the endpoints controller keeps it out of
    Services, a rollout waits for Ready pods that already are, PodDisruptionBudgets count healthy
    pods as unhealthy, and pods that died stay in the endpoints until their status arrives. With
    110 pods at 5 QPS a restarted node reports its last pods about 90 s late; with 250 pods, three
    minutes. Events have their own limit (`eventRecordQPS`) and do not explain this lag.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    maxPods: 250
    kubeAPIQPS: 5
    kubeAPIBurst: 10
    systemReserved: {memory: 1Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    maxPods: 250
    kubeAPIQPS: 50
    kubeAPIBurst: 100
    systemReserved: {memory: 1Gi}
    ```

    ## Fix
    Remove `kubeAPIQPS`/`kubeAPIBurst` on v1.27+ (the defaults are 50/100), or raise them so that
    `(4 x maxPods - kubeAPIBurst) / kubeAPIQPS` stays under a minute; the API server's
    priority-and-fairness limits protect it from a node that asks for more.

    ## Source
    kubernetes/kubelet config/v1beta1/types.go (kubeAPIQPS, kubeAPIBurst: defaults 50 and 100 from
    v1.27, kubernetes/kubernetes PR #116121, CHANGELOG-1.27; 5 and 10 before); kubernetes/kubernetes
    pkg/kubelet/status/status_manager.go (one status update per pod change),
    staging/src/k8s.io/client-go/util/flowcontrol/throttle.go (token bucket) and rest/config.go
    (QPS 0 means 5); K8s docs reference/config-api/kubelet-config.v1beta1.md.
    """
    if not isinstance(doc.obj, dict) or not is_kubelet_configuration(doc):
        return
    limits = api_limits(doc.obj)
    if limits is None:
        return
    qps, burst, explicit = limits
    if is_drop_in(doc) and not explicit:
        return  # a drop-in that leaves the limits alone says nothing about them
    max_pods = kubelet_settings(doc).max_pods
    requests = max_pods * int(kubelet_api_throttled.param("requests_per_pod"))
    seconds = math.ceil(max(0, requests - burst) / qps)
    if seconds <= int(kubelet_api_throttled.param("slow_seconds")):
        return
    severity = Severity.HIGH if seconds > int(kubelet_api_throttled.param("outage_seconds")) else None
    target = target_version()
    written = "" if explicit else f" (the defaults before v1.27; this scan targets {target})"
    where = ("kubeAPIQPS",) if "kubeAPIQPS" in doc.obj else ("maxPods",) if "maxPods" in doc.obj else ()
    yield Hit(
        message=(
            f"kubeAPIQPS {qps:g} with burst {burst}{written} against maxPods {max_pods}: starting a full node "
            f"takes about {requests} API requests, so the kubelet needs about {seconds} s to report them; pods "
            "that are Running and Ready stay Pending or not-Ready in the API that long, out of every Service's "
            "endpoints, and rollouts and drains wait for them."
        ),
        fix=(
            "Remove kubeAPIQPS/kubeAPIBurst (the v1.27+ defaults are 50/100) or raise them, e.g. kubeAPIQPS: 50, "
            "kubeAPIBurst: 100."
            if target >= RAISED_IN
            else "Set kubeAPIQPS: 50 and kubeAPIBurst: 100 (the defaults from v1.27)."
        ),
        path=where,
        severity=severity,
        extra={
            "catch_up_seconds": seconds,
            "kube_api_qps": qps,
            "kube_api_burst": burst,
            "max_pods": max_pods,
        },
    )
