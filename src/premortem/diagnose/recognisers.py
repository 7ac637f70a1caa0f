"""The recogniser table: what each known failure looks like in every format that reports it.

A recogniser is a function ``(record, state) -> Sighting | KNOWN | None`` registered with the literal
keywords it needs; a line is only offered to recognisers whose keyword it contains (one compiled
alternation per line, so unrelated lines cost one regex search). ``KNOWN`` marks a recognised line that
is context, not a finding (the ``pods ranked for eviction`` list, the second line of an etcd warning).
The wording comes from the components' source: kubelet ``pkg/kubelet/eviction``, ``pkg/kubelet/prober``,
``pkg/kubelet/images``; apiserver ``staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook``;
etcd ``server/etcdserver/raft.go``, ``util.go``, ``server/storage/wal/wal.go`` (3.4: ``etcdserver/``,
``wal/``); kernel ``mm/oom_kill.c``; kubectl ``drain``; cilium ``pkg/maps/policymap``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from premortem.diagnose.records import Record, Sighting
from premortem.findings import Severity

KNOWN = object()  # a recognised line that raises nothing by itself
Result = Sighting | object | None
State = dict[str, Any]


@dataclass(frozen=True)
class Recogniser:
    name: str
    keywords: tuple[str, ...]
    fn: Callable[[Record, State], Result]


RECOGNISERS: list[Recogniser] = []


def recogniser(
    *keywords: str,
) -> Callable[[Callable[[Record, State], Result]], Callable[[Record, State], Result]]:
    def wrap(fn: Callable[[Record, State], Result]) -> Callable[[Record, State], Result]:
        RECOGNISERS.append(Recogniser(fn.__name__, keywords, fn))
        return fn

    return wrap


# ---------------------------------------------------------------------------------------------- helpers

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|µs|us|μs|ns|m|s)")
_DURATION_UNIT = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "µs": 1e-6,
    "μs": 1e-6,
    "us": 1e-6,
    "ns": 1e-9,
}


def go_duration(text: str | None) -> float | None:
    """Go's ``time.Duration`` string (``1.234s``, ``523.1ms``, ``1m2.5s``) in seconds."""
    if not text:
        return None
    parts = _DURATION_PART.findall(str(text).strip())
    if not parts:
        return None
    return sum(float(n) * _DURATION_UNIT[u] for n, u in parts)


def human_seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 1:
        return f"{value:.2f}s"
    return f"{value * 1000:.0f}ms"


def human_kib(kib: int | None) -> str:
    if kib is None:
        return "?"
    if kib >= 1024 * 1024:
        return f"{kib / 1024 / 1024:.1f} GiB"
    return f"{kib / 1024:.0f} MiB"


def _pod_objects(rec: Record, pod: str | None = None, namespace: str | None = None) -> dict[str, str]:
    objects: dict[str, str] = {}
    ns = namespace or rec.namespace
    name = pod or (rec.name if rec.kind in (None, "Pod") else None)
    if pod is None and rec.fields.get("pod"):
        ns_field, _, name_field = str(rec.fields["pod"]).rpartition("/")
        name, ns = name_field, ns_field or ns
    if name:
        objects["pod"] = name
    if ns:
        objects["namespace"] = ns
    container = rec.container or rec.fields.get("containerName") or rec.fields.get("container")
    if container:
        objects["container"] = str(container)
    node = rec.node or (rec.name if rec.kind == "Node" else None) or rec.host
    if node:
        objects["node"] = node
    return objects


def _who(objects: dict[str, str]) -> str:
    """``Container app of payments/api-1``, or ``A container of ...`` when the evidence names none."""
    pod = f"{objects.get('namespace', '?')}/{objects.get('pod', '?')}"
    return (
        f"Container {objects['container']} of {pod}" if objects.get("container") else f"A container of {pod}"
    )


def _pod_key(objects: dict[str, str]) -> tuple[str, str]:
    return objects.get("namespace", ""), objects.get("pod", "")


def _qos(adj: int | None) -> str | None:
    """The QoS class the kubelet's oom_score_adj reveals (pkg/kubelet/qos/policy.go)."""
    if adj is None:
        return None
    if adj == 1000:
        return "BestEffort"
    if adj == -997:
        return "Guaranteed"
    if 2 <= adj <= 999:
        return "Burstable"
    return None


# ------------------------------------------------------------------------------------------- kernel OOM

_OOM_KILLED = re.compile(
    r"(?:(?P<scope>Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?"
    r"Killed process (?P<pid>\d+) \((?P<comm>[^)]*)\)(?P<rest>.*)"
)
_OOM_KILL_OLD = re.compile(r"(Memory cgroup out of memory|Out of memory): Kill process (\d+) \(([^)]*)\)")
_OOM_CONSTRAINT = re.compile(
    r"oom-kill:constraint=(?P<constraint>\w+),.*?task_memcg=(?P<memcg>[^,]*),task=(?P<task>[^,]*),pid=(?P<pid>\d+)"
)
_OOM_USAGE = re.compile(r"memory: usage (\d+)kB, limit (\d+)kB")
_KB_FIELD = re.compile(r"([\w-]+):(-?\d+)(?:kB)?")
_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")


