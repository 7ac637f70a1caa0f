"""The kubelet's resource settings: reservations, hard eviction thresholds, pod slots, node allocatable.

Semantics (docs/k8s-facts §4; kubernetes/kubelet config/v1beta1/types.go @v0.29.0,
kubernetes/kubernetes pkg/kubelet/eviction/helpers.go, pkg/kubelet/cm/node_container_manager_linux.go):

- ``kubeReserved`` and ``systemReserved`` default to nil: nothing reserved;
- ``evictionHard`` unset (absent or null) means the Linux defaults of the release judged
  (``--kubernetes-version``: ``imagefs.inodesFree<5%`` joined them in v1.30). Setting it at all *replaces* the
  default map: every signal not named is off. ``mergeDefaultEvictionSettings: true`` (v1.33+) merges
  the defaults back in. ``evictionHard: {}`` switches every hard threshold off;
- a threshold of ``"0%"`` or ``"100%"`` is ignored (the signal is off); a zero or negative quantity, a
  percentage above 100, or an unknown signal makes the kubelet refuse to start;
- allocatable = capacity - kubeReserved - systemReserved - hard eviction threshold (memory.available
  for memory, nodefs.available for ephemeral-storage; soft thresholds are not subtracted); hugepages
  are also taken out of memory; ``pods`` = maxPods (capped by podsPerCore x cores when that is set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from premortem.load.document import Document, Path
from premortem.model.kubeversion import KubeVersion, target_version
from premortem.model.quantity import QuantityError, parse_quantity, to_bytes, to_millicores

KUBELET_API_GROUP = "kubelet.config.k8s.io"
KUBELET_KIND = "KubeletConfiguration"

DEFAULT_MAX_PODS = 110
# Linux defaults of evictionHard up to v1.29 (pkg/kubelet/eviction/defaults_linux.go).
DEFAULT_EVICTION_HARD: dict[str, str] = {
    "memory.available": "100Mi",
    "nodefs.available": "10%",
    "nodefs.inodesFree": "5%",
    "imagefs.available": "15%",
}
# v1.30 added imagefs.inodesFree<5% (PR #121834, not cherry-picked to older releases).
# mergeDefaultEvictionSettings only exists from v1.33, so a config that uses it runs on a kubelet
# with these defaults.
DEFAULT_EVICTION_HARD_V130: dict[str, str] = {**DEFAULT_EVICTION_HARD, "imagefs.inodesFree": "5%"}
IMAGEFS_INODES_DEFAULT_SINCE = KubeVersion(1, 30)


def default_eviction_hard() -> dict[str, str]:
    """The kubelet's default evictionHard in the release the scan targets (``--kubernetes-version``)."""
    if target_version() >= IMAGEFS_INODES_DEFAULT_SINCE:
        return dict(DEFAULT_EVICTION_HARD_V130)
    return dict(DEFAULT_EVICTION_HARD)


# Signals the kubelet accepts (pkg/kubelet/eviction/helpers.go signalToResource).
EVICTION_SIGNALS = frozenset(
    {
        "memory.available",
        "allocatableMemory.available",
        "nodefs.available",
        "nodefs.inodesFree",
        "imagefs.available",
        "imagefs.inodesFree",
        "containerfs.available",
        "containerfs.inodesFree",
        "pid.available",
    }
)
# Resources the kubelet lets you reserve (anything else is a startup error).
RESERVABLE = ("cpu", "memory", "ephemeral-storage", "pid")


@dataclass(frozen=True, slots=True)
class KubeletProblem:
    """A value the kubelet refuses at startup: it exits instead of running the node."""

    path: Path
    message: str


