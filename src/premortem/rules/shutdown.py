"""Graceful shutdown: what a pod behind a Service does between its deletion and its last request."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.delivery import delivery_of
from premortem.model.index import ObjectIndex
from premortem.model.kubeversion import target_version
from premortem.model.lifecycle import MINIMUM_GRACE_SECONDS, SLEEP_ACTION_SINCE, grace_seconds, pre_stop
from premortem.model.podspec import (
    CONTAINER,
    LONG_RUNNING_KINDS,
    POD_BEARING_KINDS,
    ContainerView,
    pod_spec_of,
)
from premortem.model.traffic import serves_traffic, services_index, services_selecting
from premortem.rules.registry import ClusterContext, Hit, cluster_rule, object_rule


def serving_containers(doc: Document, index: ObjectIndex) -> tuple[list[str], list[ContainerView]]:
    """The Services sending this workload traffic, and the app containers that receive it (those
    declaring ports, or all of them when none does)."""
    pod = pod_spec_of(doc)
    if pod is None:
        return [], []
    services = sorted({svc.ref.name or "?" for svc in services_selecting(doc, index) if serves_traffic(svc)})
    if not services:
        return [], []
    apps = [c for c in pod.containers() if c.role == CONTAINER]
    with_ports = [c for c in apps if c.data.get("ports")]
    return services, with_ports or apps


@cluster_rule(
    "WRK002",
    "no-prestop-delay-behind-service",
    "workloads",
    Severity.LOW,
    "Pods behind a Service get SIGTERM while they are still in its endpoints: no preStop delay",
    per_workload=True,
    lookups=(services_index,),
)
def no_prestop_delay(ctx: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Deployments, StatefulSets, DaemonSets, ReplicaSets and ReplicationControllers selected by a
    Service in the scan (one that carries more than metrics) whose serving containers (those that
    declare ports, or all app containers when none does) have no `preStop` hook. Bare pods are not
    rolled out and are not reported.

    ## Why it breaks clusters
    Deleting a pod (a rollout, a scale-down, a drain, an eviction) starts two things at once: the
    kubelet runs the preStop hooks and then sends SIGTERM, and the EndpointSlice controller marks
    the endpoint terminating, after which every kube-proxy, ingress controller, service mesh and
    cloud load balancer removes it on its own schedule (from well under a second to tens of seconds
    for external load balancers). Nothing orders the two. An application that stops listening or
    exits on SIGTERM (nginx and many frameworks do; `kill` is what Kubernetes sends) refuses the
    connections still being routed to it: every rollout and every drain produces a burst of
    connection resets and 502s. A short preStop sleep keeps the process serving until the routing
    has caught up, then SIGTERM starts its graceful shutdown. Applications that already delay
    their own shutdown after SIGTERM do not need it; the manifest cannot say, so this is low.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: web
              image: registry.example.com/web:3.1.0
              ports: [{containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 8080}]
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: web
              image: registry.example.com/web:3.1.0
              ports: [{containerPort: 8080}]
              lifecycle:
                preStop:
                  sleep: {seconds: 5}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 8080}]
    ```

    ## Fix
    Add `lifecycle.preStop.sleep.seconds: 5` (the kubelet's own sleep action, no binary needed in
    the image; beta and on by default from v1.30, GA in v1.34), or `exec: {command: [sleep, "5"]}`
    on older clusters when the image has a `sleep`. Keep `terminationGracePeriodSeconds` above the
    sleep plus the application's own shutdown time. `premortem fix` adds the sleep action.

    ## Source
    K8s docs concepts/workloads/pods/pod-lifecycle.md ("Termination of Pods": the endpoint removal
    runs at the same time as the preStop hook and SIGTERM), tutorials/services/pods-and-endpoint-
    termination-flow.md, concepts/containers/container-lifecycle-hooks.md (sleep handler);
    kubernetes/enhancements keps/sig-node/3960-pod-lifecycle-sleep-action; kubernetes/kubernetes
    pkg/kubelet/kuberuntime/kuberuntime_container.go (`killContainer`).
    """
    for doc in ctx.workloads():
        if doc.kind not in LONG_RUNNING_KINDS or doc.kind in ("Pod", "PodTemplate"):
            continue
        services, containers = serving_containers(doc, ctx.index)
        if not containers or any(pre_stop(c) is not None for c in containers):
            continue
        first = containers[0]
        if target_version() >= SLEEP_ACTION_SINCE:
            fix = f"Add lifecycle.preStop.sleep.seconds: 5 to container {first.name!r}."
        else:
            fix = (
                f"Add lifecycle.preStop.exec.command: [sleep, '5'] to container {first.name!r} (the sleep action "
                f"needs {SLEEP_ACTION_SINCE}; the image must have a sleep binary)."
            )
        yield Hit(
            message=(
                f"Service {', '.join(services)} sends traffic to container {first.name!r}, which has no preStop hook: "
                "when a pod is deleted (rollout, scale-down, drain) the kubelet sends SIGTERM while kube-proxy, "
                "ingress controllers and load balancers are still removing the endpoint, so an application that "
                "stops listening on SIGTERM refuses the requests still routed to it (resets and 502s at every "
                "rollout and drain)."
            ),
            fix=fix,
            path=first.path,
            container=first.name,
            doc=doc,
            extra={"services": services},
        )