@recogniser("oom-kill:constraint=")
def oom_constraint(rec: Record, state: State) -> Result:
    m = _OOM_CONSTRAINT.search(rec.message)
    if m:
        state.setdefault("oom_constraint", {})[m.group("pid")] = (rec.line, rec.text, m.groupdict())
    return KNOWN


@recogniser("memory: usage ")
def oom_usage(rec: Record, state: State) -> Result:
    m = _OOM_USAGE.search(rec.message)
    if not m:
        return None
    state["oom_usage"] = (rec.line, rec.text, int(m.group(1)), int(m.group(2)))
    return KNOWN


@recogniser("invoked oom-killer")
def oom_invoked(rec: Record, state: State) -> Result:
    return KNOWN


@recogniser("Kill process ")
def oom_kill_old(rec: Record, state: State) -> Result:
    m = _OOM_KILL_OLD.search(rec.message)
    if not m:
        return None
    state["oom_scope"] = m.group(1)
    return KNOWN


@recogniser("Killed process ")
def oom_killed(rec: Record, state: State) -> Result:
    m = _OOM_KILLED.search(rec.message)
    if not m:
        return None
    pid, comm = m.group("pid"), m.group("comm")
    scope = m.group("scope") or state.pop("oom_scope", None) or ""
    figures = {k: int(v) for k, v in _KB_FIELD.findall(m.group("rest"))}
    adj = figures.get("oom_score_adj")
    anon = figures.get("anon-rss")
    constraint = state.get("oom_constraint", {}).pop(pid, None)
    memcg = constraint[2]["memcg"] if constraint else ""
    if constraint:
        rec.context.append((constraint[0], constraint[1]))
        if constraint[2]["constraint"] == "CONSTRAINT_MEMCG":
            scope = scope or "Memory cgroup out of memory"
    usage = state.pop("oom_usage", None)
    limit_kib = None
    if usage:
        rec.context.append((usage[0], usage[1]))
        limit_kib = usage[3]
    qos = _qos(adj)
    if qos is None and memcg:
        qos = "BestEffort" if "besteffort" in memcg else "Burstable" if "burstable" in memcg else None
        if qos is None and "kubepods" in memcg:
            qos = "Guaranteed"
    uid_match = _POD_UID.search(memcg)
    objects: dict[str, str] = {"process": comm}
    if rec.host:
        objects["node"] = rec.host
    if uid_match:
        objects["pod_uid"] = uid_match.group(1).replace("_", "-")
    if rec.reason and rec.kind == "Node" and rec.name:
        objects["node"] = rec.name
    where = f" on {objects['node']}" if "node" in objects else ""
    qos_text = f"a {qos} pod" if qos else "a process"
    adj_text = f", oom_score_adj {adj}" if adj is not None else ""
    numbers = {"pid": int(pid), "oom_score_adj": adj, "anon_rss_kib": anon, "qos": qos}
    if scope.startswith("Memory cgroup") or (not scope.startswith("Out of memory") and memcg):
        used = f" It used {human_kib(anon)} of anonymous memory"
        used += f" against a cgroup limit of {human_kib(limit_kib)}." if limit_kib else "."
        prevented = (
            ("RES001",) if qos == "BestEffort" else ("RES002", "RES003") if qos != "Guaranteed" else ()
        )
        message = (
            f"The kernel OOM killer killed {comm} (pid {pid}{adj_text}) in {qos_text}{where}: the container "
            f"reached its memory limit (memory cgroup OOM).{used} The kernel, not the kubelet, does this: the "
            "container dies with exit code 137 (OOMKilled) and restarts, losing in-flight work."
        )
        if qos == "Guaranteed":
            message += " The pod is Guaranteed, so the limit itself is too small for the workload."
        return Sighting(
            "DIAG-OOM-CGROUP",
            (objects.get("node", ""), objects.get("pod_uid") or comm),
            message,
            "Set limits.memory to the peak the process really needs (its RSS plus headroom) and "
            "requests.memory equal to it; for the JVM or Node.js, cap the heap below the limit.",
            objects=objects,
            prevented_by=prevented,
            worst=float(anon) if anon else None,
            numbers=numbers,
        )
    victim = "a critical system process" if adj is not None and adj < -900 else qos_text
    message = (
        f"The node{where} ran out of memory as a whole (system OOM, not a container limit): the kernel killed "
        f"{comm} (pid {pid}{adj_text}), {victim}. The kubelet's memory eviction did not act in time, so "
        "the kernel chose the victim by oom_score: pods without limits and system daemons are at risk."
    )
    return Sighting(
        "DIAG-OOM-SYSTEM",
        (objects.get("node", ""),),
        message,
        "Reserve memory for the system and the kubelet (systemReserved, kubeReserved), keep "
        "evictionHard memory.available at 500Mi or more, and give every pod a memory limit.",
        objects=objects,
        numbers=numbers,
    )


