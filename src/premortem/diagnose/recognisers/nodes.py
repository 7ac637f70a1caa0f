"""Evictions, node pressure and NotReady, in the kubelet's words (pkg/kubelet/eviction/
eviction_manager.go and helpers.go: ``The node was low on resource: %v.``, ``The node had condition:
%v.``, ``Container %s was using %s, request is %s``; ``attempting to reclaim``, ``must evict pod(s) to
reclaim``, ``node conditions - observed``, ``pods ranked for eviction``, ``pod is evicted
successfully``; pkg/kubelet/nodestatus/setters.go ``Node became not ready``; the node lifecycle
controller's ``NodeNotReady`` events and the ``node.kubernetes.io/*-pressure`` taints).

The resource of an eviction is the one the evidence names, or the eviction is DIAG-EVICT-UNKNOWN:
``Evicted`` in a pods table, or ``pod is evicted successfully`` without an earlier ``attempting to
reclaim`` in the same log, says nothing about memory.
"""

from __future__ import annotations

import re
from typing import Any

from premortem.diagnose.recognisers import KNOWN, Result, State, recogniser
from premortem.diagnose.recognisers.common import on_node, pod_key, pod_name, pod_objects, resource_family
from premortem.diagnose.records import Record, Sighting
from premortem.findings import Severity

_RULE = {"memory": "MEMORY", "disk": "DISK", "pid": "PID", None: "UNKNOWN"}
_LABEL = {"memory": "memory", "disk": "disk", "pid": "process IDs"}
_LOW_ON = re.compile(
    r"low on resource: \[?([\w.,-]{1,64})\]?\.(?: Threshold quantity: ([\w.]{1,32}), available: ([\w.-]{1,32})\.)?"
)
_HAD_CONDITION = re.compile(r"node had condition: \[?(\w{1,32})")
_USING = re.compile(
    r"Container ([\w.-]{1,253}) was using ([\w.]{1,32}), (?:which exceeds its )?request(?: of| is) ([\w.]{1,32})"
)
_RECLAIM = re.compile(
    r"(?:[Aa]ttempting to reclaim|must evict pod\(s\) to reclaim)\s*(?:resourceName=)?\"?([\w.-]{1,64})?"
)
_CONDITIONS = re.compile(r"(MemoryPressure|DiskPressure|PIDPressure)")
_PRESSURE_REASONS = {
    "NodeHasInsufficientMemory": "memory",
    "NodeHasDiskPressure": "disk",
    "NodeHasInsufficientPID": "pid",
    "ConditionMemoryPressure": "memory",
    "ConditionDiskPressure": "disk",
    "ConditionPIDPressure": "pid",
}
_TAINTS = {"memory-pressure": "memory", "disk-pressure": "disk", "pid-pressure": "pid"}
_CONDITION_FAMILY = {"MemoryPressure": "memory", "DiskPressure": "disk", "PIDPressure": "pid"}
_FIX = {
    "memory": "Set requests.memory to the real usage and limits.memory equal to it: a pod within its request "
    "is evicted last, a BestEffort pod first.",
    "disk": "Set ephemeral-storage requests/limits, clean up logs and emptyDir usage, and keep the kubelet's "
    "nodefs/imagefs eviction thresholds (a partial evictionHard drops the defaults).",
    "pid": "Set the kubelet's podPidsLimit and find the process that leaks threads or processes.",
    None: "Read why with `kubectl describe pod` (its Message) or the node's kubelet log (\"attempting to "
    "reclaim\"), then size that resource's requests and the node's reservations.",
}


# ---------------------------------------------------------------------------------------------- evictions