@object_rule(
    "WRK003",
    "prestop-outlasts-grace-period",
    "workloads",
    Severity.MEDIUM,
    "preStop sleep as long as the termination grace period: SIGKILL comes 2 s after SIGTERM",
    kinds=POD_BEARING_KINDS,
)
def prestop_outlasts_grace_period(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Containers whose preStop hook sleeps (the `sleep` action, or `sleep N` in an exec command) for
    at least the pod's `terminationGracePeriodSeconds` (default 30). A `sleep` action longer than
    the grace period is refused by the API server: high. Otherwise medium.

    ## Why it breaks clusters
    The preStop hook runs inside the grace period, not before it. When the hook has used it all,
    the kubelet still sends SIGTERM but gives the container only 2 seconds
    (`minimumGracePeriodInSeconds`) before SIGKILL. The application's graceful shutdown (finishing
    in-flight requests, flushing buffers, committing consumer offsets, leaving a cluster) never
    gets its time: every rollout and drain ends each pod with a kill. The API server validates the
    `sleep` action: its seconds must not exceed the grace period, so a larger value makes the
    Deployment's pods (or the Pod itself) fail to be created.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: web
              image: registry.example.com/web:3.1.0
              lifecycle:
                preStop:
                  exec: {command: ["sh", "-c", "sleep 30"]}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          terminationGracePeriodSeconds: 45
          containers:
            - name: web
              image: registry.example.com/web:3.1.0
              lifecycle:
                preStop:
                  exec: {command: ["sh", "-c", "sleep 30"]}
    ```

    ## Fix
    Raise `terminationGracePeriodSeconds` to the preStop sleep plus the time the application needs
    to shut down after SIGTERM (or shorten the sleep: 5-15 s covers endpoint propagation).

    ## Source
    kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go (`killContainer`,
    `minimumGracePeriodInSeconds = 2`), pkg/apis/core/validation/validation.go
    (`validateSleepAction`); K8s docs concepts/containers/container-lifecycle-hooks.md ("Hook
    handler execution") and concepts/workloads/pods/pod-lifecycle.md ("Termination of Pods").
    """
    pod = pod_spec_of(doc)
    if pod is None:
        return
    grace = grace_seconds(pod)
    if grace is None or grace == 0:
        return
    for container in pod.containers():
        hook = pre_stop(container)
        if hook is None or hook.sleep_seconds is None or hook.sleep_seconds < grace:
            continue
        seconds = f"{hook.sleep_seconds:g}"
        if hook.handler == "sleep" and hook.sleep_seconds > grace and delivery_of(doc).reaches_api_server:
            yield Hit(
                message=(
                    f"preStop sleep of {seconds} s is longer than terminationGracePeriodSeconds {grace}: the API server "
                    "rejects the pod (sleep seconds must not exceed the grace period), so no pod of this workload "
                    "is created."
                ),
                fix=f"Set terminationGracePeriodSeconds to at least {int(hook.sleep_seconds) + 15}, or shorten the sleep.",
                path=hook.path,
                container=container.name,
                severity=Severity.HIGH,
            )
            continue
        yield Hit(
            message=(
                f"preStop sleeps {seconds} s and terminationGracePeriodSeconds is {grace}: the hook uses up the grace "
                f"period, so SIGTERM arrives only {MINIMUM_GRACE_SECONDS} s before SIGKILL and the application's own "
                "shutdown (in-flight requests, flushes, offsets) is cut off at every rollout and drain."
            ),
            fix=(
                f"Set terminationGracePeriodSeconds to at least {int(hook.sleep_seconds) + 15} (the sleep plus the "
                "application's shutdown time), or shorten the sleep."
            ),
            path=hook.path,
            container=container.name,
            extra={"prestop_sleep_seconds": hook.sleep_seconds, "grace_period_seconds": grace},
        )