@recogniser("SystemOOM", "System OOM encountered")
def system_oom_event(rec: Record, state: State) -> Result:
    m = re.search(r"System OOM encountered(?:, victim process: (\S+?),? pid: (\d+))?", rec.message)
    if not m:
        return None
    objects = _pod_objects(rec)
    victim = f": the kernel killed {m.group(1)} (pid {m.group(2)})" if m.group(1) else ""
    return Sighting(
        "DIAG-OOM-SYSTEM",
        (objects.get("node", ""),),
        f"The kubelet reports a system OOM on {objects.get('node', 'the node')}{victim}. The node as a "
        "whole ran out of memory before the kubelet's eviction reclaimed any.",
        "Reserve memory for the system and the kubelet (systemReserved, kubeReserved), keep "
        "evictionHard memory.available at 500Mi or more, and give every pod a memory limit.",
        objects=objects,
    )


@recogniser("OOMKilled")
def oomkilled(rec: Record, state: State) -> Result:
    if rec.source == "describe" or "OOMKilled" in rec.message:
        objects = _pod_objects(rec)
        restarts = rec.fields.get("restarts")
        more = f" It has restarted {restarts} time(s)." if restarts else ""
        return Sighting(
            "DIAG-OOMKILLED",
            (*_pod_key(objects), objects.get("container", "")),
            f"{_who(objects)} was terminated OOMKilled (exit code 137): it reached its memory "
            f"limit and the kernel killed it.{more}",
            "Raise limits.memory to the real peak and set requests.memory equal to it (Guaranteed), or "
            "cap the runtime's heap below the limit.",
            objects=objects,
        )
    return None


# ------------------------------------------------------------------------------------ eviction, pressure

_RESOURCE_RULE = {"memory": "MEMORY", "disk": "DISK", "pid": "PID"}


def _resource_kind(text: str) -> str:
    text = text.lower()
    if "pid" in text:
        return "pid"
    if "memory" in text:
        return "memory"
    return "disk"


_LOW_ON = re.compile(
    r"The node was low on resource: \[?([\w.-]+)\]?\.(?: Threshold quantity: ([\w.]+), available: ([\w.-]+)\.)?"
)
_USING = re.compile(
    r"Container ([\w.-]+) was using ([\w.]+), (?:which exceeds its )?request(?: of| is) ([\w.]+)"
)


@recogniser(
    "Evicted",
    "Evicting pod",
    "low on resource",
    "evicted successfully",
    "Eviction manager: evicting",
    "eviction manager: evicting",
)
def evicted(rec: Record, state: State) -> Result:
    text = rec.message
    if rec.reason == "Evicted" or "low on resource" in text:
        low = _LOW_ON.search(text)
        resource = _resource_kind(low.group(1)) if low else _resource_kind(text)
    elif "Eviction manager" in text or "eviction manager" in text or text.startswith("Evicting pod"):
        resource = state.get("reclaim", "memory")
        if "pod" not in rec.fields:
            m = re.search(r"pod (\S+?)_(\S+?)\(", text)
            if m:
                rec.fields["pod"] = f"{m.group(2)}/{m.group(1)}"
        low = None
    else:
        return None
    objects = _pod_objects(rec)
    usage = _USING.findall(text)
    numbers: dict[str, Any] = {"resource": resource}
    detail = ""
    if low and low.group(2):
        numbers.update(threshold=low.group(2), available=low.group(3))
        detail = f" (available {low.group(3)}, eviction threshold {low.group(2)})"
    prevented: tuple[str, ...] = ()
    using = ""
    if usage:
        numbers["containers"] = [{"container": c, "usage": u, "request": r} for c, u, r in usage]
        using = " " + " ".join(f"Container {c} was using {u} against a request of {r}." for c, u, r in usage)
        if resource == "memory":
            best_effort = all(r in ("0", "0Ki", "0Mi") for _, _, r in usage)
            prevented = ("RES001",) if best_effort else ("RES002", "RES003")
    where = f" on {objects['node']}" if "node" in objects else ""
    message = (
        f"The kubelet{where} evicted {objects.get('namespace', '?')}/{objects.get('pod', '?')} because the "
        f"node was low on {resource}{detail}.{using} Under pressure the kubelet evicts BestEffort pods and "
        "pods using more than their request first, ranked by how far above the request they are."
    )
    fix = (
        "Set requests.memory to the real usage and limits.memory equal to it: a pod within its request "
        "is evicted last, a BestEffort pod first."
        if resource == "memory"
        else "Set ephemeral-storage requests/limits, clean up logs and emptyDir usage, and keep the "
        "kubelet's nodefs/imagefs eviction thresholds (a partial evictionHard drops the defaults)."
        if resource == "disk"
        else "Set the kubelet's podPidsLimit and find the process that leaks threads or processes."
    )
    return Sighting(
        f"DIAG-EVICT-{_RESOURCE_RULE[resource]}",
        _pod_key(objects),
        message,
        fix,
        objects=objects,
        prevented_by=prevented,
        numbers=numbers,
    )


_RECLAIM = re.compile(
    r"(?:attempting to reclaim|must evict pod\(s\) to reclaim)\s*(?:resourceName=)?([\w.-]+)?"
)
_PRESSURE_EVENTS = {
    "NodeHasInsufficientMemory": "memory",
    "NodeHasDiskPressure": "disk",
    "NodeHasInsufficientPID": "pid",
    "ConditionMemoryPressure": "memory",
    "ConditionDiskPressure": "disk",
    "ConditionPIDPressure": "pid",
}


