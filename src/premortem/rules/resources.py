"""Resources and QoS: what the scheduler reserves, what the kernel may be asked for, who dies first."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.criticality import criticality_of
from premortem.model.idle import is_idle
from premortem.model.pdb import hpa_targets, peak_replicas
from premortem.model.podspec import (
    CONTAINER,
    LONG_RUNNING_KINDS,
    POD_BEARING_KINDS,
    SIDECAR,
    is_one_shot,
    pod_spec_path,
)
from premortem.model.quantity import format_bytes, format_millicores
from premortem.model.resources import BEST_EFFORT, GUARANTEED, ContainerResources, oom_score_adj, resources_of
from premortem.model.traffic import serves_traffic, services_index, services_selecting, serving_ports
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule, object_rule

# The node size used to give oom_score_adj as a number in messages.
TYPICAL_NODE_MEMORY = 16 * 2**30


@object_rule(
    "RES001",
    "best-effort-pod",
    "resources",
    Severity.HIGH,
    "Pod is BestEffort: no cpu or memory requests or limits anywhere",
    kinds=POD_BEARING_KINDS,
    absorbs=("ETC001", "ETC002"),
)
def best_effort_pod(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Pods in which no container, init container or sidecar sets a non-zero cpu or memory request or
    limit. Kubernetes gives them the QoS class `BestEffort`. A request or limit of `"0"` counts as
    unset, and ephemeral-storage, hugepages or GPUs do not count: a pod that only asks for a GPU is
    still BestEffort. Defaults a `LimitRange` of the same namespace and input unit gives the
    containers count (see `premortem explain RES002`): pods it covers are not BestEffort.

    On an etcd pod this is the root cause ETC001 (no requests) and ETC002 (no node-critical
    priority) describe: their facts are folded into this finding instead of three findings.

    Severity follows what the cluster does with the pod:
    - `low` when every app container only idles (`sleep infinity`, `tail -f /dev/null`: a toolbox
      to exec into): eviction ends a shell session, no Service depends on it;
    - `high` for serving workloads and bare pods (a bare pod evicted is not recreated);
    - `medium` for Jobs and CronJobs: a run killed by eviction or OOM fails and is retried by the
      Job controller (against `backoffLimit`), which delays work but drops no requests; the same
      for bare Pods that run to completion (`restartPolicy: Never` or `OnFailure`: migrations,
      one-off clients), whose task fails but serves no traffic (Helm test hooks, which only
      `helm test` creates, are reported at `info`: model/delivery.py);
    - critical pods (`system-cluster-critical`, `system-node-critical`, static pods) are never
      evicted by the kubelet, and the message says so. `system-node-critical` pods also get
      `oom_score_adj` -997 whatever their QoS: for them the finding is `medium` (no cpu weight, no
      reservation); the others still get 1000 from the OOM killer and stay `high`.

    ## Why it breaks clusters
    - The scheduler sees the pod as needing nothing (fit only needs a free pod slot), so it is packed
      onto nodes that are already full.
    - Under memory pressure the kubelet evicts pods whose usage exceeds their request first; every
      byte a BestEffort pod uses is above its request of zero, so it goes first. The kubelet also
      refuses to admit new BestEffort pods on a node with MemoryPressure.
    - The kernel's OOM killer sees `oom_score_adj` 1000 on its processes: the first to be killed when
      the node runs out of memory.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:1.4.2
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:1.4.2
              resources:
                requests: {cpu: 250m, memory: 256Mi}
                limits: {memory: 256Mi}
    ```

    ## Fix
    Give every container a cpu and memory request, and a memory limit equal to the memory request.

    ## Source
    kubernetes/kubernetes pkg/apis/core/helper/qos/qos.go (QoS), pkg/kubelet/qos/policy.go
    (oom_score_adj 1000, -997 for node-critical pods), pkg/kubelet/eviction/helpers.go (eviction
    ranking), pkg/kubelet/eviction/eviction_manager.go `evictPod` (critical pods are never evicted),
    pkg/kubelet/types/pod_update.go `IsCriticalPod` (static, mirror, priority >= 2e9), K8s docs
    concepts/workloads/pods/pod-qos.md and concepts/scheduling-eviction/node-pressure-eviction.md.
    """
    res = resources_of(doc)
    if res is None or res.qos != BEST_EFFORT or not res.containers:
        return
    crit = criticality_of(doc)
    placed = (
        "the kubelet runs this static pod with no reservation, so the node's allocatable overstates its room by "
        "whatever it uses"
        if crit.static
        else "the scheduler places it as if it used nothing"
    )
    severity: Severity | None = None
    if crit.node_critical:
        severity = Severity.MEDIUM
        message = (
            f"No container sets a cpu or memory request or limit, so this pod is BestEffort. It is {crit.reason()}: "
            "the kubelet never evicts it and gives it oom_score_adj -997, so it is not the first to die. What "
            f"remains: {placed}, and with no cpu request it gets the minimum cpu weight, so busy neighbours "
            "starve it."
        )
    elif crit.critical:
        message = (
            f"No container sets a cpu or memory request or limit, so this pod is BestEffort. As {crit.reason()} "
            "the kubelet never evicts it, but only system-node-critical pods get oom_score_adj -997: the kernel "
            f"OOM killer still picks it first (oom_score_adj 1000). Also, {placed}, and with no cpu request it "
            "gets the minimum cpu weight."
        )
    elif all(is_idle(c.container) for c in res.containers if c.container.role in (CONTAINER, SIDECAR)):
        severity = Severity.LOW
        message = (
            "No container sets a cpu or memory request or limit, so this pod is BestEffort, but its containers "
            "only idle (a toolbox to exec into, or a placeholder): the kubelet evicts it first under memory "
            "pressure and the OOM killer picks it first (oom_score_adj 1000), which ends a shell session or what "
            "runs in it, and no Service depends on it."
        )
    elif is_one_shot(doc):
        severity = Severity.MEDIUM
        them, they = ("it", "it") if doc.kind == "Pod" else ("them", "they")
        message = (
            f"No container sets a cpu or memory request or limit, so {_its_pods(doc)} BestEffort: the "
            f"scheduler places {them} as if {they} used nothing, the kubelet evicts {them} first under memory "
            f"pressure and the kernel OOM killer picks {them} first (oom_score_adj 1000). "
            + _one_shot_consequence(doc)
        )
    else:
        message = (
            "No container sets a cpu or memory request or limit, so this pod is BestEffort: the scheduler "
            "places it as if it used nothing, the kubelet evicts it first under memory pressure, and the "
            "kernel OOM killer picks it first (oom_score_adj 1000)."
        )
    yield Hit(
        message=message,
        fix="Set resources.requests (cpu and memory) and limits.memory = requests.memory on every container.",
        path=pod_spec_path(doc) or (),
        severity=severity,
        extra={"oom_score_adj": -997 if crit.node_critical else 1000},
    )


