"""Kubelet configuration: what the node keeps for itself, and when it starts evicting.

Every rule reads ``KubeletConfiguration`` documents through the shared model (model/kubelet.py), the
same one the capacity analysis uses to derive node allocatable. ``--config-dir`` drop-ins are partial
files merged over the main configuration; the rules that judge what a file leaves out skip them.
kubeadm's ``nodeRegistration.kubeletExtraArgs`` in the same file are command-line flags that override
the configuration (``--system-reserved``, ``--kube-reserved``, ``--eviction-hard``), so KUB001-KUB003
judge the configuration with them applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from premortem.findings import Severity
from premortem.load.document import Document, Path
from premortem.model.kubelet import (
    IMAGEFS_INODES_DEFAULT_SINCE,
    KUBEADM_NODE_KINDS,
    KUBELET_KIND,
    KubeletSettings,
    allocatable,
    default_eviction_hard,
    default_kubelet_settings,
    is_drop_in,
    is_kubelet_configuration,
    kubeadm_kubelet_flags,
    kubelet_settings,
    memory_eviction_bytes,
    with_kubelet_flags,
)
from premortem.model.kubeversion import KubeVersion, target_version
from premortem.model.quantity import QuantityError, format_bytes
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule, object_rule

# v1.30 replaced swapBehavior's values with NoSwap / LimitedSwap (kubernetes/kubelet types.go @v0.30.0).
SWAP_VALUES_REPLACED = KubeVersion(1, 30)
# The node size used to turn thresholds and reservations into numbers in messages.
REFERENCE_NODE_MEMORY = 16 * 2**30
MIN_MEMORY_THRESHOLD = 100 * 2**20

_DISK_SIGNALS = ("nodefs.available", "nodefs.inodesFree")


def _settings(doc: Document) -> KubeletSettings | None:
    if not is_kubelet_configuration(doc):
        return None
    return kubelet_settings(doc)


@dataclass(frozen=True, slots=True)
class _Judged:
    """A KubeletConfiguration with the kubeadm flags of its file applied, and where evictionHard comes from."""

    doc: Document
    settings: KubeletSettings
    eviction_doc: Document
    eviction_path: Path  # the evictionHard field, or the --eviction-hard flag that overrides it
    eviction_label: str


def _judged(context: ClusterContext) -> Iterator[_Judged]:
    index = context.index
    flag_docs: dict[str, list[Document]] = {}
    for doc in index.of_kind(*KUBEADM_NODE_KINDS):
        if kubeadm_kubelet_flags(doc):
            flag_docs.setdefault(doc.file, []).append(doc)
    for doc in index.of_kind(KUBELET_KIND):
        if not is_kubelet_configuration(doc) or is_drop_in(doc):
            continue
        base = kubelet_settings(doc)
        variants: list[Document | None] = list(flag_docs.get(doc.file, [])) or [None]
        for flags_doc in variants:  # one kubeadm Init/JoinConfiguration per node
            if flags_doc is None:
                yield _Judged(doc, base, doc, ("evictionHard",), "evictionHard")
                continue
            flags = kubeadm_kubelet_flags(flags_doc)
            settings = with_kubelet_flags(base, flags)
            if "eviction-hard" in flags:
                yield _Judged(
                    doc, settings, flags_doc, flags["eviction-hard"][1], "kubeletExtraArgs eviction-hard"
                )
            else:
                yield _Judged(doc, settings, doc, ("evictionHard",), "evictionHard")


def _once(hits: Iterator[Hit]) -> Iterator[Hit]:
    """The same finding computed for several kubeadm node variants is reported once."""
    seen: set[tuple[int, str, str]] = set()
    for hit in hits:
        key = (id(hit.doc), str(hit.path), hit.message)
        if key not in seen:
            seen.add(key)
            yield hit


def _memory_threshold(settings: KubeletSettings, capacity: int = REFERENCE_NODE_MEMORY) -> int:
    value = settings.eviction_hard.get("memory.available")
    if value is None:
        return 0
    try:
        return memory_eviction_bytes(value, capacity)
    except (ValueError, QuantityError):
        return 0


@cluster_rule(
    "KUB001",
    "nothing-reserved",
    "kubelet",
    Severity.MEDIUM,
    "Neither systemReserved nor kubeReserved: pods may be scheduled into the memory the OS and kubelet need",
)
def nothing_reserved(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    `KubeletConfiguration` documents that set neither `systemReserved` nor `kubeReserved` (or set
    them to zero). Upstream the kubelet reserves nothing by default; cloud images and installers add
    their own, a hand-written configuration usually does not. Drop-in files of `--config-dir` are
    not judged (the main file may reserve); `--system-reserved`/`--kube-reserved` in a kubeadm
    `kubeletExtraArgs` of the same file count.

    ## Why it breaks clusters
    Node allocatable is `capacity - kubeReserved - systemReserved - hard eviction threshold`. With
    nothing reserved, the scheduler may hand out all of the node's memory minus the 100Mi eviction
    threshold to pod requests, and the `kubepods` cgroup is allowed the whole node. The kubelet, the
    container runtime, systemd, journald and sshd then compete with pods for the last memory: the
    kubelet misses its status updates or is OOM-killed itself, the node goes `NotReady`, and its pods
    are rescheduled onto the next node, which is just as full: a stampede.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    cgroupDriver: systemd
    maxPods: 110
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    cgroupDriver: systemd
    kubeReserved: {cpu: 100m, memory: 1Gi, ephemeral-storage: 1Gi}
    systemReserved: {cpu: 100m, memory: 512Mi}
    ```

    ## Fix
    Reserve memory and cpu for the node's own daemons: `kubeReserved` (kubelet and runtime, about
    1Gi and 100m on a mid-size node; cloud images scale it with the node) and `systemReserved` (the
    OS, about 512Mi). Leave them as plain reservations (not in `enforceNodeAllocatable`) until you
    have measured the daemons.

    ## Source
    kubernetes/kubelet config/v1beta1/types.go @v0.29.0 (kubeReserved, systemReserved: "Default:
    nil"); kubernetes/kubernetes pkg/kubelet/cm/node_container_manager_linux.go
    (GetNodeAllocatableReservation, kubepods cgroup = capacity - reserved); K8s docs
    tasks/administer-cluster/reserve-compute-resources.md.
    """
    yield from _once(_nothing_reserved(j) for j in _judged(context) if not j.settings.reserves_anything)


