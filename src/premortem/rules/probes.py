"""Probes: when the kubelet restarts a container or takes a pod out of Service endpoints, and why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.delivery import delivery_of
from premortem.model.idle import is_idle
from premortem.model.podspec import (
    CONTAINER,
    LONG_RUNNING_KINDS,
    SCALABLE_KINDS,
    SIDECAR,
    ContainerView,
    pod_spec_of,
    replicas_of,
)
from premortem.model.probes import (
    LIVENESS,
    READINESS,
    STARTUP,
    Probe,
    container_ports,
    probe_reach,
    probes_of,
)
from premortem.model.traffic import (
    is_monitoring_sidecar,
    serves_traffic,
    service_units,
    services_index,
    services_selecting,
    serving_ports,
)
from premortem.redact import shorten
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule, object_rule

# A start budget below this many seconds turns a slow start into a crash loop.
MIN_START_BUDGET = 30
# Liveness must give up at least this many times later than readiness to count as "clearly larger".
CLEARLY_LARGER = 1.5

# What happens when a probe can never succeed.
_ALWAYS_FAILS = {
    LIVENESS: "the kubelet restarts the container over and over (CrashLoopBackOff)",
    READINESS: "the pod never becomes Ready, so no Service sends it traffic and a rollout waiting for it stalls",
    STARTUP: "the kubelet kills the container before it has started, over and over (CrashLoopBackOff)",
}
_CONSEQUENCE = {
    LIVENESS: "the kubelet restarts the container",
    READINESS: "the pod is taken out of every Service's endpoints",
    STARTUP: "the kubelet kills the container before it has started",
}


def probed_containers(
    doc: Document, fragments: bool = False
) -> Iterator[tuple[ContainerView, dict[str, Probe]]]:
    """App containers and sidecars of a long-running workload, with their probes.

    Plain init containers and ephemeral containers cannot have probes (the API refuses them), and
    Jobs/CronJobs run to completion, so none of them are looked at. A pod spec in which a container
    has no image is a fragment (a kustomize strategic-merge patch, a static-pod snippet): the API
    would refuse it as an object, and what it omits (other probes, ports, timings) comes from the
    base it is merged into, so it is skipped unless ``fragments`` is set by a rule that only reads
    the probe's own fields.
    """
    key = "probed+fragments" if fragments else "probed"
    found: tuple[tuple[ContainerView, dict[str, Probe]], ...] | None = doc.cache.get(key)
    if found is None:  # listed once per document: most probe rules ask
        found = doc.cache[key] = tuple(_probed(doc, fragments))
    return iter(found)


def _probed(doc: Document, fragments: bool) -> Iterator[tuple[ContainerView, dict[str, Probe]]]:
    if doc.kind not in LONG_RUNNING_KINDS:
        return
    spec = pod_spec_of(doc)
    if spec is None:
        return
    if not fragments and is_fragment(doc):
        return
    for container in spec.containers():
        if container.role in (CONTAINER, SIDECAR):
            yield container, probes_of(container)


def is_fragment(doc: Document) -> bool:
    """A pod spec completed elsewhere: a kustomize patch (a container without an image) or a document
    a program completes (model/delivery.py). Pod-level fields it omits (hostNetwork, ports, other
    probes) are not final."""
    spec = pod_spec_of(doc)
    if spec is None or not delivery_of(doc).complete:
        return True
    return any(not isinstance(c.data.get("image"), str) for c in spec.containers())


def _describe(probe: Probe) -> str:
    kind = probe.handler_type
    h = probe.handler
    if kind == "httpGet":
        return f"GET {h.get('path') or '/'} on port {probe.port()}"
    if kind == "tcpSocket":
        return f"a TCP connect to port {probe.port()}"
    if kind == "grpc":
        return f"a gRPC health check on port {h.get('port')}"
    if kind == "exec":
        command = h.get("command")
        text = " ".join(str(c) for c in command) if isinstance(command, list) else "?"
        return f"`{text[:77] + '...' if len(text) > 80 else text}`"
    return "no handler"


def _replicas_phrase(doc: Document) -> str:
    replicas = replicas_of(doc)
    if doc.kind == "DaemonSet":
        return "its pods on every node"
    if replicas is not None and replicas > 1:
        return f"all {replicas} replicas"
    return "all replicas"


@object_rule(
    "PRB001",
    "liveness-probe-crosses-network",
    "probes",
    Severity.HIGH,
    "Liveness probe depends on another host or service",
    kinds=LONG_RUNNING_KINDS,
)
def liveness_crosses_network(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Liveness probes of long-running workloads (not Jobs or CronJobs) that test something other
    than the container itself:
    - `exec` commands that connect to another host: `pg_isready -h db`, `psql`/`mysql`/`mysqladmin
      -h`, `redis-cli -h` or `-u redis://...`, `mongo`/`mongosh --host`, `curl`/`wget` to a
      non-local URL, `nc host port`, `/dev/tcp/host/port`, `etcdctl --endpoints`, `nslookup`, and
      any `kubectl` call (the API server);
    - `httpGet.host` or `tcpSocket.host` set to another host;
    - HTTP paths that name a dependency (`/health/db`, `/healthz/redis`, `/deps`, `/downstream`),
      and Spring Boot's aggregate `/actuator/health` (it includes the DataSource, Redis, ... health
      indicators; `/actuator/health/liveness` does not).

    `localhost`, `127.0.0.1`, `::1`, `0.0.0.0`, unix sockets, `$(hostname)` and variables set from
    the pod's own IP or name (`fieldRef: status.podIP`) are the pod itself and are not reported. An
    explicit other host is `high`; a dependency inferred from a path or a variable set outside the
    manifest is `medium`.

    ## Why it breaks clusters
    A liveness failure makes the kubelet kill and restart the container. When the probe tests a
    shared dependency, the dependency's health becomes every replica's health: a slow database
    makes all replicas fail liveness within the same few seconds, the kubelet restarts them all at
    once (the service is now down, not degraded), and when they come back their connection pools,
    cache warm-ups and retries all hit the dependency together, just as it tries to recover: a
    restart storm. Restarts then back off (CrashLoopBackOff, up to 5 minutes), so the service stays
    down after the dependency is back. Kubernetes' own guidance: liveness probes must "truly
    indicate unrecoverable application failure".

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: orders}
    spec:
      replicas: 4
      selector: {matchLabels: {app: orders}}
      template:
        metadata: {labels: {app: orders}}
        spec:
          containers:
            - name: orders
              image: registry.example.com/orders:1.8.0
              livenessProbe:
                exec:
                  command: ["sh", "-c", "pg_isready -h orders-db.prod.svc -p 5432"]
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: orders-db}
    spec:
      serviceName: orders-db
      selector: {matchLabels: {app: orders-db}}
      template:
        metadata: {labels: {app: orders-db}}
        spec:
          containers:
            - name: postgres
              image: postgres:16.2
              env:
                - name: POD_IP
                  valueFrom: {fieldRef: {fieldPath: status.podIP}}
              livenessProbe:
                exec:
                  command: ["sh", "-c", "pg_isready -U postgres -h $(POD_IP) -p 5432"]
    ```

    ## Fix
    Make liveness answer "is this process wedged?" only: a local endpoint that does not call
    dependencies (`/livez`, a TCP check of the container's own port). Check dependencies in the
    readiness probe, which only takes the pod out of Service endpoints, or nowhere and let the
    application degrade and retry.

    ## Source
    K8s docs tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md (liveness
    failure restarts the container; caution on cascading failures; TCP probes connect from the
    node); kubernetes/kubernetes pkg/kubelet/prober/prober.go (exec commands, httpGet host);
    learnk8s/kubernetes-production-best-practices application-development.md ("Apps are
    independent"); srcco.de "Kubernetes Liveness Probes are Dangerous".
    """
    for container, probes in probed_containers(doc, fragments=True):
        probe = probes.get(LIVENESS)
        if probe is None:
            continue
        reach = probe_reach(probe)
        if reach is None:
            continue
        if reach.certain and reach.how.startswith(("httpGet.host", "tcpSocket.host")):
            opening = (
                f"liveness probe sets {reach.how}: the kubelet connects to {reach.target} from the node (where "
                "cluster Service names usually do not even resolve), so it tests that host, not this container."
            )
        elif reach.certain:
            opening = f"liveness probe runs {reach.how}: it tests {reach.target}, not this container."
        elif reach.target.startswith("$"):
            opening = (
                f"liveness probe runs {reach.how}: {reach.target} is set outside this manifest; unless it "
                "points at this pod, the probe tests another host, not this container."
            )
        else:
            opening = (
                f"liveness probe checks {reach.how}, which names a dependency ({reach.target}): if that endpoint "
                "checks it, the probe tests the dependency, not this container."
            )
        target = reach.target if not reach.target.startswith("every") else "a dependency"
        yield Hit(
            message=(
                f"{opening} When {target} is slow or down, {_replicas_phrase(doc)} fail liveness at the same "
                "moment and the kubelet restarts them all: the service goes from degraded to down, and the "
                f"reconnect storm of every restarted replica hits {target} while it tries to recover."
            ),
            fix=(
                "Make liveness check only the process (a local /livez that calls no dependency); check "
                "dependencies in readinessProbe, which only removes the pod from Service endpoints."
            ),
            path=(*probe.path, probe.handler_type or ""),
            container=container.name,
            severity=None if reach.certain else Severity.MEDIUM,
            extra={"reaches": reach.target},
        )