@cluster_rule(
    "RES002",
    "memory-request-below-limit",
    "resources",
    Severity.MEDIUM,
    "Memory request below the memory limit: the node is overcommitted",
    params={
        "medium_bytes": Param(
            2**30,
            "memory the cluster may be asked for beyond its reservations (gap x replicas at peak) from "
            "which the finding is medium; below it is low",
        ),
        "fix_cpu": Param(
            False,
            "premortem fix also raises requests.cpu to limits.cpu (opt-in: it can multiply the cpu reserved)",
        ),
    },
    per_workload=True,
    lookups=(hpa_targets,),
)
def memory_request_below_limit(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Containers (app containers and sidecars) whose memory request, after API defaulting, is below
    their memory limit. A limit without a request is not a finding: the API server copies the limit
    into the request. Requests and limits a `LimitRange` of the same namespace and input unit gives
    the container count (its `defaultRequest` and `default`, after the LimitRange's own defaulting
    from `max` and `min`); the message names the LimitRange.

    The severity scales with what the nodes could be short of: the gap (limit - request) times the
    replicas at peak (an HPA's `maxReplicas` where one targets the workload, else `replicas`; one
    for a DaemonSet, since each node runs one pod, and for Pods, Jobs and CronJobs). From
    `medium_bytes` (1 GiB) it is `medium`, below it `low`: a 32 MiB gap on one replica is a
    rounding error of a node, not an outage in waiting.

    ## Why it breaks clusters
    The scheduler packs nodes by requests; the kernel lets the container grow to its limit. The
    difference is memory the node promised but does not have. When several such pods grow at once
    the node runs short: the kubelet evicts pods using more than their request first, and if the
    kernel OOM killer acts before the kubelet, it picks by `oom_score_adj = 1000 - 1000 * request /
    node memory` (3 to 999), so the container with the smallest request relative to its use dies,
    whichever service it belongs to.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: worker}
    spec:
      containers:
        - name: worker
          image: registry.example.com/worker:2.0.1
          resources:
            requests: {cpu: 500m, memory: 256Mi}
            limits: {cpu: 500m, memory: 2Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: worker}
    spec:
      containers:
        - name: worker
          image: registry.example.com/worker:2.0.1
          resources:
            limits: {cpu: 500m, memory: 2Gi}
    ```

    ## Fix
    Set `requests.memory` equal to `limits.memory`: the scheduler then reserves what the kernel may
    be asked for. With the cpu request equal to the cpu limit too (where every container has both
    limits) the pod becomes Guaranteed (`oom_score_adj` -997). `premortem fix` raises the memory
    request and says what it costs across the cluster at peak; it raises the cpu request only with
    the parameter `fix_cpu`.

    ## Source
    pkg/apis/core/v1/defaults.go (request := limit), pkg/kubelet/qos/policy.go
    (GetContainerOOMScoreAdjust), K8s docs concepts/scheduling-eviction/node-pressure-eviction.md.
    """
    medium_from = memory_request_below_limit.param("medium_bytes")
    for doc in context.workloads():
        res = resources_of(doc)
        if res is None:
            continue
        gaps = [c for c in res.containers if c.container.role in (CONTAINER, SIDECAR) and _memory_gap(c)]
        if not gaps:
            continue
        replicas, hpa = peak_replicas(doc, context.index)
        count = 1 if replicas is None else replicas
        scale = (
            f"x{count} replicas at peak (HPA {hpa.ref.name} maxReplicas)"
            if hpa is not None
            else f"x{count} replicas"
            if replicas is not None
            else "on one node"
        )
        for c in gaps:
            limit = c.limit("memory") or 0
            request = c.request("memory")
            gap = limit - request
            exposure = gap * count
            adj = oom_score_adj("Burstable", request, TYPICAL_NODE_MEMORY)
            origin = _limit_range_note(c)
            yield Hit(
                message=(
                    f"memory request {format_bytes(request)} is below its limit {format_bytes(limit)}{origin}: "
                    f"the scheduler reserves {format_bytes(request)} but the kernel lets it grow to "
                    f"{format_bytes(limit)}, {format_bytes(gap)} per pod the node promised but does not have "
                    f"({format_bytes(exposure)} {scale}). Under pressure it is evicted once above its request, "
                    f"and the OOM killer scores it oom_score_adj {adj} on a 16Gi node (a Guaranteed container "
                    "gets -997)."
                ),
                fix=f"Set requests.memory to {format_bytes(limit)} (= limit) to make the reservation honest.",
                path=(*c.container.path, "resources", "requests", "memory")
                if "memory" in c.declared_requests
                else (*c.container.path, "resources"),
                container=c.container.name,
                severity=Severity.MEDIUM if exposure >= medium_from else Severity.LOW,
                doc=doc,
                extra={
                    "request_bytes": request,
                    "limit_bytes": limit,
                    "oom_score_adj": adj,
                    "gap_bytes": gap,
                    "replicas_at_peak": replicas,
                    "overcommit_bytes": exposure,
                },
            )


def _memory_gap(c: ContainerResources) -> bool:
    limit = c.limit("memory")
    return limit is not None and c.request("memory") < limit


def _limit_range_note(c: ContainerResources) -> str:
    """' (request from LimitRange x, limit from LimitRange y)' when a LimitRange set either value."""
    parts = [
        f"{word} from {c.defaulted[key]}"
        for word, key in (("request", "requests.memory"), ("limit", "limits.memory"))
        if key in c.defaulted
    ]
    return f" ({', '.join(parts)})" if parts else ""


@object_rule(
    "RES003",
    "no-memory-limit",
    "resources",
    Severity.MEDIUM,
    "Container without a memory limit",
    kinds=POD_BEARING_KINDS,
)
def no_memory_limit(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    App containers and sidecars without a memory limit in a pod that is not BestEffort (BestEffort
    pods are reported by RES001). Critical pods are exempt (`priorityClassName:
    system-node-critical` or `system-cluster-critical`, and static pods): the kubelet never evicts
    them and gives node-critical pods `oom_score_adj` -997 whatever their QoS, and control-plane
    components (kubeadm's etcd and API server) deliberately run without a memory limit, because a
    cgroup OOM kill of etcd is worse than the leak. There is deliberately no rule for a missing *cpu* limit: cpu is
    compressible (a container over its share is throttled, never killed), and cpu limits cause CFS
    throttling of latency-sensitive services even on idle nodes, so many teams set cpu requests only.

    ## Why it breaks clusters
    Without a memory limit a leak grows until the node runs out of memory. The kubelet evicts pods
    to recover, but eviction runs every 10 s housekeeping interval and a fast leak outruns it: the
    kernel OOM killer then fires at node level and may kill any Burstable process, including ones
    that stayed within their requests. With a limit, the leak is contained to the container's cgroup
    and only it is OOM-killed.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: cache}
    spec:
      containers:
        - name: cache
          image: registry.example.com/cache:3.1.0
          resources:
            requests: {cpu: 100m, memory: 512Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: cache}
    spec:
      containers:
        - name: cache
          image: registry.example.com/cache:3.1.0
          resources:
            requests: {cpu: 100m, memory: 512Mi}
            limits: {memory: 512Mi}
    ```

    ## Fix
    Set `limits.memory`, ideally equal to `requests.memory`.

    ## Source
    K8s docs concepts/configuration/manage-resources-containers.md, concepts/scheduling-eviction/
    node-pressure-eviction.md (housekeeping interval, memory.available); Linux memcg OOM semantics
    (torvalds/linux Documentation/filesystems/proc.rst).
    """
    res = resources_of(doc)
    if res is None or res.qos == BEST_EFFORT or criticality_of(doc).critical:
        return
    for c in res.containers:
        if c.container.role not in (CONTAINER, SIDECAR) or c.limit("memory") is not None:
            continue
        request = c.request("memory")
        yield Hit(
            message=(
                f"no memory limit (request {format_bytes(request) if request else 'none'}): a leak grows until "
                "the node runs out of memory, and the node-level OOM killer or the kubelet's evictions then hit "
                "other pods on the node, not just this one."
            ),
            fix=f"Set resources.limits.memory (e.g. {format_bytes(request) if request else '512Mi'}, equal to the request).",
            path=(*c.container.path, "resources"),
            container=c.container.name,
        )


@object_rule(
    "RES004",
    "init-container-breaks-guaranteed",
    "resources",
    Severity.LOW,
    "An init container without equal requests/limits makes an otherwise Guaranteed pod Burstable",
    kinds=POD_BEARING_KINDS,
)
def init_breaks_guaranteed(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Pods whose app containers and sidecars all have cpu and memory limits equal to their requests
    (so they would be Guaranteed) but where an init container lacks them, or requests less than its
    limits. Kubernetes counts init containers when computing the QoS class, so the pod is Burstable.
    Pods whose app containers only keep the pod alive (`sleep infinity`, `tail -f /dev/null`, a
    `pause` image) while an init container does the work (a sysctl setter) are not findings: a
    sleeping process uses next to no memory, so its OOM score changes nothing.

    ## Why it breaks clusters
    The team believes the pod is Guaranteed, but its containers get a Burstable `oom_score_adj`
    (3-999 instead of -997) and it can be chosen by the node OOM killer before truly Burstable
    neighbours; with the static CPU manager it also gets no exclusive cores.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: db}
    spec:
      initContainers:
        - name: migrate
          image: registry.example.com/migrate:1.0.0
      containers:
        - name: db
          image: registry.example.com/db:15.4
          resources:
            limits: {cpu: "2", memory: 4Gi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: db}
    spec:
      initContainers:
        - name: migrate
          image: registry.example.com/migrate:1.0.0
          resources:
            limits: {cpu: 500m, memory: 256Mi}
      containers:
        - name: db
          image: registry.example.com/db:15.4
          resources:
            limits: {cpu: "2", memory: 4Gi}
    ```

    ## Fix
    Give the init container cpu and memory limits (requests default to them). They do not add to the
    pod's footprint unless larger than the app containers' sum.

    ## Source
    kubernetes/kubernetes pkg/apis/core/helper/qos/qos.go (init containers are part of allContainers);
    kubernetes/kubectl pkg/util/qos/qos.go.
    """
    res = resources_of(doc)
    if res is None or res.qos == GUARANTEED or res.pod_level:
        return
    apps = [c for c in res.containers if c.container.role in (CONTAINER, SIDECAR)]
    inits = [c for c in res.containers if c.container.role not in (CONTAINER, SIDECAR)]

    def guaranteed(c: ContainerResources) -> bool:
        return all(c.limit(r) is not None and c.request(r) == c.limit(r) for r in ("cpu", "memory"))

    if not apps or not inits or not all(guaranteed(c) for c in apps):
        return
    if all(is_idle(c.container) for c in apps):
        return  # the app containers only sleep: which process dies first under OOM does not matter
    for c in inits:
        if guaranteed(c):
            continue
        missing = [r for r in ("cpu", "memory") if c.limit(r) is None]
        lower = [r for r in ("cpu", "memory") if c.limit(r) is not None and c.request(r) < (c.limit(r) or 0)]
        what = "; ".join(
            [f"no {' or '.join(missing)} limit"] * bool(missing)
            + [f"{' and '.join(lower)} requests below their limits"] * bool(lower)
        )
        todo = [f"set limits.{r}" for r in missing] + [
            f"raise requests.{r} to {_quantity(r, c.limit(r))} (its limit), or remove it (it then defaults to the limit)"
            for r in lower
        ]
        yield Hit(
            message=(
                f"init container {c.container.name!r} has {what}, so the whole pod is Burstable, not Guaranteed: "
                "its containers get an oom_score_adj between 3 and 999 instead of -997."
            ),
            fix=f"On init container {c.container.name!r}: {'; '.join(todo)}.",
            path=(*c.container.path, "resources"),
            container=c.container.name,
        )