def _nothing_reserved(judged: _Judged) -> Hit:
    settings = judged.settings
    threshold = _memory_threshold(settings)
    alloc = allocatable({"memory": REFERENCE_NODE_MEMORY}, settings)["memory"]
    evict = (
        f"the {format_bytes(threshold)} hard eviction threshold"
        if threshold
        else "nothing (memory.available hard eviction is off)"
    )
    return Hit(
        message=(
            f"Nothing is reserved for the kubelet, the container runtime or the OS: allocatable memory = "
            f"capacity - {evict}, so on a 16Gi node the scheduler may place pods requesting "
            f"{format_bytes(alloc)}. When they use it, the kubelet and the OS fight pods for the last "
            "memory, the kubelet loses, the node goes NotReady and its pods stampede onto the next node."
        ),
        fix="Set kubeReserved (e.g. {cpu: 100m, memory: 1Gi}) and systemReserved (e.g. {memory: 512Mi}).",
        path=(),
        doc=judged.doc,
        extra={"allocatable_memory_on_16Gi": alloc},
    )


@cluster_rule(
    "KUB002",
    "partial-eviction-hard",
    "kubelet",
    Severity.MEDIUM,
    "evictionHard names some signals: the default thresholds it leaves out are switched off",
)
def partial_eviction_hard(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    `KubeletConfiguration` documents whose `evictionHard` leaves out some of the default signals
    of the release judged (`--kubernetes-version`): `memory.available<100Mi`, `nodefs.available<10%`,
    `nodefs.inodesFree<5%`, `imagefs.available<15%`, and from v1.30 `imagefs.inodesFree<5%`;
    without `mergeDefaultEvictionSettings: true`. A missing `memory.available` is reported by KUB003; this
    rule is about the others. Medium when a `nodefs` signal is off, low when only `imagefs` ones are
    (on nodes where images share the root filesystem, `nodefs.available` still covers that disk).

    ## Why it breaks clusters
    Setting any `evictionHard` key replaces the whole default map: the signals you did not name are
    not inherited, they are switched off. With `nodefs.available` off, a pod writing logs or
    `emptyDir` data fills the root disk and the kubelet never evicts it: image pulls, container
    starts and the kubelet's own writes fail, and the node goes `NotReady` with `DiskPressure` never
    reported. `mergeDefaultEvictionSettings: true` (kubelet v1.33+) keeps the defaults for the
    signals you leave out; older kubelets reject that field.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    evictionHard:
      memory.available: 500Mi
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    evictionHard:
      memory.available: 500Mi
      nodefs.available: "10%"
      nodefs.inodesFree: "5%"
      imagefs.available: "15%"
      imagefs.inodesFree: "5%"
    ---
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    mergeDefaultEvictionSettings: true
    evictionHard:
      memory.available: 500Mi
    ```

    ## Fix
    List every signal you want in `evictionHard` (copy the defaults and change the one you meant
    to change), or on v1.33+ set `mergeDefaultEvictionSettings: true`.

    ## Source
    K8s docs concepts/scheduling-eviction/node-pressure-eviction.md (replace semantics,
    mergeDefaultEvictionSettings); kubernetes/kubelet config/v1beta1/types.go @v0.29.0 and v0.33.0;
    kubernetes/kubernetes pkg/kubelet/eviction/defaults_linux.go, CHANGELOG-1.30.md
    (imagefs.inodesFree default).
    """
    yield from _once(hit for j in _judged(context) for hit in _partial_eviction_hard(j))


def _partial_eviction_hard(judged: _Judged) -> Iterator[Hit]:
    settings = judged.settings
    declared = settings.eviction_hard_declared
    if declared is None or settings.merge_default_eviction:
        return
    # Named signals are the user's choice (even "0%"): only report the ones left out.
    defaults = default_eviction_hard()  # the release judged (--kubernetes-version)
    missing = [s for s in defaults if s not in declared and s != "memory.available"]
    if not missing:
        return
    disk = [s for s in missing if s in _DISK_SIGNALS]
    later = (
        ""
        if "imagefs.inodesFree" in defaults or "imagefs.inodesFree" in declared
        else f" (and from {IMAGEFS_INODES_DEFAULT_SINCE} imagefs.inodesFree<5%)"
    )
    off = ", ".join(f"{s}<{defaults[s]}" for s in missing)
    consequence = (
        "a pod filling the root disk with logs or emptyDir data is never evicted: image pulls and "
        "container starts fail and the node goes NotReady."
        if disk
        else "image filesystem pressure is only caught once nodefs.available trips (same disk) or never "
        "(a separate image disk fills until pulls fail)."
    )
    yield Hit(
        message=(
            f"{judged.eviction_label} names {', '.join(declared) or 'no signal'}, which replaces the default map "
            f"of the {target_version()} kubelet: {off}{later} are now switched off, not inherited. So {consequence}"
        ),
        fix=(
            f"Add {', '.join(f'{s}: {defaults[s]!r}' for s in missing)} to evictionHard, "
            "or set mergeDefaultEvictionSettings: true (kubelet v1.33+)."
        ),
        path=judged.eviction_path,
        doc=judged.eviction_doc,
        severity=Severity.MEDIUM if disk else Severity.LOW,
        extra={"disabled_signals": missing},
    )


@cluster_rule(
    "KUB003",
    "memory-eviction-threshold",
    "kubelet",
    Severity.MEDIUM,
    "Hard memory eviction threshold missing, disabled or below 100Mi",
    params={
        "min_memory_bytes": Param(
            MIN_MEMORY_THRESHOLD, "smallest evictionHard memory.available accepted (bytes)"
        )
    },
)
def memory_eviction_threshold(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    `KubeletConfiguration` documents whose effective `evictionHard` has no `memory.available`
    threshold (left out of an explicit map, `"0%"`/`"100%"`, or `evictionHard: {}`), or one below
    the 100Mi default (percentages are judged on a 16Gi node). `mergeDefaultEvictionSettings: true`
    (v1.33+) brings the 100Mi default back. Low instead of medium when a soft `memory.available`
    threshold still exists.

    ## Why it breaks clusters
    The hard threshold is the kubelet's only fast reaction to memory exhaustion (checked every 10 s)
    and the margin it keeps between pods and the kernel. Without it, or with a sliver of it, nodes
    run until the kernel OOM killer fires at node level: it kills by `oom_score_adj`, which may be
    the container runtime's children, a Burstable pod well within its request, or (with nothing
    reserved) leave the kubelet starved until the node goes `NotReady`. Node allocatable also grows
    by the missing threshold, so the scheduler packs more requests onto the node.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    evictionHard:
      nodefs.available: "10%"
      nodefs.inodesFree: "5%"
      imagefs.available: "15%"
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    evictionHard:
      memory.available: 500Mi
      nodefs.available: "10%"
      nodefs.inodesFree: "5%"
      imagefs.available: "15%"
    ```

    ## Fix
    Set `evictionHard.memory.available` to at least `100Mi` (500Mi-1Gi on large nodes), together
    with the other signals.

    ## Source
    kubernetes/kubelet config/v1beta1/types.go @v0.29.0 (evictionHard default); kubernetes/kubernetes
    pkg/kubelet/eviction/helpers.go (parseThresholdStatement: "0%" and "100%" are ignored); K8s docs
    concepts/scheduling-eviction/node-pressure-eviction.md.
    """
    yield from _once(hit for j in _judged(context) for hit in _memory_eviction_threshold(j))


def _memory_eviction_threshold(judged: _Judged) -> Iterator[Hit]:
    settings = judged.settings
    declared = settings.eviction_hard_declared
    if declared is None:
        return  # the 100Mi default applies
    soft = "memory.available" in settings.eviction_soft
    soft_note = (
        " A soft memory.available threshold still evicts, but only after its grace period." if soft else ""
    )
    path: Path = judged.eviction_path
    if "memory.available" in declared and judged.eviction_doc is judged.doc:
        path = ("evictionHard", "memory.available")
    value = settings.eviction_hard.get("memory.available")
    if value is None:
        written = declared.get("memory.available")
        if written is not None and written.strip() not in ("0%", "100%"):
            return  # an invalid value: the kubelet does not start at all (KUB004)
        how = (
            f"is set to {written!r}, which switches it off"
            if written is not None
            else f"is not in {judged.eviction_label}, which replaces the default map"
        )
        yield Hit(
            message=(
                f"memory.available {how}: the kubelet never hard-evicts pods for memory. The node runs until "
                "the kernel OOM killer picks victims by oom_score_adj, not by who overran its request, and "
                f"allocatable grows by the missing 100Mi.{soft_note}"
            ),
            fix='Add evictionHard: {memory.available: "500Mi"} (at least the 100Mi default).',
            path=path,
            doc=judged.eviction_doc,
            severity=Severity.LOW if soft else None,
        )
        return
    threshold = _memory_threshold(settings)
    if 0 < threshold < memory_eviction_threshold.param("min_memory_bytes"):
        yield Hit(
            message=(
                f"evictionHard memory.available is {value} ({format_bytes(threshold)} on a 16Gi node), below "
                "the 100Mi default: the kubelet notices memory exhaustion so late (every 10 s) that the kernel "
                f"OOM killer usually acts first, killing by oom_score_adj instead of evicting.{soft_note}"
            ),
            fix='Raise evictionHard memory.available to at least "100Mi" (500Mi-1Gi on large nodes).',
            path=path,
            doc=judged.eviction_doc,
            severity=Severity.LOW if soft else None,
            extra={"threshold_bytes_on_16Gi": threshold},
        )


@object_rule(
    "KUB004",
    "kubelet-rejects-config",
    "kubelet",
    Severity.HIGH,
    "The kubelet refuses this configuration at startup",
    kinds=[KUBELET_KIND, *KUBEADM_NODE_KINDS],
)
def kubelet_rejects_config(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Values the kubelet rejects when it starts: an `evictionSoft` signal without an
    `evictionSoftGracePeriod` for it, an unknown eviction signal, a threshold of zero or a negative
    quantity, a percentage above 100%, a reservation of anything but `cpu`, `memory`,
    `ephemeral-storage` or `pid`, a quantity that does not parse, or `enforceNodeAllocatable` naming
    `system-reserved`/`kube-reserved` without `systemReservedCgroup`/`kubeReservedCgroup` (or an
    unknown value, or `none` with others). The same values given as kubeadm
    `nodeRegistration.kubeletExtraArgs` flags (`system-reserved`, `kube-reserved`, `eviction-hard`,
    `max-pods`) are checked too.

    ## Why it breaks clusters
    The kubelet exits with the parse error instead of running. Rolled out to a node pool (a new
    launch template, a config-management run, an upgrade), every node it reaches stops reporting:
    they go `NotReady`, their pods are evicted after the toleration timeout, and replacement nodes
    with the same configuration never join.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    evictionSoft:
      memory.available: 1Gi
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    evictionSoft:
      memory.available: 1Gi
    evictionSoftGracePeriod:
      memory.available: 1m30s
    ```

    ## Fix
    Give every `evictionSoft` signal a grace period, use only the documented signal names, and write
    thresholds as positive quantities or percentages (`"0%"` switches a signal off).

    ## Source
    kubernetes/kubernetes pkg/kubelet/eviction/helpers.go (ParseThresholdConfig: "grace period must
    be specified for the soft eviction threshold", parseThresholdStatement), cmd/kubelet/app/server.go
    (parseResourceList: "cannot reserve"), pkg/kubelet/apis/config/validation/validation.go
    (enforceNodeAllocatable); K8s docs node-pressure-eviction.md, reserve-compute-resources.md.
    """
    flags = kubeadm_kubelet_flags(doc)
    if flags:  # kubeadm kubeletExtraArgs: the flags alone are judged
        settings: KubeletSettings | None = with_kubelet_flags(default_kubelet_settings(), flags)
    else:
        settings = _settings(doc)
    if settings is None:
        return
    for problem in settings.problems:
        yield Hit(
            message=f"{problem.message}: the kubelet refuses to start with this configuration, the node never "
            "becomes Ready.",
            fix="Correct the value (see `premortem explain KUB004` for what the kubelet accepts).",
            path=problem.path,
        )
    if flags or is_drop_in(doc):
        return  # the grace periods may live in another file of the directory
    for signal in settings.eviction_soft:
        if signal not in settings.eviction_soft_grace_period:
            yield Hit(
                message=(
                    f"evictionSoft {signal} has no evictionSoftGracePeriod: the kubelet exits at startup with "
                    f'"grace period must be specified for the soft eviction threshold {signal}".'
                ),
                fix=f'Add evictionSoftGracePeriod: {{{signal}: "1m30s"}}.',
                path=("evictionSoft", signal),
            )


SWAP_BEHAVIORS_V130 = ("", "NoSwap", "LimitedSwap")


@object_rule(
    "KUB005",
    "swap-behavior-removed",
    "kubelet",
    Severity.MEDIUM,
    "memorySwap.swapBehavior UnlimitedSwap: the kubelet refuses it from v1.30",
    kinds=[KUBELET_KIND],
)
def swap_behavior_removed(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    `KubeletConfiguration` documents with `memorySwap.swapBehavior: UnlimitedSwap`, or any value other
    than `""`, `NoSwap` or `LimitedSwap`. `UnlimitedSwap` existed in v1.28-v1.29 (NodeSwap beta, off
    by default); v1.30 replaced the values with `NoSwap` (the default) and `LimitedSwap`.
    `UnlimitedSwap` is `medium` when the scan targets v1.28-v1.29 (`--kubernetes-version`: it works
    until the upgrade) and `high` when it targets v1.30 or later (the default, the newest release):
    that kubelet refuses the configuration.

    ## Why it breaks clusters
    The configuration works until the upgrade: a v1.30+ kubelet validates `swapBehavior` against the
    new values and exits with "invalid configuration: memorySwap.swapBehavior ... must be one of".
    Each node the upgrade reaches stays `NotReady`, and its pods are evicted after the toleration
    timeout, so a rolling node upgrade becomes a rolling outage.

    ## Failing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    failSwapOn: false
    featureGates: {NodeSwap: true}
    memorySwap:
      swapBehavior: UnlimitedSwap
    ```

    ## Passing example
    ```yaml
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    kubeReserved: {memory: 1Gi}
    failSwapOn: false
    memorySwap:
      swapBehavior: LimitedSwap
    ```

    ## Fix
    Use `LimitedSwap` (Burstable pods may swap in proportion to their memory request) or `NoSwap`
    before upgrading the kubelet to v1.30.

    ## Source
    kubernetes/kubelet config/v1beta1/types.go @v0.29.0 vs @v0.30.0 (swapBehavior values);
    kubernetes/kubernetes pkg/kubelet/apis/config/validation/validation.go (swapBehavior "must be
    one of"); K8s docs reference/command-line-tools-reference/feature-gates/NodeSwap.md.
    """
    if not is_kubelet_configuration(doc) or not isinstance(doc.obj, dict):
        return
    swap = doc.obj.get("memorySwap")
    if not isinstance(swap, dict) or "swapBehavior" not in swap:
        return
    value = swap.get("swapBehavior")
    text = "" if value is None else str(value)
    if text in SWAP_BEHAVIORS_V130:
        return
    removed = text == "UnlimitedSwap"
    refused_now = removed and target_version() >= SWAP_VALUES_REPLACED  # --kubernetes-version
    yield Hit(
        message=(
            f"memorySwap.swapBehavior is {text!r}"
            + (
                f", a v1.28-v1.29 value: the {target_version()} kubelet this scan targets refuses it at startup, "
                "so the node stays NotReady."
                if refused_now
                else ", a v1.28-v1.29 value: from v1.30 the kubelet refuses it at startup, so the node upgrade "
                "leaves every upgraded node NotReady."
                if removed
                else ", which no kubelet accepts (v1.30+: NoSwap or LimitedSwap): it exits at startup."
            )
        ),
        fix="Set memorySwap.swapBehavior: LimitedSwap (or NoSwap).",
        path=("memorySwap", "swapBehavior"),
        severity=None if removed and not refused_now else Severity.HIGH,
    )
