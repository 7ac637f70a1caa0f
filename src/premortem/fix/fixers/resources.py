"""Fixers for the resources rules (RES001, RES002, RES005)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from premortem.findings import Finding
from premortem.fix.paths import container_path, get, pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Delete, Op, Set, apply_to_object
from premortem.load.document import Document
from premortem.model.index import ObjectIndex
from premortem.model.limitrange import CACHE_KEY as LIMIT_RANGES
from premortem.model.pdb import peak_replicas
from premortem.model.podspec import replicas_of
from premortem.model.quantity import QuantityError, format_bytes, format_millicores, to_bytes, to_millicores
from premortem.model.resources import GUARANTEED, resources_of
from premortem.rules.resources import memory_request_below_limit


@fixer("RES002")
def request_equals_limit(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers RES002 (memory-request-below-limit). Sets `requests.memory` to the container's
    `limits.memory`, written exactly as the limit is: what the finding names, and nothing else. The
    scheduler then reserves what the kernel may be asked for. The message gives the new scheduling
    footprint per pod and across the cluster at peak (an HPA's `maxReplicas` where one targets the
    workload, else `replicas`), so the capacity cost of the fix is visible before it is merged.

    Raising `requests.cpu` to `limits.cpu` as well (which makes the pod Guaranteed, `oom_score_adj`
    -997, when every container has both limits) is an opt-in: the rule parameter `fix_cpu`
    (`params: {RES002: {fix_cpu: true}}` in the configuration). It can multiply the cpu the scheduler
    reserves (knative's autoscaler would go from 100m to 1 cpu per pod), and a cpu request is a
    statement about the workload premortem cannot make for you.
    """
    where = container_path(doc, pointer_path(finding), finding.container)
    container = get(doc.obj, where) if where is not None else None
    if where is None or not isinstance(container, dict):
        yield Note("could not find the container this finding is about; fix it by hand.")
        return
    resources = container.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if not isinstance(limits, dict) or "memory" not in limits:
        if finding.extra.get("limit_bytes") and "LimitRange" in finding.message:
            yield Note(
                "the limit (or request) comes from a LimitRange, not from this manifest: set requests.memory "
                "on the container, or change the LimitRange's defaultRequest to its default."
            )
        return  # fixed already (by an earlier edit of this run)
    wanted: list[tuple[str, Callable[[Any], int], Callable[[int], str]]] = [
        ("memory", to_bytes, format_bytes)
    ]
    if memory_request_below_limit.param("fix_cpu"):
        wanted.append(("cpu", to_millicores, format_millicores))
    base = (*where, "resources")
    ops: list[Op] = []
    changes: list[str] = []
    for resource, convert, fmt in wanted:
        if resource not in limits:
            continue
        try:
            limit = convert(limits[resource])
            current = requests.get(resource) if isinstance(requests, dict) else None
            request = convert(current) if current is not None else limit
        except QuantityError:
            continue  # INP003 reports it; nothing sound to copy
        if request >= limit:
            continue
        ops.append(Set((*base, "requests", resource), limits[resource]))
        changes.append(f"requests.{resource} {fmt(request)} -> {fmt(limit)}")
    if not ops:
        return
    after = copy.deepcopy(doc.obj)
    for op in ops:
        apply_to_object(after, op)
    yield Fix(ops, f"{', '.join(changes)} ({container.get('name')}): {footprint(doc, after, ctx)}")