@recogniser(
    "attempting to reclaim",
    "to reclaim",
    "EvictionThresholdMet",
    "NodeHasInsufficientMemory",
    "NodeHasDiskPressure",
    "NodeHasInsufficientPID",
    "ConditionMemoryPressure",
    "ConditionDiskPressure",
    "ConditionPIDPressure",
)
def pressure(rec: Record, state: State) -> Result:
    resource = _PRESSURE_EVENTS.get(rec.reason or "")
    if resource is None:
        m = _RECLAIM.search(rec.message)
        if not m:
            return None
        resource = _resource_kind(m.group(1) or rec.fields.get("resourceName", "memory"))
        if "Eviction manager" in rec.message or "eviction manager" in rec.message:
            state["reclaim"] = resource
    objects = _pod_objects(rec)
    objects.pop("pod", None)
    objects.pop("namespace", None)
    node = objects.get("node", "")
    label = {"memory": "memory", "disk": "disk (nodefs/imagefs)", "pid": "process IDs"}[resource]
    return Sighting(
        f"DIAG-NODE-{_RESOURCE_RULE[resource]}-PRESSURE",
        (node,),
        f"Node {node or '?'} is under {label} pressure: the kubelet crossed an eviction threshold and starts "
        "evicting pods to reclaim it, and the scheduler stops placing pods there. Pods from this node "
        "land on the remaining nodes, which may push them over too.",
        "Reserve resources for the system (systemReserved/kubeReserved), keep a memory eviction threshold "
        "of 500Mi or more, and size requests so the node's allocatable is not overcommitted.",
        objects=objects,
        numbers={"resource": resource},
    )


@recogniser("pods ranked for eviction", "Eviction manager:", "eviction manager:")
def eviction_context(rec: Record, state: State) -> Result:
    return KNOWN


@recogniser(
    "NodeNotReady", "Node became not ready", "NodeStatusUnknown", "Kubelet stopped posting node status"
)
def node_not_ready(rec: Record, state: State) -> Result:
    if rec.reason == "NodeNotReady" and rec.kind == "Pod":
        node = rec.node
        objects = {"node": node} if node else {}
    else:
        objects = _pod_objects(rec)
        for key in ("pod", "namespace", "container"):
            objects.pop(key, None)
        node = objects.get("node") or rec.fields.get("node")
        if rec.fields.get("node"):
            node = str(rec.fields["node"])
            objects["node"] = node
        m = re.search(r"Node (\S+) status is now: NodeNotReady", rec.message)
        if m:
            node = m.group(1)
            objects["node"] = node
    if rec.kind == "Pod" and not node:
        return KNOWN  # the pod-level copy of the node's event; the node's own event carries it
    return Sighting(
        "DIAG-NODE-NOT-READY",
        (node or "",),
        f"Node {node or '?'} went NotReady: the kubelet stopped reporting a healthy status (memory "
        "exhaustion, a hung runtime, or lost network). After the toleration of "
        "node.kubernetes.io/not-ready (300s by default) its pods are evicted and recreated elsewhere.",
        "Find why the kubelet stopped (memory pressure and system OOM are the usual cause: reserve memory "
        "for the system and kubelet), and keep enough spare capacity for the pods to move.",
        objects=objects,
    )


# ------------------------------------------------------------------------------------------------ probes

_PROBE_EVENT = re.compile(r"(Liveness|Readiness|Startup) probe (?:failed|errored):? ?(.*)")
_PROBE_OLD = re.compile(
    r'(Liveness|Readiness|Startup) probe for "([^"_]+)_([^"(]+)\([^)]*\):([^"]+)" failed \(\w+\): ?(.*)'
)


@recogniser("probe failed", "Probe failed", "probe errored", "robe for ")
def probe(rec: Record, state: State) -> Result:
    kind = output = None
    objects: dict[str, str] = {}
    m = _PROBE_OLD.search(rec.message)
    if m:
        kind, output = m.group(1), m.group(5)
        objects = _pod_objects(rec, pod=m.group(2), namespace=m.group(3))
        objects["container"] = m.group(4)
    elif "probeType" in rec.fields:
        kind = str(rec.fields["probeType"]).title()
        output = str(rec.fields.get("output", ""))
        objects = _pod_objects(rec)
    else:
        m = _PROBE_EVENT.search(rec.message)
        if not m:
            return None
        kind, output = m.group(1), m.group(2)
        objects = _pod_objects(rec)
    if kind not in ("Liveness", "Readiness", "Startup"):
        return None
    output = (output or "").strip()[:200]
    who = _who(objects)
    who = who[0].lower() + who[1:]
    if kind == "Liveness":
        text = (
            f"The liveness probe of {who} is failing ({output or 'no output'}). After failureThreshold "
            "consecutive failures the kubelet kills and restarts the container; a liveness check that "
            "depends on anything outside the container restarts every replica at once."
        )
        fix = (
            "Make liveness check only the process itself (a local endpoint with no dependencies), give it "
            "a larger failure budget than readiness, and add a startupProbe for slow starts."
        )
    elif kind == "Readiness":
        text = (
            f"The readiness probe of {who} is failing ({output or 'no output'}): the pod is removed from "
            "its Service's endpoints while it fails (no restart). When every replica fails, the Service "
            "has no endpoints and callers see connection errors."
        )
        fix = "Find what the readiness endpoint waits for; make sure a dependency outage cannot unready every replica."
    else:
        text = (
            f"The startup probe of {who} is failing ({output or 'no output'}): if it does not succeed within "
            "failureThreshold x periodSeconds the kubelet kills and restarts the container."
        )
        fix = "Give the startup probe a budget (failureThreshold x periodSeconds) longer than the slowest real start."
    return Sighting(
        f"DIAG-PROBE-{kind.upper()}",
        (*_pod_key(objects), objects.get("container", "")),
        text,
        fix,
        objects=objects,
    )


