"""Fixers for the kubelet rules (KUB001, KUB002, KUB003).

The numbers, and why (docs/fix.md has the long form):

- ``kubeReserved: {cpu: 100m, memory: 1Gi}``: the kubelet and container runtime of a node running
  ~30-110 pods use a few hundred MiB to ~1.5GiB (the EKS AMI reserves 255Mi + 11Mi per pod, i.e.
  574Mi at 29 pods and 1465Mi at 110; GKE reserves 25% of the first 4GiB). 1Gi is the middle of that.
- ``systemReserved: {cpu: 100m, memory: 512Mi}``: systemd, journald, sshd, node agents.
- ``evictionHard``: every signal of the kubelet's defaults named (so none is silently off), with the
  default values, except ``memory.available: 500Mi``: the 100Mi default is a sliver on nodes of
  16GiB and more, where a fast leak outruns the 10 s eviction loop (the Kubernetes docs' worked
  example uses 500Mi). ``imagefs.inodesFree: 5%`` is the v1.30 default, named so that it stays on.
"""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Op, Set
from premortem.load.document import Document
from premortem.model.kubelet import DEFAULT_EVICTION_HARD_V130, memory_eviction_bytes
from premortem.model.quantity import QuantityError

KUBE_RESERVED = {"cpu": "100m", "memory": "1Gi"}
SYSTEM_RESERVED = {"cpu": "100m", "memory": "512Mi"}
MEMORY_AVAILABLE = "500Mi"
EVICTION_HARD: dict[str, str] = {**DEFAULT_EVICTION_HARD_V130, "memory.available": MEMORY_AVAILABLE}
MIN_MEMORY_BYTES = 100 * 2**20
REFERENCE_NODE = 16 * 2**30


def _fmt(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}"


@fixer("KUB001")
def reserve_for_system(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers KUB001 (nothing-reserved). Adds `kubeReserved: {cpu: 100m, memory: 1Gi}` and
    `systemReserved: {cpu: 100m, memory: 512Mi}` where absent. Node allocatable shrinks by 200m cpu and
    1.5Gi memory, so the scheduler stops placing pods into the memory the kubelet, the runtime and the
    OS need. Size them to your nodes if they are very small (< 4GiB) or very large (> 64GiB).
    """
    obj = doc.obj
    ops: list[Op] = []
    added = []
    for key, value in (("kubeReserved", KUBE_RESERVED), ("systemReserved", SYSTEM_RESERVED)):
        if not obj.get(key):
            ops.append(Set((key,), dict(value)))
            added.append(f"{key}: {_fmt(value)}")
    if ops:
        yield Fix(
            ops,
            f"{' and '.join(added)}: node allocatable is now capacity minus these and the hard eviction "
            "threshold, so pods cannot be scheduled into the memory the kubelet and the OS need.",
        )


@fixer("KUB002", "KUB003")
def complete_eviction_hard(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers KUB002 (partial-eviction-hard) and KUB003 (memory-eviction-threshold). Completes
    `evictionHard` so every default signal is named: `memory.available: 500Mi`, `nodefs.available:
    10%`, `nodefs.inodesFree: 5%`, `imagefs.available: 15%`, `imagefs.inodesFree: 5%`. Signals you
    set keep their values (a signal written as `"0%"` stays off: that was a decision, not an omission),
    except a `memory.available` that is missing, `"0%"`/`"100%"` (off) or below 100Mi, which becomes
    500Mi. Setting `evictionHard` replaces the kubelet's default map, so naming
    all of them is the only way none is silently switched off.
    """
    current = doc.obj.get("evictionHard")
    if not isinstance(current, dict):
        yield Note("evictionHard is not a mapping here; set it by hand (see `premortem explain KUB002`).")
        return
    ops: list[Op] = []
    changes = []
    memory = current.get("memory.available")
    if memory is None or _too_low(str(memory)):
        ops.append(Set(("evictionHard", "memory.available"), MEMORY_AVAILABLE))
        changes.append(
            f"memory.available {memory!s} -> {MEMORY_AVAILABLE}"
            if memory is not None
            else f"memory.available: {MEMORY_AVAILABLE}"
        )
    for signal, value in EVICTION_HARD.items():
        # A signal written as "0%"/"100%" was switched off on purpose (KUB002 does not report it):
        # only the signals the replace-not-merge semantics dropped silently are added back.
        if signal != "memory.available" and signal not in current:
            ops.append(Set(("evictionHard", signal), value))
            changes.append(f"{signal}: {value}")
    if ops:
        yield Fix(
            ops,
            f"evictionHard: {', '.join(changes)}: every default signal is named, so none is switched off "
            "by the replace-not-merge semantics of evictionHard.",
        )


def _too_low(text: str) -> bool:
    value = text.strip()
    if value in ("0%", "100%"):
        return True
    try:
        return memory_eviction_bytes(value, REFERENCE_NODE) < MIN_MEMORY_BYTES
    except (QuantityError, ValueError):
        return False  # invalid: KUB004 reports it, the kubelet does not start; not ours to guess
