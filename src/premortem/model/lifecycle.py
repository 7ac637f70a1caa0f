"""Pod termination as the kubelet runs it: the grace period, the preStop hook, and how long it sleeps.

On deletion the kubelet runs each container's preStop hook, then sends SIGTERM, then SIGKILL when the
pod's ``terminationGracePeriodSeconds`` (default 30) has run out. The hook counts against the grace
period; when it runs past it, the container still gets SIGTERM and ``minimumGracePeriodInSeconds``
(2 s) before SIGKILL (kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go
``killContainer``). The ``sleep`` action (KEP-3960: alpha v1.29, beta and on by default v1.30, GA
v1.34) must be at most the grace period, or the API server rejects the pod
(pkg/apis/core/validation ``validateSleepAction``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from premortem.load.document import Path
from premortem.model.kubeversion import KubeVersion
from premortem.model.podspec import ContainerView, PodSpecView

DEFAULT_GRACE_SECONDS = 30
MINIMUM_GRACE_SECONDS = 2
SLEEP_ACTION_SINCE = KubeVersion(1, 30)  # beta, on by default
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s?$")
_SHELL_SLEEP = re.compile(r"(?:^|[\s;&|(])(?:/usr)?(?:/bin/)?sleep\s+(\d+(?:\.\d+)?)s?(?=$|[\s;&|)])")


@dataclass(frozen=True, slots=True)
class PreStop:
    handler: str  # "sleep", "exec", "httpGet", "tcpSocket" or "" (unknown)
    sleep_seconds: float | None  # how long it sleeps, when the manifest says
    path: Path


def grace_seconds(pod: PodSpecView) -> int | None:
    """The pod's termination grace period (the API default when unset; None when not a number)."""
    value = pod.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    if value is None:
        return DEFAULT_GRACE_SECONDS
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def pre_stop(container: ContainerView) -> PreStop | None:
    hook = container.field("lifecycle", "preStop")
    if not isinstance(hook, dict):
        return None
    path = (*container.path, "lifecycle", "preStop")
    sleep = hook.get("sleep")
    if isinstance(sleep, dict):
        seconds = sleep.get("seconds")
        number = float(seconds) if isinstance(seconds, int) and not isinstance(seconds, bool) else None
        return PreStop("sleep", number, (*path, "sleep", "seconds"))
    exec_ = hook.get("exec")
    if isinstance(exec_, dict):
        return PreStop("exec", _exec_sleep(exec_.get("command")), (*path, "exec"))
    for handler in ("httpGet", "tcpSocket"):
        if handler in hook:
            return PreStop(handler, None, (*path, handler))
    return PreStop("", None, path)


def _exec_sleep(command: Any) -> float | None:
    """Seconds slept by ``sleep N`` in an exec command (a word list, or a shell script in it)."""
    if not isinstance(command, list):
        return None
    words = [str(w) for w in command]
    found: list[float] = []
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] == "sleep" and i + 1 < len(words):
            seconds = _SECONDS.match(words[i + 1])
            if seconds:
                found.append(float(seconds.group(1)))
        found.extend(float(m) for m in _SHELL_SLEEP.findall(word) if " " in word)
    return max(found) if found else None