def _quantity(resource: str, value: int | None) -> str:
    return format_millicores(value) if resource == "cpu" else format_bytes(value)


@cluster_rule(
    "RES005",
    "cpu-limit-throttles",
    "resources",
    Severity.MEDIUM,
    "CPU limit: the CFS quota stops the container for the rest of each 100 ms period, even on an idle node",
    params={
        "throttle_below_millicores": Param(
            1000,
            "a cpu limit below this on a container that serves traffic is medium (under one core by default)",
        )
    },
    per_workload=True,
    lookups=(services_index,),
)
def cpu_limit_throttles(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    App containers and sidecars of long-running workloads (Deployments, StatefulSets, DaemonSets,
    ReplicaSets, ReplicationControllers, Pods) that set `limits.cpu`. The severity follows the
    numbers and what the container does:
    - it serves traffic (a `containerPort` not named for metrics or health, or a Service in the scan
      selects its pods; pods that only metrics Services select, such as an exporter's, serve none)
      and its limit is below `throttle_below_millicores` (1000m): medium;
    - it serves traffic with a larger limit, or has a limit below 1000m and serves none: low;
    - otherwise (a large limit on a worker or agent): not reported.
    Jobs and CronJobs are not reported: throttling slows a batch run down, it drops no request.
    Teams keep CPU limits on purpose (cost allocation, noisy neighbours, a Guaranteed pod for the
    static CPU manager); the message gives the numbers so the trade is a choice, not an accident.

    ## Why it breaks clusters
    The kubelet turns `limits.cpu` into a CFS bandwidth quota on the container's cgroup: per
    `cpuCFSQuotaPeriod` (100 ms by default) the container's threads together may run for
    limit x 100 ms; once that is used, the kernel stops every thread of the container until the next
    period starts, whether or not the node has idle cores. A 500m limit is 50 ms per period: a
    request that needs 60 ms of CPU takes more than 100 ms of wall time, and four busy threads (a
    JVM garbage collector, a Go runtime, a Node.js worker pool, which size themselves from the
    node's core count, not the limit) use the quota in 12.5 ms and then wait 87.5 ms. Latency
    jumps by whole periods at every burst, health checks time out under load and the pod is taken
    out of its Service or restarted while the node is mostly idle. `requests.cpu` already protects
    neighbours: under contention the kernel shares CPU by the weights computed from requests.
    If the kubelets run with `cpuCFSQuota: false`, limits are not enforced and this finding does
    not apply.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:5.0.1
              ports: [{containerPort: 8080}]
              resources:
                requests: {cpu: 250m, memory: 512Mi}
                limits: {cpu: 500m, memory: 512Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: api
              image: registry.example.com/api:5.0.1
              ports: [{containerPort: 8080}]
              resources:
                requests: {cpu: 250m, memory: 512Mi}
                limits: {memory: 512Mi}
    ```

    ## Fix
    Remove `limits.cpu` and size `requests.cpu` for the steady load: the container may then burst
    into idle CPU and is still held to its share under contention. If the pod must stay Guaranteed
    (exclusive cores with the static CPU manager), give it whole cores and enough of them for its
    thread pools; otherwise raise the limit well above the bursts you measure
    (`container_cpu_cfs_throttled_periods_total` / `container_cpu_cfs_periods_total` in cAdvisor
    metrics shows how often it is throttled).

    ## Source
    K8s docs concepts/configuration/manage-resources-containers.md ("How Pods with resource limits
    are run": the limit is a CFS quota enforced by the kernel); kubernetes/kubelet
    config/v1beta1/types.go (`cpuCFSQuota` default true, `cpuCFSQuotaPeriod` default 100ms);
    kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go (`MilliCPUToQuota`, `MilliCPUToShares`);
    torvalds/linux Documentation/scheduler/sched-bwc.rst (CFS bandwidth control, throttling per period).
    """
    threshold = cpu_limit_throttles.param("throttle_below_millicores")
    for doc in ctx.workloads():
        if doc.kind not in LONG_RUNNING_KINDS:
            continue
        res = resources_of(doc)
        if res is None:
            continue
        selecting = services_selecting(doc, ctx.index)
        service_names = sorted({svc.ref.name or "?" for svc in selecting if serves_traffic(svc)})
        # Pods that only metrics Services select are scraped, not served, whatever their ports are named.
        scraped_only = bool(selecting) and not service_names
        # A Service's traffic goes to the containers that declare ports, or to any when none does.
        declared = any(c.container.data.get("ports") for c in res.containers)
        for c in res.containers:
            limit = c.limit("cpu")
            if c.container.role not in (CONTAINER, SIDECAR) or limit is None:
                continue
            ports = [] if scraped_only else serving_ports(c.container)
            services = service_names if c.container.data.get("ports") or not declared else []
            serving = bool(ports) or bool(services)
            small = limit < threshold
            if not serving and not small:
                continue
            yield Hit(
                message=_throttle_message(limit, services, ports),
                fix=(
                    f"Remove limits.cpu and keep requests.cpu {format_millicores(c.request('cpu'))} (CPU is shared by "
                    "request weight under contention), or raise the limit to whole cores above the measured bursts."
                ),
                path=(*c.container.path, "resources", "limits", "cpu"),
                severity=None if serving and small else Severity.LOW,
                container=c.container.name,
                doc=doc,
                extra={"cpu_limit_millicores": limit, "quota_ms_per_period": limit / 10},
            )


def _throttle_message(limit: int, services: list[str], ports: list[int]) -> str:
    """What the CFS quota of ``limit`` millicores does per 100 ms period, in the manifest's numbers."""
    quota = limit / 10  # ms of CPU time per 100 ms period, all threads together
    threads = max(4, 2 * -(-limit // 1000))
    if limit < 1000:
        burst = (
            f"A request needing {_ms(quota * 1.2)} ms of CPU takes over 100 ms, and {threads} busy threads"
        )
    else:
        burst = f"{threads} busy threads (runtimes size their pools from the node's cores, not the limit)"
    if services:
        why = f"it serves traffic (Service {', '.join(services)})"
    elif ports:
        why = f"it serves traffic (port {ports[0]})"
    else:
        why = "it serves no traffic the scan can see, so the cost is slower work, not slower requests"
    return (
        f"cpu limit {format_millicores(limit)}: the kernel's CFS quota lets this container's threads run "
        f"{_ms(quota)} ms per 100 ms period in total, then stops all of them until the next period, even on an "
        f"idle node. {burst} use the quota in {_ms(quota / threads)} ms and wait {_ms(100 - quota / threads)} ms; "
        f"{why}."
    )


def _ms(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _one_shot_consequence(doc: Document) -> str:
    """What losing a run-to-completion pod costs (Jobs are retried, a bare pod is not)."""
    if doc.kind == "Pod":
        return "This pod runs to completion: one killed that way fails its task (nothing retries a bare pod), not a serving outage."
    return "A run killed that way fails and is retried against backoffLimit: work is delayed or lost, not a serving outage."


def _its_pods(doc: Document) -> str:
    return "this pod is" if doc.kind == "Pod" else f"this {doc.kind}'s pods are"
