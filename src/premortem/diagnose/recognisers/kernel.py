"""The kernel's OOM report (Linux mm/oom_kill.c ``dump_header``/``__oom_kill_process``,
mm/memcontrol.c ``mem_cgroup_print_oom_*``), line by line:

    java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=968
     mem_cgroup_out_of_memory+0x..            (call trace: a memory cgroup hit its limit)
     out_of_memory+0x.. / __alloc_pages_..    (without the memcg frames: the whole node ran out)
    Task in /kubepods/pod.. killed as a result of limit of /kubepods/pod..   (cgroup v1 kernels)
    memory: usage 2097152kB, limit 2097152kB, failcnt 1184
    oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/kubepods.slice/..,task_memcg=..,task=java,pid=48211
    Memory cgroup out of memory: Killed process 48211 (java) total-vm:..kB, anon-rss:..kB, .. oom_score_adj:968

What was killed, and why, follows from the report, never from a default:
- the scope: ``Memory cgroup out of memory``/``CONSTRAINT_MEMCG``/a memcg call trace is a limit;
  ``Out of memory``/``CONSTRAINT_NONE``/a page-allocator trace is the whole node; a bare
  ``Killed process`` says neither (DIAG-OOM-KILL);
- whose limit: a cgroup under ``kubepods`` is a pod's (QoS from the path: ``kubepods-besteffort``,
  ``kubepods-burstable``, directly under ``kubepods`` = Guaranteed; the ``kubepods`` root itself is all
  pods together at node allocatable); any other cgroup (``system.slice``, ``podruntime.slice``,
  ``kubelet.service``) is a system one, where kubeReserved/systemReserved are enforced
  (DIAG-OOM-RESERVED). Without a path, oom_score_adj tells (pkg/kubelet/qos/policy.go): the kubelet
  gives containers -997 (Guaranteed; -998 before 1.x), 1000 (BestEffort) or 2..999 (Burstable), and
  itself -999; anything else is a host process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from premortem.diagnose.figures import size
from premortem.diagnose.recognisers import KNOWN, Result, State, finisher, recogniser
from premortem.diagnose.recognisers.common import on_node, pod_name, pod_objects
from premortem.diagnose.records import Record, Sighting
from premortem.findings import Severity

_INVOKED = re.compile(r"(?P<comm>\S[^:]{0,63}) invoked oom-killer:.*?oom_score_adj=(?P<adj>-?\d+)")
_KILLED = re.compile(
    r"(?:(?P<scope>Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?"
    r"Killed process (?P<pid>\d+) \((?P<comm>\(?[^()]{0,64}\)?)\)(?P<rest>.*)"
)
_KILL_OLD = re.compile(
    r"(Memory cgroup out of memory|Out of memory): Kill process (\d+) \((\(?[^()]{0,64}\)?)\)"
)
_TASK_IN = re.compile(r"Task in (\S+) killed as a result of limit of (\S+)")
_USAGE = re.compile(r"memory: usage (\d+)kB, limit (\d+)kB")
_FIGURE = re.compile(r"(?<![\w-])([a-z][\w-]*):(-?\d+(?:\.\d+)?)\s?([kKMGT]i?B|B)?")
_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_SYSTEM_DAEMONS = {"kubelet", "containerd", "dockerd", "crio", "conmon", "kube-proxy", "systemd", "sshd"}


@dataclass
class Report:
    """One OOM report being read, from ``invoked oom-killer`` to ``Killed process``."""

    line: int = 0
    text: str = ""
    record: Record | None = None
    invoker: str = ""
    invoker_adj: int | None = None
    memcg_trace: bool = False  # mem_cgroup_out_of_memory / try_charge in the call trace
    global_trace: bool = False  # out_of_memory from the page allocator
    memcg: str = ""  # the cgroup whose limit was hit (oom_memcg, "limit of")
    task_memcg: str = ""
    constraint: str = ""
    limit_kib: int | None = None
    scope: str = ""  # from the old "Kill process ... or sacrifice child" line
    chosen: tuple[str, str] | None = None  # (pid, comm) the old "Kill process" line chose
    chosen_rec: Record | None = None
    cpuset: str = ""  # cgroup v1 "<comm> cpuset=<container id>": the container of the invoker
    context: list[tuple[int, str]] = field(default_factory=list)


def _report(state: State) -> Report:
    report = state.get("oom")
    if report is None:
        report = state["oom"] = Report()
    return report


@recogniser("invoked oom-killer")
def oom_invoked(rec: Record, state: State) -> Result:
    m = _INVOKED.search(rec.message)
    report = state["oom"] = Report(rec.line, rec.text, rec)
    if m:
        report.invoker, report.invoker_adj = m.group("comm").strip(), int(m.group("adj"))
    return KNOWN


_CPUSET = re.compile(r"\bcpuset=([0-9a-f]{64})\b")


@recogniser(" cpuset=")
def oom_cpuset(rec: Record, state: State) -> Result:
    report = state.get("oom")
    m = _CPUSET.search(rec.message)
    if report is None or not m:
        return None
    report.cpuset = m.group(1)
    return KNOWN


@recogniser("mem_cgroup_out_of_memory", "try_charge", "mem_cgroup_oom", "out_of_memory+", "__alloc_pages")
def oom_trace(rec: Record, state: State) -> Result:
    report = state.get("oom")
    if report is None:
        return None
    if "mem_cgroup" in rec.message or "try_charge" in rec.message:
        report.memcg_trace = True
    elif "out_of_memory+" in rec.message or "__alloc_pages" in rec.message:
        report.global_trace = True
    return KNOWN


@recogniser("killed as a result of limit of")
def oom_task_in(rec: Record, state: State) -> Result:
    m = _TASK_IN.search(rec.message)
    if not m:
        return None
    report = _report(state)
    report.task_memcg, report.memcg = m.group(1), m.group(2)
    report.context.append((rec.line, rec.text))
    if report.record is None:
        report.line, report.text, report.record = rec.line, rec.text, rec
    state["oom_task_in"] = rec
    return KNOWN


_STATS_FOR = re.compile(r"Memory cgroup stats for (/[^\s:]{0,4096})")


@recogniser("Memory cgroup stats for")
def oom_memcg_stats(rec: Record, state: State) -> Result:
    """``Memory cgroup stats for <path>:`` is printed only in a memory cgroup's OOM report (mm/oom_kill.c
    dump_header calls mem_cgroup_print_oom_meminfo when is_memcg_oom): the scope is a limit, and the
    first path names the cgroup that hit it, even when the paste stops before the kill line."""
    m = _STATS_FOR.search(rec.message)
    if not m:
        return None
    report = _report(state)
    report.memcg_trace = True
    if not report.memcg:
        report.memcg = m.group(1)
    report.context.append((rec.line, rec.text))
    if report.record is None:
        report.line, report.text, report.record = rec.line, rec.text, rec
    return KNOWN


@recogniser("memory: usage ")
def oom_usage(rec: Record, state: State) -> Result:
    m = _USAGE.search(rec.message)
    if not m:
        return None
    report = _report(state)
    report.limit_kib = int(m.group(2))
    report.context.append((rec.line, rec.text))
    return KNOWN


@recogniser("oom-kill:constraint=")
def oom_constraint(rec: Record, state: State) -> Result:
    report = _report(state)
    body = rec.message[rec.message.index("oom-kill:") + 9 :]
    fields = dict(part.partition("=")[::2] for part in body.split(",") if "=" in part)
    report.constraint = fields.get("constraint", "")
    report.memcg = fields.get("oom_memcg", "") or report.memcg
    report.task_memcg = fields.get("task_memcg", "") or report.task_memcg
    report.context.append((rec.line, rec.text))
    # Kernel 5.0+ (mm/oom_kill.c dump_oom_summary) names the victim it is about to kill here: when the
    # paste stops before the "Killed process" line, this line still says who was killed and why.
    pid, task = fields.get("pid", ""), fields.get("task", "")
    if pid.isdigit() and task and report.chosen is None:
        report.chosen, report.chosen_rec = (pid, task), rec
    return KNOWN


@recogniser("Kill process ")
def oom_kill_old(rec: Record, state: State) -> Result:
    m = _KILL_OLD.search(rec.message)
    if not m:
        return None
    report = _report(state)
    report.scope, report.chosen, report.chosen_rec = m.group(1), (m.group(2), m.group(3)), rec
    return KNOWN


@recogniser("oom_reaper: reaped process")
def oom_reaped(rec: Record, state: State) -> Result:
    return KNOWN


@recogniser("Killed process ")
def oom_killed(rec: Record, state: State) -> Result:
    m = _KILLED.search(rec.message)
    if not m:
        return None
    report = state.pop("oom", None) or Report()
    state.pop("oom_task_in", None)
    rec.context.extend(report.context[:4])
    figures = {k: (v, u) for k, v, u in _FIGURE.findall(m.group("rest"))}
    adj_text = figures.get("oom_score_adj", ("", ""))[0]
    adj = int(adj_text) if adj_text.lstrip("-").isdigit() else None
    anon = figures.get("anon-rss")
    kill = Kill(
        pid=m.group("pid"),
        comm=m.group("comm"),
        adj=adj,
        anon=size(anon[0] + anon[1], default_unit="kB") if anon else None,
        scope=m.group("scope") or report.scope,
        report=report,
        node=rec.host or (rec.name if rec.kind == "Node" else None),
    )
    return kill.sighting()


@dataclass
class Kill:
    pid: str | None  # None: the kill line is not in the evidence
    comm: str
    adj: int | None
    anon: Any
    scope: str
    report: Report
    node: str | None
    names: dict[str, str] = field(
        default_factory=dict
    )  # pod, namespace, container, container_id when the evidence names them
    invoker_only: bool = (
        False  # the report is cut before its kill line: comm asked for memory, the victim is unknown
    )

    # -------------------------------------------------------------------------------- classification
    def memcg_scope(self) -> bool | None:
        """True: a cgroup's limit; False: the whole node; None: the evidence does not say."""
        r = self.report
        if self.scope.startswith("Memory cgroup") or r.constraint == "CONSTRAINT_MEMCG" or r.memcg_trace:
            return True
        if self.scope.startswith("Out of memory") or r.constraint == "CONSTRAINT_NONE" or r.global_trace:
            return False
        if r.memcg:
            return True
        return None

    def path(self) -> str:
        return self.report.memcg or self.report.task_memcg

    def qos(self) -> str | None:
        path = self.path().lower()
        if "kubepods" in path:
            if "besteffort" in path:
                return "BestEffort"
            if "burstable" in path:
                return "Burstable"
            if _POD_UID.search(path) or re.search(r"kubepods[-/]pod", path):
                return "Guaranteed"
            return None  # the kubepods root: all pods together
        adj = self.adj if self.adj is not None else self.report.invoker_adj
        if adj is None:
            return None
        if adj == 1000:
            return "BestEffort"
        if adj in (-997, -998):
            return "Guaranteed"
        if 2 <= adj <= 999:
            return "Burstable"
        return None

    def system_cgroup(self) -> bool:
        """The limit hit is not a pod's: a system slice, the kubelet's or the runtime's cgroup, or a
        process the kubelet would never have given this oom_score_adj."""
        path = self.path()
        if path:
            return "kubepods" not in path
        if self.comm in _SYSTEM_DAEMONS:
            return True
        return self.adj is not None and self.qos() is None

    def kubepods_root(self) -> bool:
        path = self.report.memcg.rstrip("/")
        return path.endswith(("/kubepods", "/kubepods.slice")) and "kubepods" in path

    # -------------------------------------------------------------------------------- findings
    def sighting(self) -> Sighting:
        scope = self.memcg_scope()
        if scope is True and self.kubepods_root():
            return self._system(
                "all pods together reached the node's allocatable memory (the kubepods cgroup's limit)"
            )
        if scope is True and self.system_cgroup():
            return self._reserved()
        if scope is True:
            return self._container()
        if scope is False:
            return self._system("it ran out of memory as a whole (a global OOM, not a container limit)")
        return self._unknown()

    def _objects(self) -> dict[str, str]:
        objects = {"process": self.comm} if self.comm != "a process" else {}
        if self.node:
            objects["node"] = self.node
        objects.update(self.names)
        uid = _POD_UID.search(self.path())
        if uid:
            objects["pod_uid"] = uid.group(1).replace("_", "-")
        return objects

    def _numbers(self, qos: str | None = None) -> dict[str, Any]:
        return {
            "pid": int(self.pid) if self.pid else None,
            "oom_score_adj": self.adj,
            "anon_rss": str(self.anon) if self.anon else None,
            "anon_rss_bytes": int(self.anon.bytes) if self.anon else None,
            "qos": qos,
            "memcg": self.path() or None,
        }

    def _ids(self) -> str:
        """`` (pid 12409, oom_score_adj 968)`` with what the evidence gives."""
        parts = [f"pid {self.pid}"] if self.pid else []
        if self.adj is not None:
            parts.append(f"oom_score_adj {self.adj}")
        return f" ({', '.join(parts)})" if parts else ""

    def _used(self) -> str:
        if not self.anon:
            return ""
        limit = size(str(self.report.limit_kib), default_unit="kB") if self.report.limit_kib else None
        text = f" It had {self.anon} of anonymous memory"
        return text + (f" against a limit of {limit}." if limit else ".")

    def _container(self) -> Sighting:
        qos = self.qos()
        objects = self._objects()
        in_pod = f"a {qos} pod" if qos else "a pod"
        if objects.get("pod"):
            in_pod = f"{'the ' + qos + ' ' if qos else ''}pod {pod_name(objects)}"
            if objects.get("container"):
                in_pod = f"container {objects['container']} of {in_pod}"
        elif objects.get("container_id"):
            in_pod = f"container {objects['container_id'][:12]} of {in_pod}"
        path = self.path()
        level = (
            "its pod's"
            if path and not re.search(r"\.scope$|/[0-9a-f]{12,}$", path) and _POD_UID.search(path)
            else "its"
        )
        asked = f"; {self.comm}{self._ids()} asked for the memory" if self.comm != "a process" else ""
        victim = (
            f"a process (the report stops before its kill line{asked})"
            if self.invoker_only
            else f"{self.comm}{self._ids()}"
        )
        message = (
            f"The kernel killed {victim} in {in_pod}{on_node(objects)} at "
            f"{level} own memory limit (a memory cgroup OOM).{self._used()} This is the container's own limit, not "
            "node memory pressure: the node may have memory to spare and the kubelet does not evict for it. The "
            "container exits with code 137 (OOMKilled) and restarts, losing in-flight work."
        )
        if qos == "Guaranteed":
            message += " The pod is Guaranteed, so the limit itself is too small for the workload."
        prevented = ("RES001",) if qos == "BestEffort" else ("RES002", "RES003") if qos == "Burstable" else ()
        return Sighting(
            "DIAG-OOM-CGROUP",
            (
                objects.get("node", ""),
                objects.get("pod_uid") or objects.get("pod") or objects.get("container_id") or self.comm,
                objects.get("container", ""),
            ),
            message,
            "Set limits.memory to the peak the process really needs (its RSS plus headroom) and "
            "requests.memory equal to it; for the JVM or Node.js, cap the heap below the limit.",
            objects=objects,
            prevented_by=prevented,
            worst=float(self.anon.bytes) if self.anon else None,
            numbers=self._numbers(qos),
        )

    def _reserved(self) -> Sighting:
        objects = self._objects()
        path = self.path()
        where = f"the limit of {path}" if path else "the limit of its memory cgroup"
        why = (
            f" oom_score_adj {self.adj} is not a value the kubelet gives a container: this is a host process."
            if self.adj is not None and not path and self.comm not in _SYSTEM_DAEMONS
            else ""
        )
        kubelet = self.comm == "kubelet" or "kubelet" in path
        reserve = "kubeReserved" if kubelet or "podruntime" in path or "runtime" in path else "systemReserved"
        message = (
            f"The kernel killed {self.comm}{self._ids()}{on_node(objects)} at {where}, a "
            f"system cgroup, not a pod's.{why}{self._used()} Where the kubelet enforces kubeReserved/systemReserved as "
            f"cgroup limits (enforceNodeAllocatable), that reservation is smaller than what the node's daemons use: "
            f"raise {reserve}. No pod limit is involved."
        )
        node_agent = self.comm in ("kubelet", "containerd", "dockerd", "crio")
        if kubelet:
            message += (
                " The kubelet itself died: the node stops reporting and goes NotReady until it restarts."
            )
        elif node_agent:
            message += (
                f" The container runtime ({self.comm}) died: the kubelet cannot start or stop containers and the"
                " node goes NotReady until it restarts."
            )
        return Sighting(
            "DIAG-OOM-RESERVED",
            (objects.get("node", ""), path or self.comm),
            message,
            f"Raise {reserve} memory to the daemons' real peak (kubelet and container runtime: kubeReserved; OS "
            "services: systemReserved), or enforce node allocatable on pods only.",
            severity=Severity.CRITICAL if node_agent else None,
            objects=objects,
            prevented_by=("KUB001",) if not path else (),
            worst=float(self.anon.bytes) if self.anon else None,
            numbers=self._numbers(),
        )

    def _system(self, what: str) -> Sighting:
        objects = self._objects()
        objects.pop("pod_uid", None)
        adj = self.adj
        victim = (
            ", a critical system process"
            if adj is not None and adj <= -998
            else f", a process in a {self.qos()} pod"
            if self.qos()
            else ""
        )
        subject = f"Node {objects['node']}" if objects.get("node") else "The node"
        killed = (
            f"the kernel killed {self.comm}{self._ids()}{victim}"
            if self.comm != "a process"
            else "the kernel killed a process"
        )
        message = (
            f"{subject}: {what}; {killed}. The kubelet's memory eviction did not act in time, so the kernel chose "
            "the victim by oom_score: pods without limits and system daemons are at risk."
        )
        return Sighting(
            "DIAG-OOM-SYSTEM",
            (objects.get("node", ""),),
            message,
            "Reserve memory for the system and the kubelet (systemReserved, kubeReserved), keep "
            "evictionHard memory.available at 500Mi or more, and give every pod a memory limit.",
            objects=objects,
            worst=float(self.anon.bytes) if self.anon else None,
            numbers=self._numbers(self.qos()),
        )

    def _unknown(self) -> Sighting:
        objects = self._objects()
        message = (
            f"The kernel's OOM killer killed {self.comm}{self._ids()}{on_node(objects)}.{self._used()} "
            "The evidence does not say whether a memory limit (a memory cgroup) or the whole node ran out: the "
            'lines just before it in the kernel log ("Memory cgroup out of memory" or "oom-kill:constraint=") tell.'
        )
        return Sighting(
            "DIAG-OOM-KILL",
            (objects.get("node", ""), self.comm),
            message,
            "Read the kernel log around the kill (dmesg -T) to see which limit was hit, then size that limit.",
            objects=objects,
            numbers=self._numbers(),
        )