@recogniser(
    "Evicted",
    "Evicting pod",
    "low on resource",
    "low on compute resources",
    "node had condition",
    "evicted successfully",
    "Eviction manager: evicting",
    "eviction manager: evicting",
)
def evicted(rec: Record, state: State) -> Result:
    text = rec.message
    node_level = rec.kind == "Node" or (rec.reason or "").startswith("EvictionThreshold")
    if node_level and rec.kind == "Node" and rec.reason == "Evicted" and _LOW_ON.search(text):
        # an Evicted row in a node's Events section: a pod of that node, its name not given
        rec.node, rec.kind, rec.name = rec.node or rec.name, None, None
    elif node_level:
        return _pressure_from_event(rec)
    low = _LOW_ON.search(text)
    had = _HAD_CONDITION.search(text)
    written: str | None = None
    if low:
        written = low.group(1)
    elif had:
        written = had.group(1)
    elif "evicted successfully" in text or "victing pod" in text:
        written = state.get("reclaim")
        if "pod" not in rec.fields:
            m = re.search(r"pod (\S{1,253}?)_(\S{1,63}?)\(", text)
            if m:
                rec.fields["pod"] = f"{m.group(2)}/{m.group(1)}"
    elif rec.reason in ("Evicted", "StatusEvicted") or "low on compute resources" in text:
        written = None
    else:
        return None
    if not rec.name and rec.kind is None and "pod" not in rec.fields:
        m = re.match(
            r"([a-z0-9][-a-z0-9.]{0,252})\s+Evicted\s", text
        )  # jsonpath: name <tab> Evicted <tab> message
        if m:
            rec.name = m.group(1)
    family = _CONDITION_FAMILY.get(written or "") or resource_family(written)
    objects = pod_objects(rec)
    numbers: dict[str, Any] = {"resource": written or "unknown"}
    detail = ""
    if low and low.group(2):
        numbers.update(threshold=low.group(2), available=low.group(3))
        detail = f" (available {low.group(3)}, eviction threshold {low.group(2)})"
    usage = [(c, u, r.rstrip(".")) for c, u, r in _USING.findall(text)]
    if len(usage) == 1:
        objects.setdefault("container", usage[0][0])
    prevented: tuple[str, ...] = ()
    using = ""
    if usage:
        numbers["containers"] = [{"container": c, "usage": u, "request": r} for c, u, r in usage]
        using = " " + " ".join(f"Container {c} was using {u} against a request of {r}." for c, u, r in usage)
        if family == "memory":
            best_effort = all(r in ("0", "0Ki", "0Mi") for _, _, r in usage)
            prevented = ("RES001",) if best_effort else ("RES002", "RES003")
    if family is None:
        why = "; the evidence does not say for which resource"
    elif written and had and written == had.group(1):
        why = f" because the node had the {written} condition"
    else:
        shown = written if written and written.lower() not in ("memory", "pid", "pids") else _LABEL[family]
        why = f" because the node was low on {shown}{detail}"
    message = f"The kubelet{on_node(objects)} evicted {pod_name(objects)}{why}.{using}"
    if family is not None:
        message += (
            " Under pressure the kubelet evicts the pods using the most above their request first (BestEffort "
            "pods request nothing), then by priority."
        )
    return Sighting(
        f"DIAG-EVICT-{_RULE[family]}",
        pod_key(objects) if objects.get("pod") else (objects.get("node", ""), rec.file, rec.line),
        message,
        _FIX[family],
        objects=objects,
        prevented_by=prevented,
        numbers=numbers,
    )


# --------------------------------------------------------------------------------------------- pressure


def _pressure(rec: Record, family: str, written: str | None = None) -> Sighting:
    objects = pod_objects(rec)
    for key in ("pod", "namespace", "container"):
        objects.pop(key, None)
    if rec.kind == "Node" and rec.name:
        objects["node"] = rec.name
    node = objects.get("node", "")
    label = {"memory": "memory", "disk": "disk", "pid": "process ID"}[family]
    if written and family == "disk" and written.lower() not in ("disk",):
        label = f"disk ({written})"
    subject = f"Node {node}" if node else "The node"
    return Sighting(
        f"DIAG-NODE-{_RULE[family]}-PRESSURE",
        (node,),
        f"{subject} is under {label} pressure: the kubelet crossed an eviction threshold and evicts pods to reclaim "
        "it, and the scheduler stops placing pods there. Pods from this node land on the remaining nodes, which "
        "may push them over too.",
        "Reserve resources for the system (systemReserved/kubeReserved), keep a memory eviction threshold of 500Mi "
        "or more, and size requests so the node's allocatable is not overcommitted."
        if family == "memory"
        else _FIX[family],
        objects=objects,
        numbers={"resource": written or family},
    )


def _pressure_from_event(rec: Record) -> Result:
    low = _LOW_ON.search(rec.message)
    written = low.group(1) if low else None
    family = resource_family(written) or resource_family(rec.message)
    if family is None:
        return KNOWN
    return _pressure(rec, family, written)


@recogniser(
    "attempting to reclaim",
    "Attempting to reclaim",
    "to reclaim",
    "EvictionThresholdMet",
    "NodeHasInsufficientMemory",
    "NodeHasDiskPressure",
    "NodeHasInsufficientPID",
    "ConditionMemoryPressure",
    "ConditionDiskPressure",
    "ConditionPIDPressure",
    "node conditions - observed",
    "no pods are active to evict",
    "reclaim not satisfied",
    "node has conditions",
    "-pressure:NoSchedule",
    "-pressure:NoExecute",
)
def pressure(rec: Record, state: State) -> Result:
    text = rec.message
    family = _PRESSURE_REASONS.get(rec.reason or "")
    written: str | None = None
    if family is None and rec.reason == "EvictionThresholdMet":
        return _pressure_from_event(rec) if "low on resource" in text else _reclaim(rec, state)
    if family is None and "pressure:No" in text:
        m = re.search(r"node\.kubernetes\.io/(memory|disk|pid)-pressure", text)
        family = _TAINTS.get(f"{m.group(1)}-pressure") if m else None
    if family is None and ("conditions - observed" in text or "node has conditions" in text):
        m = _CONDITIONS.search(text)
        family = _CONDITION_FAMILY.get(m.group(1)) if m else None
    if family is None and "reclaim not satisfied" in text:
        m = re.search(r"signal=([\w.]{1,64})", text)
        written = m.group(1) if m else None
        family = resource_family(written)
    if family is None and "no pods are active to evict" in text:
        written = state.get("reclaim")
        family = resource_family(written)
    if family is None:
        return _reclaim(rec, state)
    return _pressure(rec, family, written)