@dataclass
class KubeletSettings:
    doc: Document | None  # None = upstream defaults
    system_reserved: dict[str, int] = field(default_factory=dict)  # cpu millicores, bytes, pid count
    kube_reserved: dict[str, int] = field(default_factory=dict)
    # Effective hard thresholds after the replace-not-merge semantics; a signal absent here is off.
    eviction_hard: dict[str, str] = field(default_factory=default_eviction_hard)
    max_pods: int = DEFAULT_MAX_PODS
    pods_per_core: int = 0
    # evictionHard as written (None: not set, the defaults apply).
    eviction_hard_declared: dict[str, str] | None = None
    merge_default_eviction: bool = False
    eviction_soft: dict[str, str] = field(default_factory=dict)
    eviction_soft_grace_period: dict[str, str] = field(default_factory=dict)
    problems: list[KubeletProblem] = field(default_factory=list)

    @property
    def reserves_anything(self) -> bool:
        return bool(self.system_reserved or self.kube_reserved)

    def reserved(self, resource: str) -> int:
        return self.system_reserved.get(resource, 0) + self.kube_reserved.get(resource, 0)

    def disabled_default_signals(self) -> list[str]:
        """Default hard-eviction signals that this configuration switches off."""
        defaults = DEFAULT_EVICTION_HARD_V130 if self.merge_default_eviction else default_eviction_hard()
        return [signal for signal in defaults if signal not in self.eviction_hard]


def default_kubelet_settings() -> KubeletSettings:
    return KubeletSettings(doc=None)


def is_kubelet_configuration(doc: Document) -> bool:
    return doc.kind == KUBELET_KIND and doc.api_group == KUBELET_API_GROUP


def kubelet_settings(doc: Document) -> KubeletSettings:
    """Settings of a KubeletConfiguration (kubelet.config.k8s.io/v1beta1), defaults filled in.

    Values the kubelet would reject are left out and listed in ``problems``.
    """
    key = f"kubelet_settings {target_version()}"  # the defaults depend on the release judged
    cached = doc.cache.get(key)
    if isinstance(cached, KubeletSettings):
        return cached
    obj = doc.obj if isinstance(doc.obj, dict) else {}
    settings = KubeletSettings(doc=doc)
    problems = settings.problems
    settings.system_reserved = _reservations(obj.get("systemReserved"), ("systemReserved",), problems)
    settings.kube_reserved = _reservations(obj.get("kubeReserved"), ("kubeReserved",), problems)
    settings.max_pods = _int_field(obj, "maxPods", DEFAULT_MAX_PODS, problems)
    settings.pods_per_core = _int_field(obj, "podsPerCore", 0, problems)
    settings.merge_default_eviction = obj.get("mergeDefaultEvictionSettings") is True

    declared = _string_map(obj.get("evictionHard"), ("evictionHard",), problems)
    settings.eviction_hard_declared = declared
    if declared is None:
        merged = default_eviction_hard()
    elif settings.merge_default_eviction:
        merged = {**DEFAULT_EVICTION_HARD_V130, **declared}
    else:
        merged = dict(declared)
    settings.eviction_hard = _effective_thresholds(merged, ("evictionHard",), declared or {}, problems)

    settings.eviction_soft = _effective_thresholds(
        _string_map(obj.get("evictionSoft"), ("evictionSoft",), problems) or {},
        ("evictionSoft",),
        None,
        problems,
    )
    settings.eviction_soft_grace_period = (
        _string_map(obj.get("evictionSoftGracePeriod"), ("evictionSoftGracePeriod",), problems) or {}
    )
    _check_enforcement(obj, problems)
    doc.cache[key] = settings
    return settings


# enforceNodeAllocatable keys and the cgroup each needs (pkg/kubelet/apis/config/validation).
_ENFORCEMENT_CGROUP = {
    "pods": None,
    "system-reserved": "systemReservedCgroup",
    "system-reserved-compressible": "systemReservedCgroup",
    "kube-reserved": "kubeReservedCgroup",
    "kube-reserved-compressible": "kubeReservedCgroup",
    "none": None,
}


def _check_enforcement(obj: dict[str, Any], problems: list[KubeletProblem]) -> None:
    values = obj.get("enforceNodeAllocatable")
    if not isinstance(values, list):
        return
    for i, value in enumerate(values):
        key = str(value)
        where: Path = ("enforceNodeAllocatable", i)
        if key not in _ENFORCEMENT_CGROUP:
            problems.append(KubeletProblem(where, f"enforceNodeAllocatable: unknown value {key!r}"))
        elif key == "none" and len(values) > 1:
            problems.append(
                KubeletProblem(where, "enforceNodeAllocatable may not contain other values with 'none'")
            )
        else:
            cgroup = _ENFORCEMENT_CGROUP[key]
            if cgroup and not obj.get(cgroup):
                problems.append(
                    KubeletProblem(
                        where, f"{cgroup} must be specified when {key!r} is in enforceNodeAllocatable"
                    )
                )