@recogniser("will be restarted")
def probe_restart(rec: Record, state: State) -> Result:
    m = re.search(r"Container (\S+) failed (liveness|startup) probe, will be restarted", rec.message)
    if not m:
        return None
    objects = _pod_objects(rec)
    objects["container"] = m.group(1)
    return Sighting(
        "DIAG-PROBE-RESTART",
        (*_pod_key(objects), m.group(1)),
        f"The kubelet killed container {m.group(1)} of {objects.get('namespace', '?')}/{objects.get('pod', '?')} "
        f"because its {m.group(2)} probe failed, and restarts it. Repeated restarts end in CrashLoopBackOff.",
        "Make the probe check only the process itself and give it a failure budget longer than the "
        "slowest healthy response (timeoutSeconds, failureThreshold); add a startupProbe for slow starts.",
        objects=objects,
        prevented_by=("@probes:liveness",) if m.group(2) == "liveness" else ("@probes:startup",),
    )


@recogniser("Back-off restarting failed container", "back-off", "CrashLoopBackOff")
def crashloop(rec: Record, state: State) -> Result:
    text = rec.message
    if "pulling image" in text or "ImagePull" in text:
        return None
    if not (
        "restarting failed container" in text
        or "CrashLoopBackOff" in text
        or rec.reason == "CrashLoopBackOff"
    ):
        return None
    objects = _pod_objects(rec)
    m = re.search(r"restarting failed container[= ](\S+?)(?: in)? pod[= ](\S+?)_(\S+?)\(", text)
    if m:
        objects["container"], objects["pod"], objects["namespace"] = m.group(1), m.group(2), m.group(3)
    restarts = rec.fields.get("restarts")
    more = f" after {restarts} restarts" if restarts else ""
    return Sighting(
        "DIAG-CRASHLOOP",
        (*_pod_key(objects), objects.get("container", "")),
        f"{_who(objects)} is in CrashLoopBackOff{more}: it keeps exiting, and the kubelet waits longer between restarts "
        "(up to 5 minutes). The related findings for this pod (OOM kills, probe failures) say why.",
        "Read the previous container's log (kubectl logs --previous) and fix the cause: memory limit, "
        "probe, or the application's own crash.",
        objects=objects,
    )


# ------------------------------------------------------------------------------------------------ images

_IMAGE = re.compile(r'(?:image \\?"|image=)([^"\\\s]+)')


@recogniser("Failed to pull image", "ErrImagePull", "ImagePullBackOff", "Back-off pulling image", "PullImage")
def image_pull(rec: Record, state: State) -> Result:
    text = rec.message
    m = _IMAGE.search(text)
    image = m.group(1) if m else str(rec.fields.get("image", "")) or None
    objects = _pod_objects(rec)
    if image:
        objects["image"] = image
    why = ""
    for needle, label in (
        ("not found", "the image or tag does not exist"),
        ("NotFound", "the image or tag does not exist"),
        ("unauthorized", "the registry refused the credentials"),
        ("denied", "the registry refused access"),
        ("toomanyrequests", "the registry rate-limited the pull"),
        ("i/o timeout", "the registry did not answer in time"),
        ("deadline exceeded", "the registry did not answer in time"),
        ("no such host", "the registry host does not resolve"),
        ("x509", "the registry's TLS certificate is not trusted"),
    ):
        if needle in text:
            why = f" ({label})"
            break
    prevented: tuple[str, ...] = ()
    note = ""
    if image:
        from premortem.model.image import parse_image

        ref = parse_image(image)
        if ref.valid and ref.is_latest:
            prevented = ("IMG001",)
            note = (
                " The tag is mutable (:latest or none): imagePullPolicy defaults to Always, so every start "
                "pulls again, and what runs depends on when it was pulled."
            )
    key_subject = _pod_key(objects) if objects.get("pod") else ("", image or "")
    return Sighting(
        "DIAG-IMAGE-PULL",
        key_subject,
        f"Pulling {'image ' + image if image else 'its image'} failed{why}: "
        f"{objects.get('namespace', '?')}/{objects.get('pod', '?')} cannot start and backs off.{note}",
        "Pin the image by version tag and digest (name:1.2.3@sha256:...), check the tag exists and the "
        "pull secret is valid; mirror critical images to a registry you control.",
        objects=objects,
        prevented_by=prevented,
    )


# --------------------------------------------------------------------------------------------- admission

_WEBHOOK = re.compile(r'failed calling webhook \\?"([^"\\]+)\\?"')
_WEBHOOK_URL = re.compile(r'(?:Post|Get) \\?"([^"\\]+)\\?"')