def _reclaim(rec: Record, state: State) -> Result:
    m = _RECLAIM.search(rec.message)
    if not m:
        return None
    written = m.group(1) or str(rec.fields.get("resourceName") or "") or None
    family = resource_family(written)
    if family is None:
        return KNOWN
    state["reclaim"] = written
    return _pressure(rec, family, written)


@recogniser("pods ranked for eviction", "Eviction manager:", "eviction manager:")
def eviction_context(rec: Record, state: State) -> Result:
    return KNOWN


# ------------------------------------------------------------------------------------------- not ready

_NOT_READY = re.compile(
    r"Node became not ready|NodeNotReady|NodeStatusUnknown|Kubelet stopped posting node status|PLEG is not healthy|"
    r"KubeletNotReady|runtime network not ready|NetworkPluginNotReady|container runtime is down|"
    r"container runtime status check may not have completed|"
    r"node\.kubernetes\.io/(?:not-ready|unreachable):No"
)
_PLEG = re.compile(r"PLEG is not healthy: pleg was last seen active ([\dhms.]{1,32}) ago")
_READY_REASON = re.compile(r"(?:Message|message)[:=]\s?\"?([^}\"]{1,200})")


@recogniser(
    "NodeNotReady",
    "Node became not ready",
    "NodeStatusUnknown",
    "Kubelet stopped posting node status",
    "PLEG is not healthy",
    "KubeletNotReady",
    "runtime network not ready",
    "NetworkPluginNotReady",
    "StatusNotReady",
    "NotReady",
    "not-ready:NoExecute",
    "unreachable:NoExecute",
    "not-ready:NoSchedule",
    "unreachable:NoSchedule",
    "container runtime status check may not have completed",
    "container runtime is down",
)
def node_not_ready(rec: Record, state: State) -> Result:
    if not (
        rec.reason in ("NodeNotReady", "StatusNotReady", "NodeStatusUnknown")
        or _NOT_READY.search(rec.message)
    ):
        return None
    if rec.reason == "NodeNotReady" and rec.kind == "Pod":
        if not rec.node:
            return KNOWN  # the pod-level copy of the node's event; the node's own event carries it
        objects = {"node": rec.node}
    else:
        objects = pod_objects(rec)
        for key in ("pod", "namespace", "container"):
            objects.pop(key, None)
        if rec.kind == "Node" and rec.name:
            objects["node"] = rec.name
        if rec.fields.get("node"):
            objects["node"] = str(rec.fields["node"])
        m = re.search(r"Node (\S{1,253}) status is now: NodeNotReady", rec.message)
        if m:
            objects["node"] = m.group(1)
    node = objects.get("node", "")
    pleg = _PLEG.search(rec.message)
    lowered = rec.message.lower()
    silent = [
        said
        for words, said in (
            ("container runtime is down", "the kubelet reports it down"),
            ("container runtime status check may not have completed", "its status check has not completed"),
            ("pleg has yet to be successful", "PLEG has never succeeded"),
        )
        if words in lowered
    ]
    if pleg and silent:
        silent.append(f"PLEG was last active {pleg.group(1)} ago, threshold 3m")
    cause = ""
    if silent:
        cause = (
            f" The container runtime is not answering the kubelet ({'; '.join(silent)}), so the kubelet cannot "
            "sync pods."
        )
    elif pleg:
        cause = (
            f" The kubelet's pod lifecycle event generator (PLEG) was last active {pleg.group(1)} ago (threshold 3m): "
            "the container runtime stopped answering, so the kubelet cannot sync pods."
        )
    elif "network plugin" in rec.message.lower() or "cni" in rec.message.lower():
        cause = (
            " The network plugin (CNI) is not ready: the pod network add-on is missing, not yet running, or "
            "cannot write its config; until it is, no pod gets a network and the node stays NotReady."
        )
    elif "runtime" in rec.message.lower() and "not ready" in rec.message.lower():
        cause = " The container runtime reports not ready."
    subject = f"Node {node}" if node else "The node"
    # Ready Unknown (the kubelet stopped posting status at all) is tainted unreachable by the node
    # lifecycle controller; Ready False (the kubelet says not ready) is tainted not-ready.
    unreachable = (
        "unreachable" in lowered
        or "stopped posting node status" in lowered
        or rec.reason == "NodeStatusUnknown"
        or "nodestatusunknown" in lowered
    )
    state_said = (
        "is unreachable: its kubelet stopped posting node status (Ready Unknown)"
        if unreachable
        else "went NotReady: the kubelet stopped reporting a healthy status"
    )
    taint = "unreachable" if unreachable else "not-ready"
    return Sighting(
        "DIAG-NODE-NOT-READY",
        (node,),
        f"{subject} {state_said}.{cause} After the toleration of node.kubernetes.io/{taint} (300s by default) its "
        "pods are evicted and recreated elsewhere.",
        "Find why the kubelet stopped: a hung container runtime (PLEG), memory pressure or a system OOM (reserve "
        "memory for the system and kubelet), or lost network; keep spare capacity for the pods to move.",
        objects=objects,
        numbers={"pleg_last_active": pleg.group(1)} if pleg else {},
    )


