"""Pods as ``kubectl get pod -o yaml|json`` prints them (a Pod, a List of Pods, or only its
``status:`` block pasted alone): the pod-level ``reason``/``message`` of an evicted pod and each
container's ``state``/``lastState`` (``terminated.reason: OOMKilled``, ``waiting.reason:
CrashLoopBackOff``...). Each fact becomes one record, the way ``describe`` facts do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_WAITING = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"}


@dataclass
class Fact:
    reason: str
    message: str
    namespace: str | None
    pod: str | None
    node: str | None
    container: str | None = None
    exit_code: int | None = None
    restarts: int | None = None
    finished: str | None = None


def _pods(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    if "containerStatuses" in doc or "initContainerStatuses" in doc:  # a status block's members alone
        return [{"status": doc}]
    if doc.get("kind") == "Pod" or (set(doc) == {"status"} or ("status" in doc and "spec" in doc)):
        return [doc]
    items = doc.get("items")
    if isinstance(items, list):
        return [i for i in items if isinstance(i, dict) and i.get("kind", "Pod") == "Pod" and "status" in i]
    return []


def facts(doc: Any) -> list[Fact] | None:
    """The failures a pod document reports, or None when the document holds no pod at all."""
    pods = _pods(doc)
    if not pods:
        return None
    out: list[Fact] = []
    for pod in pods:
        out.extend(_facts(pod))
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _facts(pod: dict[str, Any]) -> Iterator[Fact]:
    meta, spec, status = _dict(pod.get("metadata")), _dict(pod.get("spec")), _dict(pod.get("status"))
    name, ns = meta.get("name"), meta.get("namespace")
    node = spec.get("nodeName")
    if status.get("reason") == "Evicted":
        yield Fact("Evicted", str(status.get("message") or ""), ns, name, node)
    for key in ("initContainerStatuses", "containerStatuses"):
        for c in status.get(key) or []:
            if not isinstance(c, dict):
                continue
            restarts = c.get("restartCount") if isinstance(c.get("restartCount"), int) else None
            for state_key in ("state", "lastState"):
                state = _dict(c.get(state_key))
                terminated, waiting = _dict(state.get("terminated")), _dict(state.get("waiting"))
                if terminated.get("reason") == "OOMKilled":
                    code = terminated.get("exitCode")
                    yield Fact(
                        "OOMKilled",
                        f"State: Terminated, Reason: OOMKilled, Exit Code: {code}",
                        ns,
                        name,
                        node,
                        str(c.get("name") or "") or None,
                        code if isinstance(code, int) else None,
                        restarts,
                        terminated.get("finishedAt"),
                    )
                if waiting.get("reason") in _WAITING:
                    yield Fact(
                        str(waiting["reason"]),
                        f"State: Waiting, Reason: {waiting['reason']}. {waiting.get('message') or ''}".strip(),
                        ns,
                        name,
                        node,
                        str(c.get("name") or "") or None,
                        None,
                        restarts,
                    )