@object_rule(
    "PRB002",
    "liveness-same-as-readiness",
    "probes",
    Severity.MEDIUM,
    "Liveness probe is the readiness probe with no larger failure budget",
    kinds=LONG_RUNNING_KINDS,
    params={
        "clearly_larger": Param(
            CLEARLY_LARGER, "liveness budget / readiness budget from which there is no finding"
        ),
        "patient_seconds": Param(
            300, "a liveness failure budget of at least this many seconds is patient enough: no finding"
        ),
    },
)
def liveness_same_as_readiness(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Containers whose liveness and readiness probes run the same check (same handler, named ports
    resolved against the container's ports, same path, host, scheme and headers) and where liveness
    does not give up clearly later than readiness: its failure budget (`periodSeconds *
    failureThreshold`, after defaults 10 s and 3) is not at least 1.5 times readiness'. At or below
    readiness' budget it is `medium`; larger but less than 1.5 times, `low`. A liveness budget at
    least 1.5 times the readiness budget is the accepted pattern and no finding, and so is a liveness
    budget of `patient_seconds` (300) or more: a pod failing its check for five minutes is down
    already, and restarting it then is recovery, not a load spike turned into a restart cascade
    (GKE's JetStream samples give both probes 30 x 60 s). A helper container that only exposes
    monitoring ports (metrics, health) beside a container that serves (prometheus'
    `configmap-reload`) is `low`: client load does not reach it, so the cascade below cannot start
    from it, though its failures still make the whole pod NotReady. DaemonSets are not
    checked: one pod per node, usually a node agent outside any Service, so there is no traffic for
    readiness to move away and the identical probe adds no harm of its own.

    ## Why it breaks clusters
    Readiness failing takes the pod out of Service endpoints so it can recover without traffic;
    liveness failing restarts it. With the same check and budget, both fire together: an
    overloaded pod is restarted at the moment it would have been rested, its traffic moves to the
    other replicas, which are now more overloaded and fail the same check in turn. A load spike or
    a slow dependency becomes a rolling restart of the whole service, each restart adding start-up
    cost (caches, JIT, connection pools) when capacity is shortest.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: web
              image: registry.example.com/web:3.2.0
              ports: [{name: http, containerPort: 8080}]
              livenessProbe:
                httpGet: {path: /healthz, port: http}
              readinessProbe:
                httpGet: {path: /healthz, port: 8080}
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: web
              image: registry.example.com/web:3.2.0
              ports: [{name: http, containerPort: 8080}]
              livenessProbe:
                httpGet: {path: /healthz, port: http}
                failureThreshold: 6
              readinessProbe:
                httpGet: {path: /healthz, port: 8080}
    ```

    ## Fix
    Best: a cheaper liveness check that only says the process is not wedged (`/livez`). At least:
    give liveness a failure budget well above readiness' (e.g. the same period with
    `failureThreshold: 6` against readiness' 3).

    ## Source
    K8s docs tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md
    (readiness failure removes from endpoints, liveness failure restarts); kubernetes/kubernetes
    pkg/apis/core/v1/defaults.go `SetDefaults_Probe` (defaults); pkg/kubelet/prober/prober.go
    (`ResolveContainerPort`: named ports).
    """
    if doc.kind == "DaemonSet":
        return
    probed = list(probed_containers(doc))
    pod_containers = [container for container, _ in probed]
    for container, probes in probed:
        liveness, readiness = probes.get(LIVENESS), probes.get(READINESS)
        if liveness is None or readiness is None:
            continue
        key = liveness.handler_key()
        if key is None or key != readiness.handler_key():
            continue
        live_budget, ready_budget = liveness.failure_budget, readiness.failure_budget
        if (
            live_budget is None
            or ready_budget is None
            or live_budget >= liveness_same_as_readiness.param("clearly_larger") * ready_budget
        ):
            continue
        if live_budget >= liveness_same_as_readiness.param("patient_seconds"):
            continue
        if live_budget <= ready_budget:
            when = (
                f"and liveness gives up after {live_budget} s, no later than readiness ({ready_budget} s)"
                if live_budget < ready_budget
                else f"with the same failure budget ({live_budget} s)"
            )
            severity = None
        else:
            when = (
                f"and liveness gives up after {live_budget} s, barely later than readiness ({ready_budget} s)"
            )
            severity = Severity.LOW
        suggested = max(2 * ready_budget // max(liveness.period or 10, 1), 1)
        consequence = (
            "when the pod is overloaded or a dependency is slow, the kubelet restarts it at the moment "
            "readiness takes it out of the Service to recover; its traffic moves to the other replicas, "
            "which then fail the same check, turning a load spike into a rolling restart of the whole service."
        )
        if is_monitoring_sidecar(container, pod_containers):
            severity = Severity.LOW
            consequence = (
                "this container only exposes monitoring ports beside the one that serves, so client load "
                "does not make it fail and moving traffic away cannot cascade; but while it fails, the "
                "whole pod is NotReady (a pod is Ready only when every container is) and the helper is "
                "restarted at the same moment."
            )
        yield Hit(
            message=(
                f"liveness and readiness run the same check ({_describe(liveness)}) {when}: {consequence}"
            ),
            fix=(
                "Give liveness a cheaper check (process alive, e.g. /livez), or at least a larger budget: "
                f"failureThreshold: {suggested} at periodSeconds: {liveness.period}."
            ),
            path=liveness.path,
            container=container.name,
            severity=severity,
            extra={"liveness_budget_seconds": live_budget, "readiness_budget_seconds": ready_budget},
        )


@object_rule(
    "PRB003",
    "liveness-without-startup-grace",
    "probes",
    Severity.LOW,
    "Liveness probe kills containers that start in less than 30 s, and there is no startupProbe",
    kinds=LONG_RUNNING_KINDS,
    params={
        "min_start_seconds": Param(
            MIN_START_BUDGET, "start budget (seconds) below which a container is killed"
        )
    },
)
def liveness_without_startup_grace(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Containers with a liveness probe, no startup probe, and a start budget
    (`initialDelaySeconds + periodSeconds * failureThreshold`, after the API defaults 0, 10 and 3)
    under 30 seconds. With the defaults the budget is exactly 30 s and there is no finding.
    Probes that pass as soon as the container runs are not findings: an `exec` of a file check or a
    trivial command (`ls`, `cat`, `test`, `stat`, `true`), which does not wait for the application,
    and a check of Redis (`redis-cli ping`, or a TCP connect to its port 6379 in a Redis image),
    which accepts connections at once (it listens before it loads its dataset).

    ## Why it breaks clusters
    Liveness probing starts after `initialDelaySeconds`, whether or not the application is up yet;
    `failureThreshold` failures later the kubelet kills it. A start that is only a little slower
    than on a developer laptop (a cold node, CPU throttled by its limit, a dependency slow at boot,
    a schema migration, a bigger cache) ends in a restart, the next start is as slow, and the pod
    lands in CrashLoopBackOff (back-off up to 5 minutes): exactly when a node failure or a rollout
    makes many pods start at once.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: search}
    spec:
      containers:
        - name: search
          image: registry.example.com/search:5.0.1
          livenessProbe:
            httpGet: {path: /livez, port: 9200}
            initialDelaySeconds: 5
            periodSeconds: 5
            failureThreshold: 3
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: search}
    spec:
      containers:
        - name: search
          image: registry.example.com/search:5.0.1
          startupProbe:
            httpGet: {path: /livez, port: 9200}
            periodSeconds: 5
            failureThreshold: 36
          livenessProbe:
            httpGet: {path: /livez, port: 9200}
            periodSeconds: 5
            failureThreshold: 3
    ```

    ## Fix
    Add a `startupProbe` with the same check and `periodSeconds * failureThreshold` covering the
    slowest start you have seen (e.g. 5 s x 36 = 3 minutes). Liveness and readiness only run
    after it succeeds, so liveness can stay quick to react.

    ## Source
    K8s docs tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md
    ("Protect slow starting containers with startup probes"); concepts/workloads/pods/
    pod-lifecycle.md (CrashLoopBackOff back-off); kubernetes/kubernetes pkg/apis/core/v1/defaults.go
    `SetDefaults_Probe`.
    """
    for container, probes in probed_containers(doc):
        liveness = probes.get(LIVENESS)
        if liveness is None or STARTUP in probes:
            continue
        budget = liveness.start_budget
        if (
            budget is None
            or budget >= liveness_without_startup_grace.param("min_start_seconds")
            or answers_at_once(liveness)
        ):
            continue
        yield Hit(
            message=(
                f"the liveness probe kills the container if it does not answer within about {budget} s of "
                f"starting (initialDelaySeconds {liveness.initial_delay} + periodSeconds {liveness.period} x "
                f"failureThreshold {liveness.failure_threshold}) and there is no startupProbe: a start slower than "
                "usual (cold node, CPU throttling, slow dependency at boot) becomes a restart loop "
                "(CrashLoopBackOff) just when many pods start at once."
            ),
            fix=(
                "Add a startupProbe with the same check and periodSeconds x failureThreshold covering the slowest "
                "start (e.g. periodSeconds: 5, failureThreshold: 36)."
            ),
            path=liveness.path,
            container=container.name,
            extra={"start_budget_seconds": budget},
        )


# exec commands that check a file or do nothing: they pass as soon as the container runs.
_INSTANT_COMMANDS = frozenset({"ls", "cat", "test", "[", "stat", "true", "echo", "touch", "find"})
_SHELLS = frozenset({"sh", "bash", "ash", "dash"})
REDIS_PORT = 6379


def answers_at_once(probe: Probe) -> bool:
    """The probe passes as soon as the container runs: it does not wait for a slow start."""
    kind = probe.handler_type
    if kind == "exec":
        command = probe.handler.get("command")
        words = [str(w) for w in command] if isinstance(command, list) else []
        if len(words) >= 3 and os.path.basename(words[0]) in _SHELLS and words[1].startswith("-"):
            words = words[2].split()  # sh -c "cat /tmp/healthy"
        if not words:
            return False
        program = os.path.basename(words[0])
        if program in _INSTANT_COMMANDS and not any(sep in words for sep in ("&&", "||", "|", ";")):
            return True
        return program == "redis-cli" and [w.lower() for w in words[-1:]] == ["ping"]
    if kind == "tcpSocket" and probe.port() == REDIS_PORT:
        image = probe.container.data.get("image")
        return isinstance(image, str) and "redis" in os.path.basename(image.split("@")[0].split(":")[0])
    return False


@object_rule(
    "PRB004",
    "probe-hair-trigger",
    "probes",
    Severity.LOW,
    "Probe acts on a single 1-second timeout",
    kinds=LONG_RUNNING_KINDS,
)
def probe_hair_trigger(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Liveness, readiness and startup probes with `timeoutSeconds` 1 (the default), `periodSeconds`
    under 5 and `failureThreshold` 1: one answer slower than a second is enough to act.

    ## Why it breaks clusters
    A one-second stall is routine: a garbage-collection pause, CFS throttling when the container
    hits its cpu limit (the quota period is 100 ms, a throttled container waits out the rest of
    it, again and again), a busy node, a slow disk flush. With `failureThreshold: 1` the first
    stall acts: liveness restarts the container, readiness pulls the pod out of every Service's
    endpoints (and back in a few seconds later: flapping endpoints, errors for clients with open
    connections), a startup probe kills the container before it has started. Under load, when
    stalls are most frequent, all replicas do it together.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: gateway}
    spec:
      selector: {matchLabels: {app: gateway}}
      template:
        metadata: {labels: {app: gateway}}
        spec:
          containers:
            - name: gateway
              image: registry.example.com/gateway:2.4.0
              readinessProbe:
                httpGet: {path: /ready, port: 8080}
                periodSeconds: 2
                failureThreshold: 1
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: gateway}
    spec:
      selector: {matchLabels: {app: gateway}}
      template:
        metadata: {labels: {app: gateway}}
        spec:
          containers:
            - name: gateway
              image: registry.example.com/gateway:2.4.0
              readinessProbe:
                httpGet: {path: /ready, port: 8080}
                periodSeconds: 2
                timeoutSeconds: 2
                failureThreshold: 3
    ```

    ## Fix
    Let a probe fail more than once before acting (`failureThreshold: 3`) and give it a timeout
    above the service's worst normal latency (`timeoutSeconds: 2`-`5`).

    ## Source
    kubernetes/kubernetes pkg/apis/core/v1/defaults.go `SetDefaults_Probe` (timeoutSeconds 1);
    K8s docs tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md
    (timeoutSeconds, failureThreshold); kubernetes/kubelet config/v1beta1/types.go
    (cpuCFSQuotaPeriod 100ms).
    """
    for container, probes in probed_containers(doc):
        for name, probe in probes.items():
            if not (probe.timeout == 1 and probe.failure_threshold == 1 and (probe.period or 10) < 5):
                continue
            written = "timeoutSeconds" in probe.data and probe.data.get("timeoutSeconds") != 0
            yield Hit(
                message=(
                    f"{probe.word} probe times out after 1 s{'' if written else ' (the default)'}, runs every "
                    f"{probe.period} s and acts on the first failure: one GC pause or CPU-throttled second and "
                    f"{_CONSEQUENCE[name]}; under load every replica does it together."
                ),
                fix=f"In {name} set failureThreshold: 3 and timeoutSeconds: 2 (or more).",
                path=(*probe.path, "failureThreshold"),
                container=container.name,
            )


@object_rule(
    "PRB006",
    "probe-port-not-found",
    "probes",
    Severity.HIGH,
    "Probe uses a named port the container does not declare",
    kinds=LONG_RUNNING_KINDS,
)
def probe_port_not_found(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    `httpGet.port` or `tcpSocket.port` given as a name that is neither in the container's own
    `ports[].name` nor a number. Names are looked up in the probed container only; a port declared
    by another container of the pod does not count.

    ## Why it breaks clusters
    The API server only checks that the name is well formed. The kubelet resolves it on every
    probe, fails, and counts the probe as failed: a liveness or startup probe restarts the
    container forever (CrashLoopBackOff), a readiness probe keeps the pod out of every Service and
    stalls the rollout that created it. Renaming a port (`http` to `web`) without the probe is the
    usual cause.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.0.0
          ports: [{name: web, containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /ready, port: http}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.0.0
          ports: [{name: http, containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /ready, port: http}
    ```

    ## Fix
    Use a port name the container declares, or the number.

    ## Source
    kubernetes/kubernetes pkg/kubelet/prober/prober.go and pkg/probe/util.go
    (`ResolveContainerPort`: name, then a numeric string, else an error that counts as a failure);
    pkg/apis/core/validation (named ports are only checked for syntax).
    """
    for container, probes in probed_containers(doc):
        for name, probe in probes.items():
            if probe.handler_type not in ("httpGet", "tcpSocket") or probe.handler.get("port") is None:
                continue
            port = probe.port()
            if not isinstance(port, str):
                continue
            declared = container_ports(container)
            has = ", ".join(f"{n}={p}" for n, p in declared.items()) or "no named ports"
            yield Hit(
                message=(
                    f"{probe.word} probe uses port {shorten(port, 40)!r}, but container {container.name!r} declares no port of "
                    f"that name (it has {has}). The kubelet cannot resolve it and every probe fails: "
                    f"{_ALWAYS_FAILS[name]}."
                ),
                fix=f"Set {name}.{probe.handler_type}.port to a declared port name or number.",
                path=(*probe.path, probe.handler_type or "", "port"),
                container=container.name,
            )


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "ip6-localhost"})


@object_rule(
    "PRB007",
    "probe-host-is-the-node",
    "probes",
    Severity.MEDIUM,
    "Probe host is loopback but the pod has its own network namespace: the kubelet probes the node",
    kinds=LONG_RUNNING_KINDS,
)
def probe_host_is_the_node(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    `httpGet.host` or `tcpSocket.host` set to `localhost`, `127.0.0.1` or `::1` in a pod without
    `hostNetwork: true`. Fragments that leave `hostNetwork` to what they are merged into (a
    kustomize patch, or a pod a program completes, such as the kops healthcheck container copied
    into the kube-apiserver static pod) are not judged: the final pod decides.

    ## Why it breaks clusters
    The kubelet runs httpGet and tcpSocket probes itself, from the node's network namespace; `host`
    defaults to the pod's IP for that reason. Loopback there is the node's loopback, not the
    container's: the probe reaches whatever listens on that port on the node. Usually nothing does,
    so every probe fails (a liveness or startup probe restarts the container forever, a readiness
    probe keeps the pod out of every Service); where a node process does answer, the probe passes
    whatever state the container is in. Loopback is right only for `hostNetwork` pods, which share
    the node's network namespace.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.0.0
          readinessProbe:
            httpGet: {host: 127.0.0.1, path: /ready, port: 8080}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: node-agent}
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: registry.example.com/agent:1.0.0
          readinessProbe:
            httpGet: {host: 127.0.0.1, path: /ready, port: 8080}
    ```

    ## Fix
    Remove `host` (the kubelet then uses the pod IP); to send a particular Host header, set it in
    `httpHeaders`. If the application listens on 127.0.0.1 only, make it listen on the pod IP, or
    use an `exec` probe, which runs inside the container.

    ## Source
    K8s docs tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md (HTTP
    probes: "In most scenarios, you do not want to set the host field"; loopback with hostNetwork;
    TCP probes connect from the node); kubernetes/kubernetes pkg/kubelet/prober/prober.go (host
    defaults to the pod IP).
    """
    spec = pod_spec_of(doc)
    if spec is None or spec.spec.get("hostNetwork") is True:
        return
    if is_fragment(doc) and "hostNetwork" not in spec.spec:
        return  # the pod it is merged into decides (kops runs its healthcheck in a hostNetwork pod)
    for container, probes in probed_containers(doc, fragments=True):
        for name, probe in probes.items():
            host = probe.handler.get("host") if probe.handler_type in ("httpGet", "tcpSocket") else None
            if not isinstance(host, str) or host.strip().lower() not in _LOOPBACK:
                continue
            yield Hit(
                message=(
                    f"{probe.word} probe connects to {host}, but the kubelet probes from the node, and this pod has "
                    f"its own network namespace (no hostNetwork): {host} is the node, not the container. If nothing "
                    f"on the node answers on port {probe.port()}, every probe fails and {_ALWAYS_FAILS[name]}; if "
                    "something does, the probe passes whatever the container's state."
                ),
                fix=f"Remove {name}.{probe.handler_type}.host (the kubelet then uses the pod IP).",
                path=(*probe.path, probe.handler_type or "", "host"),
                container=container.name,
            )


@cluster_rule(
    "PRB005",
    "no-readiness-probe",
    "probes",
    Severity.LOW,
    "Workload that serves traffic has no readiness probe",
    per_workload=True,
    lookups=(service_units, services_index),
)
def no_readiness_probe(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Long-running workloads in which no container or sidecar has a readiness probe, when they serve
    traffic:
    - Deployments, StatefulSets, ReplicaSets and ReplicationControllers that declare a
      `containerPort` or are selected by a Service in the scan;
    - DaemonSets and bare Pods only when a Service in the scan selects them: node agents (log
      shippers, CNI, kube-proxy) without a Service receive no traffic a readiness probe could hold
      back.

    Pods whose containers only idle (`sleep infinity`, `tail -f /dev/null`: a toolbox that a
    sample's Service happens to select) are not findings: nothing in them listens.

    A scalable workload with container ports that no Service read selects is judged by its input
    unit (model/units.py): when the unit holds Services and none selects it, nothing sends it
    traffic and there is no finding; when the scan holds no Service of its unit at all, whether one
    does is unknown and the finding is `info`.

    ## Why it breaks clusters
    A container without a readiness probe counts as ready the moment it is running. The endpoints
    controller adds the pod to every Service that selects it before the application listens, so
    each rollout, restart and scale-up sends clients connection refusals and 502s for the seconds
    the application takes to start; a pod that later hangs keeps receiving traffic. Rollouts use
    the same signal: a Deployment counts the new pod available immediately and deletes old pods
    before the new ones can serve (a StatefulSet moves to the next ordinal, a DaemonSet to the next
    node). A startupProbe only holds readiness back until its first success.

    ## Failing example
    ```yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout}
    spec:
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          containers:
            - name: checkout
              image: registry.example.com/checkout:7.1.0
              ports: [{containerPort: 8080}]
    ```

    ## Passing example
    ```yaml
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: log-shipper}
    spec:
      selector: {matchLabels: {app: log-shipper}}
      template:
        metadata: {labels: {app: log-shipper}}
        spec:
          containers:
            - name: shipper
              image: registry.example.com/shipper:1.2.0
              ports: [{name: metrics, containerPort: 2020}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout}
    spec:
      selector: {matchLabels: {app: checkout}}
      template:
        metadata: {labels: {app: checkout}}
        spec:
          containers:
            - name: checkout
              image: registry.example.com/checkout:7.1.0
              ports: [{containerPort: 8080}]
              readinessProbe:
                httpGet: {path: /ready, port: 8080}
    ```

    ## Fix
    Add a readinessProbe that succeeds once the application accepts requests (an HTTP endpoint or
    a TCP check of the serving port).

    ## Source
    K8s docs concepts/workloads/pods/pod-lifecycle.md ("Container probes": no readiness probe
    means Success); tasks/configure-pod-container/configure-liveness-readiness-startup-probes.md
    (readiness controls Service endpoints); concepts/workloads/controllers/deployment.md
    (availability, maxUnavailable, minReadySeconds).
    """
    index = context.index
    services = service_units(index)
    for doc in context.workloads():
        if doc.kind not in LONG_RUNNING_KINDS:
            continue
        containers = list(probed_containers(doc))
        if not containers or any(READINESS in probes for _, probes in containers):
            continue
        if all(is_idle(c) for c, _ in containers):
            continue  # nothing in it listens: readiness has nothing to wait for
        # publishNotReadyAddresses Services list pods whether Ready or not: readiness changes nothing.
        selecting = [
            svc.ref.name or "?"
            for svc in services_selecting(doc, index)
            if serves_traffic(svc) and _spec(svc).get("publishNotReadyAddresses") is not True
        ]
        has_ports = any(serving_ports(c) for c, _ in containers)
        if not selecting and not (doc.kind in SCALABLE_KINDS and has_ports):
            continue
        severity: Severity | None = None
        if not selecting:
            if services.any_in_unit_of(doc.file):
                continue  # the unit's Services are all read, and none sends it traffic
            severity = Severity.INFO  # no Service read at all: whether one sends it traffic is unknown
        if selecting:
            names = ", ".join(sorted(set(selecting)))
            traffic = f"Service {names} sends it traffic"
        else:
            traffic = "any Service that selects it sends it traffic"
        startup = (
            " (its startupProbe holds that back only until its first success)"
            if any(STARTUP in probes for _, probes in containers)
            else ""
        )
        rollout = {
            "StatefulSet": "the StatefulSet moves on to the next ordinal",
            "DaemonSet": "the rolling update moves on to the next node",
            "Pod": "",
            "PodTemplate": "",
        }.get(doc.kind or "", "the rollout counts it available and deletes old pods")
        rollout_text = f"; {rollout} before the new one can serve" if rollout else ""
        first = containers[0][0]
        yield Hit(
            message=(
                f"no container has a readiness probe, so each pod is Ready as soon as its containers run"
                f"{startup}: {traffic} before the application listens (refused connections and 502s at every "
                f"rollout, restart and scale-up), and a pod that hangs later keeps receiving it{rollout_text}."
            ),
            fix=f"Add a readinessProbe to container {first.name!r} that succeeds once it accepts requests.",
            path=first.path,
            container=first.name,
            doc=doc,
            severity=severity,
            extra={"services": sorted(set(selecting))},
        )


def _spec(doc: Document) -> dict[str, Any]:
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    return spec if isinstance(spec, dict) else {}