# The node's agents: a systemd unit's death, or a client that cannot reach the runtime's socket.
_AGENTS = {
    "kubelet": "the kubelet",
    "containerd": "containerd (the container runtime)",
    "docker": "dockerd (the container runtime)",
    "crio": "CRI-O (the container runtime)",
    "cri-o": "CRI-O (the container runtime)",
}
_UNIT_DIED = re.compile(
    r"\b(kubelet|containerd|docker|crio|cri-o)\.service: (?:Main process exited, code=(killed|dumped), "
    r"status=(\d{1,3})/(\w{1,16})|A process of this unit has been killed by the OOM killer|"
    r"Failed with result 'oom-kill')"
)
# The runtime's socket wherever the distribution puts it (/run/containerd/, /run/k3s/containerd/,
# /var/snap/microk8s/common/run/ ...): its file name says which runtime it is.
_SOCKET = re.compile(
    r"dial unix (/(?:[\w.@-]{1,64}/){0,8}(containerd|crio|docker|dockershim)\.sock): "
    r"connect: (connection refused|no such file or directory)"
    r"|Cannot connect to the Docker daemon at unix://(/var/run/docker\.sock)"
)


@recogniser(
    ".service: Main process exited",
    "has been killed by the OOM killer",
    "Failed with result 'oom-kill'",
    "containerd.sock: connect:",
    "crio.sock: connect:",
    "docker.sock: connect:",
    "dockershim.sock: connect:",
    "Cannot connect to the Docker daemon",
)
def agent_down(rec: Record, state: State) -> Result:
    """The kubelet or the container runtime died (systemd says how) or was unreachable on its socket."""
    node = rec.node or rec.host or ""
    objects = {"node": node} if node else {}
    died = _UNIT_DIED.search(rec.message)
    if died:
        unit = died.group(1)
        agent = "crio" if unit == "cri-o" else unit
        who = _AGENTS[unit]
        if died.group(2):
            signal = (
                f"signal {died.group(3)}/{died.group(4)}"
                if died.group(2) == "killed"
                else "a crash (core dump)"
            )
            how = f"was killed ({signal})"
            if died.group(4) == "KILL":
                how += ": SIGKILL comes from the kernel's OOM killer, systemd's own memory limit, or a person"
        else:
            how = "was killed by the kernel's OOM killer"
        socket = ""
    else:
        reach = _SOCKET.search(rec.message)
        if not reach:
            return None
        socket = reach.group(1) or reach.group(4)
        agent = {"containerd": "containerd", "crio": "crio"}.get(reach.group(2) or "docker", "docker")
        who = _AGENTS[agent]
        client = rec.process or rec.component or "a client"
        why = reach.group(3) or "nothing answered"
        how = f"was not answering: {client} could not connect to {socket} ({why})"
        objects["process"] = client
    objects["agent"] = agent
    if agent == "kubelet":
        effect = "The node stops reporting its status and goes NotReady until the kubelet is back."
    else:
        effect = (
            "The kubelet cannot start, stop or inspect containers (running ones keep running under their shims): "
            "new pods stay in ContainerCreating, probes and logs fail, and after 3 minutes PLEG turns unhealthy "
            "and the node NotReady."
        )
    return Sighting(
        "DIAG-NODE-AGENT-DOWN",
        (node, agent),
        f"{who[0].upper() if who.startswith('the ') else who[0]}{who[1:]}{on_node(objects)} {how}. {effect}",
        "Find what killed it (dmesg for the OOM killer, journalctl -u for its exit); give the node daemons their "
        "memory (systemReserved, kubeReserved) so a node-wide OOM takes pods first; keep the unit on "
        "Restart=always.",
        objects=objects,
        severity=Severity.CRITICAL if agent == "kubelet" else None,
    )
