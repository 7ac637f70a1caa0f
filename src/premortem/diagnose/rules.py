"""The diagnose rule ids: what each names, its category (the scan's set), default severity, and the
scan rules that would have prevented it. docs/diagnose.md documents every id; keep the two in step.

``prevented_by`` lists scan rule ids. Where the scan's numbering inside a family is not fixed by this
table (probe and etcd manifest rules), a query ``@category:word`` is resolved against the rule
registry at report time: every registered rule of that category whose name or title mentions the word.
``checked_by`` names the live checks that would have shown the problem before the outage.
"""

from __future__ import annotations

from dataclasses import dataclass

from premortem.findings import Severity


@dataclass(frozen=True)
class DiagRule:
    id: str
    category: str
    severity: Severity
    title: str
    prevented_by: tuple[str, ...] = ()
    checked_by: tuple[str, ...] = ()


_H, _C, _M, _I = Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM, Severity.INFO
_ETCD_DISK = ("@etcd:data", "@etcd:disk", "@etcd:hostpath")
_ETCD_ELECTION = (*_ETCD_DISK, "@etcd:election")
_ETCD_CHECKS = ("premortem etcd --disk DIR", "premortem etcd --metrics URL")

DIAG_RULES: dict[str, DiagRule] = {
    r.id: r
    for r in (
        DiagRule(
            "DIAG-OOM-CGROUP",
            "resources",
            _H,
            "container killed by the kernel at its memory limit",
            ("RES002", "RES003"),
        ),
        DiagRule(
            "DIAG-OOM-SYSTEM",
            "kubelet",
            _C,
            "node ran out of memory: system OOM kill",
            ("KUB001", "KUB003", "CAP004"),
        ),
        DiagRule(
            "DIAG-OOM-RESERVED",
            "kubelet",
            _H,
            "system daemon killed at its reserved cgroup's memory limit",
            ("KUB001",),
        ),
        DiagRule(
            "DIAG-OOM-KILL",
            "resources",
            _H,
            "process killed by the kernel OOM killer (scope not in the evidence)",
        ),
        DiagRule(
            "DIAG-OOMKILLED",
            "resources",
            _H,
            "container terminated OOMKilled",
            ("RES002", "RES003"),
        ),
        DiagRule(
            "DIAG-EVICT-MEMORY", "resources", _H, "pod evicted for node memory pressure", ("RES001", "RES002")
        ),
        DiagRule("DIAG-EVICT-DISK", "resources", _H, "pod evicted for node disk pressure", ("KUB002",)),
        DiagRule("DIAG-EVICT-PID", "resources", _H, "pod evicted for node PID pressure", ("KUB002",)),
        DiagRule(
            "DIAG-EVICT-UNKNOWN", "resources", _H, "pod evicted (the evidence does not name the resource)"
        ),
        DiagRule(
            "DIAG-NODE-MEMORY-PRESSURE",
            "kubelet",
            _H,
            "node under memory pressure",
            ("KUB001", "KUB003", "CAP004"),
        ),
        DiagRule("DIAG-NODE-DISK-PRESSURE", "kubelet", _H, "node under disk pressure", ("KUB002",)),
        DiagRule("DIAG-NODE-PID-PRESSURE", "kubelet", _H, "node under PID pressure", ("KUB002",)),
        DiagRule("DIAG-NODE-NOT-READY", "kubelet", _C, "node NotReady", ("KUB001", "KUB003")),
        DiagRule(
            "DIAG-NODE-AGENT-DOWN",
            "kubelet",
            _H,
            "kubelet or container runtime killed or unreachable",
            ("KUB001",),
        ),
        DiagRule(
            "DIAG-PROBE-LIVENESS",
            "probes",
            _H,
            "liveness probe failing",
            ("@probes:liveness", "@probes:hair-trigger"),
        ),
        DiagRule("DIAG-PROBE-READINESS", "probes", _M, "readiness probe failing", ("@probes:hair-trigger",)),
        DiagRule("DIAG-PROBE-STARTUP", "probes", _M, "startup probe failing", ("@probes:startup",)),
        DiagRule(
            "DIAG-PROBE-RESTART", "probes", _H, "container restarted by a failed probe", ("@probes:liveness",)
        ),
        DiagRule("DIAG-CRASHLOOP", "probes", _H, "container in CrashLoopBackOff"),
        DiagRule("DIAG-IMAGE-PULL", "images", _H, "image pull failing"),
        DiagRule(
            "DIAG-WEBHOOK-FAILURE", "admission", _H, "admission webhook call failing", ("ADM001", "ADM003")
        ),
        DiagRule(
            "DIAG-DRAIN-PDB",
            "disruption",
            _H,
            "eviction refused by a PodDisruptionBudget",
            ("PDB001", "PDB003", "CAP003"),
        ),
        DiagRule("DIAG-ETCD-SLOW-FSYNC", "etcd", _H, "etcd WAL fdatasync slow", _ETCD_DISK, _ETCD_CHECKS),
        DiagRule(
            "DIAG-ETCD-HEARTBEAT",
            "etcd",
            _H,
            "etcd leader missed heartbeats (slow disk or overload)",
            _ETCD_ELECTION,
            _ETCD_CHECKS,
        ),
        DiagRule("DIAG-ETCD-SLOW-APPLY", "etcd", _M, "etcd requests slow to apply", _ETCD_DISK, _ETCD_CHECKS),
        DiagRule(
            "DIAG-ETCD-LEADER-ELECTION", "etcd", _H, "etcd leader elections", _ETCD_ELECTION, _ETCD_CHECKS
        ),
        DiagRule(
            "DIAG-ETCD-NOSPACE",
            "etcd",
            _C,
            "etcd out of space (NOSPACE alarm): cluster read-only",
            ("@etcd:quota",),
            ("premortem etcd --metrics URL",),
        ),
        DiagRule("DIAG-APISERVER-TIMEOUT", "etcd", _H, "API server requests timing out", (), _ETCD_CHECKS),
        DiagRule("DIAG-CILIUM-POLICY-MAP", "network", _H, "Cilium policy map full", ("NET002",)),
        DiagRule("DIAG-CILIUM-LB-MAP", "network", _H, "Cilium service load-balancer map full"),
        DiagRule("DIAG-CILIUM-CT-MAP", "network", _H, "Cilium connection-tracking map full"),
        DiagRule(
            "DIAG-CILIUM-NAT-MAP", "network", _H, "Cilium NAT mapping failed (map full or ports exhausted)"
        ),
    )
}