def memory_eviction_bytes(threshold: str, capacity_bytes: int) -> int:
    """Bytes a threshold like ``"100Mi"`` or ``"5%"`` holds back on a node of ``capacity_bytes``.

    A percentage is taken of capacity (pkg/kubelet/eviction/api GetThresholdQuantity). Raises
    ``ValueError`` for text that is neither.
    """
    text = str(threshold).strip()
    if text.endswith("%"):
        try:
            percent = Fraction(text[:-1].strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{threshold!r} is not a percentage") from None
        return math.floor(percent * capacity_bytes / 100)
    return to_bytes(text)


def allocatable(capacity: dict[str, int], settings: KubeletSettings) -> dict[str, int]:
    """What the scheduler may hand out on a node: capacity minus reservations and hard eviction.

    ``capacity``: ``cpu`` in millicores, ``memory`` / ``ephemeral-storage`` / ``hugepages-*`` in bytes,
    anything else as a count. The result always has ``pods``.
    """
    out: dict[str, int] = {}
    hugepages = sum(v for k, v in capacity.items() if k.startswith("hugepages-"))
    for resource, cap in capacity.items():
        if resource == "pods":
            continue
        value = cap - settings.reserved(resource)
        if resource == "memory":
            value -= hugepages + _threshold_bytes(settings.eviction_hard.get("memory.available"), cap)
        elif resource == "ephemeral-storage":
            value -= _threshold_bytes(settings.eviction_hard.get("nodefs.available"), cap)
        out[resource] = max(0, value)
    pods = settings.max_pods
    if settings.pods_per_core > 0 and capacity.get("cpu"):
        pods = min(pods, settings.pods_per_core * max(1, capacity["cpu"] // 1000))
    out["pods"] = max(0, pods)
    return out


def _threshold_bytes(threshold: str | None, capacity: int) -> int:
    if threshold is None:
        return 0
    try:
        return memory_eviction_bytes(threshold, capacity)
    except (ValueError, QuantityError):
        return 0


def _string_map(value: Any, path: Path, problems: list[KubeletProblem]) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(KubeletProblem(path, f"{path[-1]} must be a map of signal to value, not {value!r}"))
        return None
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _int_field(obj: dict[str, Any], key: str, default: int, problems: list[KubeletProblem]) -> int:
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(KubeletProblem((key,), f"{key} must be an integer, not {value!r}"))
        return default
    return value


def _reservations(value: Any, path: Path, problems: list[KubeletProblem]) -> dict[str, int]:
    out: dict[str, int] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        problems.append(KubeletProblem(path, f"{path[-1]} must be a map of resource to quantity"))
        return out
    for key, raw in value.items():
        resource = str(key)
        where = (*path, resource)
        if resource not in RESERVABLE:
            problems.append(
                KubeletProblem(
                    where, f"{path[-1]}: cannot reserve {resource!r} (only {', '.join(RESERVABLE)})"
                )
            )
            continue
        try:
            amount = to_millicores(raw) if resource == "cpu" else math.ceil(parse_quantity(raw))
        except QuantityError:
            problems.append(KubeletProblem(where, f"{path[-1]}.{resource}: {raw!r} is not a quantity"))
            continue
        if amount < 0:
            problems.append(KubeletProblem(where, f"{path[-1]}.{resource} cannot be negative ({raw!r})"))
            continue
        if amount:
            out[resource] = amount
    return out


def _effective_thresholds(
    values: dict[str, str],
    path: Path,
    declared: dict[str, str] | None,
    problems: list[KubeletProblem],
) -> dict[str, str]:
    """Drop thresholds the kubelet ignores ("0%", "100%"), report the ones it rejects.

    ``declared``: the keys written by the user (problems are only reported for those); None means
    every key in ``values`` was written by the user.
    """
    out: dict[str, str] = {}
    for signal, text in values.items():
        written = declared is None or signal in declared
        problem = threshold_problem(signal, text)
        if problem is not None:
            if written:
                problems.append(KubeletProblem((*path, signal), f"{path[-1]}: {problem}"))
            continue
        if text.strip() in ("0%", "100%"):
            continue
        out[signal] = text.strip()
    return out


def threshold_problem(signal: str, text: str) -> str | None:
    """Why the kubelet would refuse this eviction threshold at startup, or None."""
    if signal not in EVICTION_SIGNALS:
        return f"unsupported eviction signal {signal!r}"
    value = text.strip()
    if value.endswith("%"):
        if value in ("0%", "100%"):
            return None
        try:
            percent = float(value[:-1])
        except ValueError:
            return f"{signal}: {text!r} is not a percentage"
        if not 0 <= percent <= 100:
            return f"{signal}: {text!r} must be between 0% and 100%"
        return None
    try:
        quantity = parse_quantity(value)
    except QuantityError:
        return f"{signal}: {text!r} is not a quantity or percentage"
    if quantity <= 0:
        return f"{signal}: threshold must be positive, not {text!r}"
    return None


_DROP_IN_MARKERS = ("drop-in", "dropin", "drop_in")


def is_drop_in(doc: Document) -> bool:
    """A kubelet ``--config-dir`` drop-in (``kubelet.conf.d/*.conf``, ``*drop-in*``): a partial file the
    kubelet merges over its main configuration, so what it leaves out may be set elsewhere."""
    path = doc.file.replace("\\", "/").lower()
    parts = path.split("/")
    if any(marker in parts[-1] for marker in _DROP_IN_MARKERS):
        return True
    return any(part.endswith(".d") for part in parts[:-1])


# --- kubelet flags (kubeadm nodeRegistration.kubeletExtraArgs) ---------------------------------------

KUBEADM_GROUP = "kubeadm.k8s.io"
KUBEADM_NODE_KINDS = ("InitConfiguration", "JoinConfiguration")


def kubeadm_kubelet_flags(doc: Document) -> dict[str, tuple[str, Path]]:
    """``nodeRegistration.kubeletExtraArgs`` of a kubeadm Init/JoinConfiguration: flag -> (value, path).

    v1beta3 writes a map, v1beta4 a list of ``{name, value}``. Command-line flags override the kubelet's
    configuration file.
    """
    if doc.kind not in KUBEADM_NODE_KINDS or doc.api_group != KUBEADM_GROUP or not isinstance(doc.obj, dict):
        return {}
    registration = doc.obj.get("nodeRegistration")
    extra = registration.get("kubeletExtraArgs") if isinstance(registration, dict) else None
    base: Path = ("nodeRegistration", "kubeletExtraArgs")
    out: dict[str, tuple[str, Path]] = {}
    if isinstance(extra, dict):
        for key, value in extra.items():
            out[str(key).lstrip("-")] = (str(value), (*base, str(key)))
    elif isinstance(extra, list):
        for i, item in enumerate(extra):
            if isinstance(item, dict) and "name" in item:
                out[str(item["name"]).lstrip("-")] = (str(item.get("value", "")), (*base, i, "value"))
    return out


def parse_flag_map(text: str, separator: str = "=") -> dict[str, str]:
    """``cpu=500m,memory=1Gi`` (reservations) or ``memory.available<100Mi,nodefs.available<10%``."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition(separator)
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def with_kubelet_flags(settings: KubeletSettings, flags: dict[str, tuple[str, Path]]) -> KubeletSettings:
    """The settings the kubelet runs with when these command-line flags override its file."""
    from dataclasses import replace

    out = replace(settings, problems=list(settings.problems))

    def at(path: Path, found: list[KubeletProblem]) -> None:
        # Problems point at the flag's value: the file has no finer place for them.
        out.problems.extend(KubeletProblem(path, f"--{p.message}") for p in found)

    for flag, field_name in (("system-reserved", "system_reserved"), ("kube-reserved", "kube_reserved")):
        if flag in flags:
            value, path = flags[flag]
            found: list[KubeletProblem] = []
            setattr(out, field_name, _reservations(parse_flag_map(value), (flag,), found))
            at(path, found)
    if "eviction-hard" in flags:
        value, path = flags["eviction-hard"]
        declared = parse_flag_map(value, "<")
        out.eviction_hard_declared = declared
        merged = {**DEFAULT_EVICTION_HARD_V130, **declared} if out.merge_default_eviction else dict(declared)
        found = []
        out.eviction_hard = _effective_thresholds(merged, ("eviction-hard",), declared, found)
        at(path, found)
    if "max-pods" in flags:
        value, path = flags["max-pods"]
        try:
            out.max_pods = int(value)
        except ValueError:
            out.problems.append(KubeletProblem(path, f"--max-pods={value!r} is not an integer"))
    return out