@recogniser("failed calling webhook")
def webhook(rec: Record, state: State) -> Result:
    m = _WEBHOOK.search(rec.message)
    if not m:
        return None
    name = m.group(1)
    text = rec.message[m.end() :]
    url = _WEBHOOK_URL.search(text)
    prevented: tuple[str, ...]
    if "deadline exceeded" in text or "Timeout" in text or "timeout" in text.split("?timeout=")[-1]:
        failure, prevented = "timed out", ("ADM003", "ADM001")
    elif "connection refused" in text or "no endpoints available" in text or "no route to host" in text:
        failure, prevented = "could not reach its backend", ("ADM006", "ADM001")
    elif "x509" in text or "certificate" in text:
        failure, prevented = "failed TLS verification", ("ADM001",)
    else:
        failure, prevented = "failed", ("ADM001",)
    objects = _pod_objects(rec)
    objects.pop("container", None)
    if rec.kind and rec.kind != "Pod" and rec.name:
        objects.pop("pod", None)
        objects["object"] = f"{rec.kind}/{rec.name}"
    objects["webhook"] = name
    if url:
        objects["url"] = url.group(1)
    kube_system = objects.get("namespace") == "kube-system" or "kube-system" in rec.message
    if kube_system:
        prevented = (*prevented, "ADM002")
    message = (
        f"Calls to admission webhook {name} {failure}"
        f"{' (' + url.group(1) + ')' if url else ''}. With failurePolicy Fail (the v1 default) the API "
        "server rejects every request the webhook matches: pods are not created, rollouts and scale-ups stall."
    )
    if kube_system:
        message += " It matches kube-system too, so the control plane's own pods cannot be recreated."
    return Sighting(
        "DIAG-WEBHOOK-FAILURE",
        (name,),
        message,
        "Restore the webhook backend (replicas >= 2 with a PDB), set timeoutSeconds to 5 or less, exclude "
        "kube-system with a namespaceSelector, and use failurePolicy Ignore where the check is not security-critical.",
        severity=Severity.CRITICAL if kube_system else None,
        objects=objects,
        prevented_by=prevented,
    )


# -------------------------------------------------------------------------------------------- disruption

_PDB_NEEDS = re.compile(r"The disruption budget (\S+) needs (\d+) healthy pods and has (\d+) currently")


@recogniser(" cordoned")
def drain_started(rec: Record, state: State) -> Result:
    """``node/worker-2 cordoned``: the evictions that follow in this output are that node's drain."""
    m = re.match(r"node/(\S+) (?:already )?cordoned$", rec.message)
    if not m:
        return None
    state["drain_node"] = m.group(1)
    return KNOWN


@recogniser("disruption budget", "more than one PodDisruptionBudget")
def pdb_blocked(rec: Record, state: State) -> Result:
    text = rec.message
    multiple = "more than one PodDisruptionBudget" in text
    if not (multiple or "Cannot evict pod" in text or "violate the pod's disruption budget" in text):
        return None
    objects = _pod_objects(rec)
    if rec.source == "drain" and state.get("drain_node"):
        objects.setdefault("node", state["drain_node"])
    needs = _PDB_NEEDS.search(text)
    detail = ""
    numbers: dict[str, Any] = {}
    if needs:
        objects["pdb"] = needs.group(1)
        numbers = {"pdb": needs.group(1), "needs": int(needs.group(2)), "has": int(needs.group(3))}
        detail = f" PodDisruptionBudget {needs.group(1)} needs {needs.group(2)} healthy pods and has {needs.group(3)}."
    if multiple:
        detail += " The pod is matched by more than one PodDisruptionBudget, which the eviction API refuses outright."
    return Sighting(
        "DIAG-DRAIN-PDB",
        _pod_key(objects),
        f"Evicting {objects.get('namespace', '?')}/{objects.get('pod', '?')} was refused by its disruption budget."
        f"{detail} kubectl drain retries every 5 seconds without end: the node cannot be drained, and node "
        "upgrades or autoscaler scale-downs hang.",
        "Allow at least one disruption: more replicas than minAvailable (or maxUnavailable >= 1), one PDB "
        "per pod, and unhealthyPodEvictionPolicy: AlwaysAllow so broken pods do not block drains.",
        objects=objects,
        prevented_by=("PDB001", "PDB003", "CAP003") if multiple else ("PDB001", "CAP003"),
        numbers=numbers,
    )


# -------------------------------------------------------------------------------------------------- etcd

_ETCD_FIX_DISK = (
    "Put the etcd data dir (at least member/wal) on a dedicated low-latency SSD/NVMe that nothing else "
    "writes to; measure it with `premortem etcd --disk DIR` (WAL fsync p99 should be under 10 ms)."
)
_SYNC_TEXT = re.compile(r"sync duration of ([\d.]+\w+), expected less than ([\d.]+\w+)")
_HEARTBEAT_TEXT = re.compile(r"exceeded the ([\d.]+\w+) timeout for ([\d.]+\w+)")
_TOOK_TEXT = re.compile(r"took too long \(([\d.]+\w+)\)|took too long \[([\d.]+\w+) for")


def _etcd_member(rec: Record) -> str:
    """The member: its host when a journald/syslog prefix names it, else the log file's name."""
    return rec.host or rec.file.rsplit("/", 1)[-1]