_VICTIM = re.compile(r"(System|Cgroup) OOM encountered(?:, victim process: ([^,]{1,64}),? pid: (\d{1,10}))?")


@recogniser("SystemOOM", "System OOM encountered", "Cgroup OOM encountered")
def oom_event(rec: Record, state: State) -> Result:
    """The kubelet's events (pkg/kubelet/oom/oom_watcher_linux.go): ``System OOM encountered,
    victim process: %s, pid: %d`` on the node, ``Cgroup OOM encountered`` on a pod."""
    m = _VICTIM.search(rec.message)
    if not m:
        return None
    pid, comm = m.group(3), m.group(2) or "a process"
    report = Report(
        constraint="CONSTRAINT_NONE" if m.group(1) == "System" else "CONSTRAINT_MEMCG",
        memcg="" if m.group(1) == "System" else "kubepods",
    )
    objects = pod_objects(rec)
    node = objects.get("node") or (rec.name if rec.kind == "Node" else None)
    names = {k: objects[k] for k in ("pod", "namespace", "container") if objects.get(k)}
    kill = Kill(pid=pid, comm=comm, adj=None, anon=None, scope="", report=report, node=node, names=names)
    return kill.sighting()


_DOCKER_LABEL = re.compile(r"io\.kubernetes\.(pod\.name|pod\.namespace|container\.name)=([^,)\s]{1,253})")


