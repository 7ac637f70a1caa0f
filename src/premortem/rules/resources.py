"""Resources and QoS: what the scheduler reserves, what the kernel may be asked for, who dies first."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.criticality import criticality_of
from premortem.model.podspec import CONTAINER, ONE_SHOT_KINDS, POD_BEARING_KINDS, SIDECAR, pod_spec_path
from premortem.model.quantity import format_bytes
from premortem.model.resources import BEST_EFFORT, GUARANTEED, ContainerResources, oom_score_adj, resources_of
from premortem.rules.registry import Hit, object_rule

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
    - `high` for serving workloads and bare pods (a bare pod evicted is not recreated);
    - `medium` for Jobs and CronJobs: a run killed by eviction or OOM fails and is retried by the
      Job controller (against `backoffLimit`), which delays work but drops no requests;
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
    elif doc.kind in ONE_SHOT_KINDS:
        severity = Severity.MEDIUM
        message = (
            f"No container sets a cpu or memory request or limit, so this {doc.kind}'s pods are BestEffort: the "
            "scheduler places them as if they used nothing, the kubelet evicts them first under memory pressure "
            "and the kernel OOM killer picks them first (oom_score_adj 1000). A run killed that way fails and is "
            "retried against backoffLimit: work is delayed or lost, not a serving outage."
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


@object_rule(
    "RES002",
    "memory-request-below-limit",
    "resources",
    Severity.MEDIUM,
    "Memory request below the memory limit: the node is overcommitted",
    kinds=POD_BEARING_KINDS,
)
def memory_request_below_limit(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Containers (app containers and sidecars) whose memory request, after API defaulting, is below
    their memory limit. A limit without a request is not a finding: the API server copies the limit
    into the request.

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
    Set `requests.memory` equal to `limits.memory` (and the cpu request to the cpu limit where one
    exists): the pod becomes Guaranteed (`oom_score_adj` -997) and the scheduler reserves what the
    kernel may be asked for. `premortem fix` does this.

    ## Source
    pkg/apis/core/v1/defaults.go (request := limit), pkg/kubelet/qos/policy.go
    (GetContainerOOMScoreAdjust), K8s docs concepts/scheduling-eviction/node-pressure-eviction.md.
    """
    res = resources_of(doc)
    if res is None:
        return
    for c in res.containers:
        if c.container.role not in (CONTAINER, SIDECAR):
            continue
        limit = c.limit("memory")
        request = c.request("memory")
        if limit is None or request >= limit:
            continue
        adj = oom_score_adj("Burstable", request, TYPICAL_NODE_MEMORY)
        yield Hit(
            message=(
                f"memory request {format_bytes(request)} is below its limit {format_bytes(limit)}: the "
                f"scheduler reserves {format_bytes(request)} but the kernel lets it grow to "
                f"{format_bytes(limit)}, overcommitting the node by {format_bytes(limit - request)} per "
                f"replica. Under pressure it is evicted once above its request, and the OOM killer scores it "
                f"oom_score_adj {adj} on a 16Gi node (a Guaranteed container gets -997)."
            ),
            fix=f"Set requests.memory to {format_bytes(limit)} (= limit) to make the reservation honest.",
            path=(*c.container.path, "resources", "requests", "memory")
            if "memory" in c.declared_requests
            else (*c.container.path, "resources"),
            container=c.container.name,
            extra={"request_bytes": request, "limit_bytes": limit, "oom_score_adj": adj},
        )


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
    (so they would be Guaranteed) but where an init container lacks them. Kubernetes counts init
    containers when computing the QoS class, so the pod is Burstable.

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
    for c in inits:
        if guaranteed(c):
            continue
        yield Hit(
            message=(
                f"init container {c.container.name!r} has no equal cpu and memory limits, so the whole pod is "
                "Burstable, not Guaranteed: its containers get an oom_score_adj between 3 and 999 instead of -997."
            ),
            fix=f"Set resources.limits.cpu and limits.memory on init container {c.container.name!r}.",
            path=(*c.container.path, "resources"),
            container=c.container.name,
        )