@recogniser("slow fdatasync", "sync duration of")
def etcd_fsync(rec: Record, state: State) -> Result:
    took = go_duration(rec.fields.get("took"))
    expected = go_duration(rec.fields.get("expected-duration"))
    m = _SYNC_TEXT.search(rec.message)
    if m:
        took, expected = go_duration(m.group(1)), go_duration(m.group(2))
    if took is None and "slow fdatasync" not in rec.message:
        return None
    member = _etcd_member(rec)
    return Sighting(
        "DIAG-ETCD-SLOW-FSYNC",
        (member,),
        f"etcd's WAL fdatasync took {human_seconds(took)} (etcd warns above {human_seconds(expected or 1.0)}; "
        "a healthy disk does it in under 10 ms at p99). Every write waits for this sync: the etcd disk is "
        "too slow or shared, the leader misses heartbeats and followers call elections.",
        _ETCD_FIX_DISK,
        objects={"etcd": member},
        worst=took,
        numbers={"took_seconds": took, "expected_seconds": expected},
    )


@recogniser("failed to send out heartbeat on time", "server is likely overloaded")
def etcd_heartbeat(rec: Record, state: State) -> Result:
    if "failed to send out heartbeat" not in rec.message:
        return KNOWN  # the second line of the capnslog warning
    exceeded = go_duration(rec.fields.get("exceeded-duration"))
    interval = go_duration(rec.fields.get("heartbeat-interval"))
    m = _HEARTBEAT_TEXT.search(rec.message)
    if m:
        interval, exceeded = go_duration(m.group(1)), go_duration(m.group(2))
    member = _etcd_member(rec)
    return Sighting(
        "DIAG-ETCD-HEARTBEAT",
        (member,),
        f"The etcd leader failed to send heartbeats on time (late by {human_seconds(exceeded)}, heartbeat "
        f"interval {human_seconds(interval or 0.1)}). etcd's own diagnosis: the leader is overloaded, most "
        "likely from a slow disk. Followers that miss heartbeats for the election timeout start an election.",
        _ETCD_FIX_DISK,
        objects={"etcd": member},
        worst=exceeded,
        numbers={"exceeded_seconds": exceeded, "heartbeat_interval_seconds": interval},
    )


@recogniser("took too long", "avoid queries with large range")
def etcd_slow_apply(rec: Record, state: State) -> Result:
    text = rec.message
    if "avoid queries" in text:
        return KNOWN
    etcdish = rec.process == "etcd" or rec.source == "etcd-text" or "apply" in text or "etcdserver" in text
    if not etcdish or "waiting for ReadIndex" in text:
        return None
    took = go_duration(rec.fields.get("took"))
    m = _TOOK_TEXT.search(text)
    if m:
        took = go_duration(m.group(1) or m.group(2))
    member = _etcd_member(rec)
    return Sighting(
        "DIAG-ETCD-SLOW-APPLY",
        (member,),
        f"etcd took {human_seconds(took)} to apply a request (it warns above 100ms). Slow applies come from a "
        "slow backend disk (bbolt commits), a large range request, or CPU starvation; the API server's "
        "requests queue behind them.",
        _ETCD_FIX_DISK + " Avoid unpaginated LISTs of large resources.",
        severity=Severity.HIGH if took is not None and took >= 1.0 else None,
        objects={"etcd": member},
        worst=took,
        numbers={"took_seconds": took},
    )


_ELECTION = re.compile(
    r"(is starting a new election at term (\d+)|elected leader \S+ at term (\d+)|lost leader \S+ at term (\d+)|"
    r"changed leader from \S+ to \S+ at term (\d+)|became leader at term (\d+))"
)


# raft: "%x [term %d] received MsgTimeoutNow from %x and starts an election to get leadership." (the
# transferee) and "%x [term %d] starts to transfer leadership to %x" (the old leader): a deliberate
# leadership transfer (etcdctl move-leader, a member shutting down), whose election is at term + 1.
_TRANSFER = re.compile(r"\[term:? (\d+)\] (?:received MsgTimeoutNow|starts to transfer leadership)")
_TRANSFER_TERMS = "etcd_transfer_terms"


@recogniser("MsgTimeoutNow", "starts to transfer leadership")
def etcd_leader_transfer(rec: Record, state: State) -> Result:
    m = _TRANSFER.search(rec.message)
    if not m:
        return None
    state.setdefault(_TRANSFER_TERMS, set()).add(int(m.group(1)) + 1)
    return KNOWN