@recogniser("container oom ")
def docker_oom(rec: Record, state: State) -> Result:
    """``docker events``: ``container oom <id> (... io.kubernetes.pod.name=..., ...)``: the runtime saw
    an OOM in the container's memory cgroup (moby daemon/monitor.go)."""
    if not re.search(r"\bcontainer oom [0-9a-f]{12,64}", rec.message):
        return None
    labels = dict(_DOCKER_LABEL.findall(rec.message))
    cid = re.search(r"\bcontainer oom ([0-9a-f]{12,64})", rec.message)
    names = {
        key: labels[label]
        for label, key in (
            ("pod.name", "pod"),
            ("pod.namespace", "namespace"),
            ("container.name", "container"),
        )
        if labels.get(label)
    }
    if cid and not names.get("container"):
        names["container_id"] = cid.group(1)
    report = Report(memcg="kubepods")
    return Kill(
        pid=None, comm="a process", adj=None, anon=None, scope="", report=report, node=rec.host, names=names
    ).sighting()


_TASK_OOM = re.compile(r'TaskOOM(?: event)? (?:container_id:\\?"?|&TaskOOM\{ContainerID:)([0-9a-f]{12,64})')


@recogniser("TaskOOM")
def containerd_oom(rec: Record, state: State) -> Result:
    """containerd's ``TaskOOM event container_id:"<id>"`` (``&TaskOOM{ContainerID:<id>,...}`` before 1.5):
    the shim saw an OOM in the task's memory cgroup. The bare ``topic=/tasks/oom`` forwarding lines
    carry no id and add nothing."""
    m = _TASK_OOM.search(rec.message)
    if not m:
        return KNOWN if "/tasks/oom" in rec.message else None
    report = Report(memcg="kubepods")
    return Kill(
        pid=None,
        comm="a process",
        adj=None,
        anon=None,
        scope="",
        report=report,
        node=rec.host,
        names={"container_id": m.group(1)},
    ).sighting()