@fixer("RES001", edits=False)
def best_effort(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers RES001 (best-effort-pod) with a note, not an edit. Requests are a statement about the
    workload's real usage; any number premortem wrote would be invented, and a wrong request is worse
    than none (too low: the node is overcommitted; too high: pods stay Pending). Measure usage
    (`kubectl top pod`, the p95 of container_memory_working_set_bytes), then set requests and a memory
    limit; `premortem explain RES001` shows a passing example.
    """
    yield Note(
        "not fixable automatically: premortem cannot know how much cpu and memory this workload uses, and "
        "invented requests are worse than none. Measure it (kubectl top pod, or the p95 of "
        "container_memory_working_set_bytes), then set requests and limits.memory = requests.memory; "
        "see `premortem explain RES001`."
    )


def footprint(before: Document, after_obj: dict[str, Any], ctx: FixContext | None = None) -> str:
    """'the pod stays Burstable ...; the scheduler now reserves cpu X, memory Y per pod (x N at peak: ...)'."""
    after = Document(after_obj, before.file, before.line)
    if LIMIT_RANGES in before.cache:  # what the namespace's LimitRanges add is the same after the edit
        after.cache[LIMIT_RANGES] = before.cache[LIMIT_RANGES]
    res = resources_of(after)
    if res is None:
        return "done."
    cpu = res.requests.get("cpu", 0)
    memory = res.requests.get("memory", 0)
    text = f"the scheduler now reserves cpu {format_millicores(cpu)}, memory {format_bytes(memory)} per pod"
    replicas, hpa = _peak(before, ctx)
    if replicas is not None and replicas != 1:
        scale = (
            f"x{replicas} at peak (HPA {hpa.ref.name} maxReplicas)"
            if hpa is not None
            else f"x{replicas} replicas"
        )
        text += (
            f" ({scale}: cpu {format_millicores(cpu * replicas)}, memory {format_bytes(memory * replicas)})"
        )
    if res.qos == GUARANTEED:
        qos = "the pod is now Guaranteed (oom_score_adj -997)"
    else:
        missing = [
            f"{c.container.name or f'#{c.container.index}'} has no "
            + " or ".join(r for r in ("cpu", "memory") if c.limit(r) is None)
            + " limit"
            for c in res.containers
            if c.limit("cpu") is None or c.limit("memory") is None
        ]
        unequal = [
            f"{c.container.name or f'#{c.container.index}'} requests less cpu than its limit"
            for c in res.containers
            if c.limit("cpu") is not None and c.request("cpu") < (c.limit("cpu") or 0)
        ]
        reasons = missing + unequal
        qos = f"the pod stays {res.qos}" + (f" ({'; '.join(reasons)})" if reasons else "")
    return f"{qos}; {text}."


def _peak(doc: Document, ctx: FixContext | None) -> tuple[int | None, Document | None]:
    """Replicas at peak (HPA maxReplicas where one is read), looked up among the documents of the run."""
    if ctx is None or not ctx.documents:
        return replicas_of(doc), None
    index = ctx.cache.get("resources_index")
    if index is None:
        index = ctx.cache["resources_index"] = ObjectIndex.build(ctx.documents)
    current = next(
        (
            d
            for d in ctx.documents
            if (d.file, d.doc_index, d.item_index) == (doc.file, doc.doc_index, doc.item_index)
        ),
        doc,
    )
    return peak_replicas(current, index)


@fixer("RES005")
def drop_cpu_limit(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers RES005 (cpu-limit-throttles). Deletes the container's `limits.cpu` and keeps its cpu
    request (where the request was only defaulted from the limit, the limit's value is written as the
    request, so the scheduling footprint does not change). Held back unless `--unsafe-fixes`: it
    removes a cap some teams keep on purpose (noisy neighbours, cost). A Guaranteed pod is a note:
    without the limit it would become Burstable (its containers lose `oom_score_adj` -997 and
    exclusive cores under the static CPU manager), a trade premortem does not make for you.
    """
    where = container_path(doc, pointer_path(finding), finding.container)
    container = get(doc.obj, where) if where is not None else None
    resources = container.get("resources") if isinstance(container, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if (
        where is None
        or not isinstance(container, dict)
        or not isinstance(limits, dict)
        or "cpu" not in limits
    ):
        return
    before = resources_of(doc)
    if before is not None and before.qos == GUARANTEED:
        yield Note(
            "the pod is Guaranteed: without the cpu limit it becomes Burstable (oom_score_adj -997 and exclusive "
            "cores under the static CPU manager are lost). Decide which matters more, then remove limits.cpu or "
            "give it whole cores by hand."
        )
        return
    requests = resources.get("requests") if isinstance(resources, dict) else None
    limits_path = (*where, "resources", "limits")
    # Deleting the only key would leave `limits:` null; remove the whole mapping instead.
    ops: list[Op] = [Delete(limits_path if set(limits) == {"cpu"} else (*limits_path, "cpu"))]
    if not isinstance(requests, dict) or "cpu" not in requests:
        ops.insert(0, Set((*where, "resources", "requests", "cpu"), limits["cpu"]))
    yield Fix(
        ops,
        f"limits.cpu {limits['cpu']} removed ({container.get('name')}): the container may burst into idle CPU and "
        "is held to its request's share under contention.",
        unsafe="it removes a cap you may keep on purpose (noisy neighbours, cost).",
    )