@recogniser("new election", "elected leader", "lost leader", "changed leader", "became leader")
def etcd_election(rec: Record, state: State) -> Result:
    m = _ELECTION.search(rec.message)
    if not m:
        return None
    term = next((int(g) for g in m.groups()[1:] if g), 0)
    member = _etcd_member(rec)
    if term in state.get(_TRANSFER_TERMS, ()):
        return Sighting(
            "DIAG-ETCD-LEADER-ELECTION",
            (member,),
            f"etcd moved its leader on purpose at term {term} (a leadership transfer: etcdctl move-leader or "
            "a leader shutting down). Writes pause for one round trip; this is not a symptom of a slow disk.",
            "Nothing to fix for a deliberate transfer.",
            severity=Severity.INFO,
            objects={"etcd": member},
            worst=float(term),
            numbers={"term": term, "transfer": True},
        )
    disruptive = "lost leader" in m.group(1) or "changed leader" in m.group(1) or term > 2
    return Sighting(
        "DIAG-ETCD-LEADER-ELECTION",
        (member,),
        "etcd changed or lost its leader: while a new leader is elected (one election timeout, 1s by "
        "default, often longer) no write commits and the API server returns `etcdserver: leader changed` "
        "or times out. Elections after bootstrap mean the leader missed heartbeats: a slow disk or an "
        "overloaded member.",
        _ETCD_FIX_DISK,
        severity=None if disruptive else Severity.INFO,
        objects={"etcd": member},
        worst=float(term),
        numbers={"term": term},
    )


@recogniser("NOSPACE", "database space exceeded")
def etcd_nospace(rec: Record, state: State) -> Result:
    member = _etcd_member(rec)
    return Sighting(
        "DIAG-ETCD-NOSPACE",
        (member,),
        "etcd's backend reached its quota (NOSPACE alarm, `mvcc: database space exceeded`): etcd accepts "
        "only reads and deletes, so the API server cannot write anything: no pod, lease or status update.",
        "Compact and defragment (etcdctl compact, etcdctl defrag), then `etcdctl alarm disarm`; keep "
        "--quota-backend-bytes at most 8 GiB and alert on db size at 70% of it.",
        objects={"etcd": member},
    )


# --------------------------------------------------------------------------------------------- apiserver

_APISERVER_TIMEOUTS = (
    "Timeout: request did not complete within requested timeout",
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: too many requests",
    "http: Handler timeout",
)


@recogniser(
    "request did not complete within requested timeout",
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: too many requests",
    "Handler timeout",
)
def apiserver_timeout(rec: Record, state: State) -> Result:
    hit = next((t for t in _APISERVER_TIMEOUTS if t in rec.message), None)
    if hit is None:
        return None
    where = rec.host or rec.file
    etcd = hit.startswith("etcdserver")
    return Sighting(
        "DIAG-APISERVER-TIMEOUT",
        (where,),
        f"API server requests fail with `{hit}`"
        + (
            ": etcd could not commit in time (no leader, or a slow disk). Controllers, kubelets and "
            "kubectl see errors; leases may expire."
            if etcd
            else ": the request outlived its deadline, usually waiting on etcd or on an admission webhook."
        ),
        "Look at the etcd findings in the same story: the fix is usually etcd's disk. Then check webhook "
        "timeouts (timeoutSeconds <= 5).",
        objects={"apiserver": where},
    )


# ------------------------------------------------------------------------------------------------ cilium

_MAP_FULL = re.compile(r"argument list too long|E2BIG|[Mm]ap (?:is )?full", re.IGNORECASE)


@recogniser("argument list too long", "E2BIG", "map full", "Map full", "map is full")
def cilium_policy_map(rec: Record, state: State) -> Result:
    text = rec.message
    lower = text.lower()
    if not _MAP_FULL.search(text) or not ("map" in lower or "policy" in lower or "bpf" in lower):
        return None
    endpoint = rec.fields.get("endpointID") or rec.fields.get("endpoint")
    where = rec.host or rec.file
    objects = {"node": rec.host} if rec.host else {}
    if endpoint:
        objects["endpoint"] = str(endpoint)
    return Sighting(
        "DIAG-CILIUM-POLICY-MAP",
        (where,),
        "cilium-agent could not insert policy entries into an endpoint's BPF policy map (E2BIG / map full: "
        "the map holds 16384 entries by default). The endpoint's policy is incomplete: traffic the policy "
        "should allow is dropped.",
        "Reduce per-endpoint policy entries (aggregate toCIDR sets with CiliumCIDRGroup, avoid broad "
        "selectors multiplied by many ports) or raise bpf-policy-map-max in cilium-config.",
        objects=objects,
    )


# ------------------------------------------------------------------------------------------- prefilter

_BY_KEYWORD: dict[str, list[Recogniser]] = {}
for _r in RECOGNISERS:
    for _k in _r.keywords:
        _BY_KEYWORD.setdefault(_k, []).append(_r)
_ORDER = {r.name: i for i, r in enumerate(RECOGNISERS)}


def _trie_pattern(words: list[str]) -> str:
    """One regex for many literals, factored by common prefix: Python's engine tries an alternation
    branch by branch, so ``abc|abd`` costs twice what ``ab(?:c|d)`` does on every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


# "Successfully assigned" is not a failure: Scheduled events feed the stories' "pods moved" steps.
KEYWORDS = re.compile(_trie_pattern([*_BY_KEYWORD, "Successfully assigned"]))


def candidates(haystack: str) -> list[Recogniser]:
    """Recognisers whose keywords occur in the text, in table order; empty for most lines."""
    if KEYWORDS.search(haystack) is None:
        return []
    seen: dict[str, Recogniser] = {}
    for keyword, found in _BY_KEYWORD.items():
        if keyword in haystack:
            for r in found:
                seen[r.name] = r
    return sorted(seen.values(), key=lambda r: _ORDER[r.name])