@finisher
def oom_unfinished(state: State) -> list[tuple[Sighting, Record]]:
    """A report whose kill line is not in the evidence: a cgroup-v1 "Task in ... killed as a result of
    limit of" line still says who was killed and why; a page-allocator trace says the node ran out."""
    report: Report | None = state.pop("oom", None)
    task_in: Record | None = state.pop("oom_task_in", None)
    if report is None:
        return []
    rec = report.chosen_rec or task_in or report.record
    named_limit = task_in is not None or (report.memcg_trace and bool(report.memcg))
    if report.chosen is None and (
        rec is None
        or not (named_limit or report.global_trace != report.memcg_trace)
        or (report.memcg_trace and not report.invoker and not named_limit)
    ):
        return []
    assert rec is not None
    unnamed = "a task" if task_in is not None else "a process"
    pid, comm = report.chosen or (None, report.invoker or unnamed)
    kill = Kill(
        pid=pid,
        comm=comm,
        adj=report.invoker_adj,
        anon=None,
        scope=report.scope or ("Memory cgroup out of memory" if named_limit else "Out of memory"),
        report=report,
        node=rec.host,
        names={"container_id": report.cpuset} if report.cpuset else {},
        invoker_only=report.chosen is None and task_in is None and report.memcg_trace,
    )
    rec.context.extend(c for c in report.context if c[0] != rec.line)
    return [(kill.sighting(), rec)]
