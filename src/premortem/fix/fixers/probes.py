"""Fixers for the probe rules (PRB001, PRB002)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.paths import container_path, get, pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Op, Set
from premortem.load.document import Document
from premortem.model.podspec import pod_spec_at
from premortem.model.probes import LIVENESS, READINESS, Probe


@fixer("PRB002")
def larger_liveness_budget(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers PRB002 (liveness-same-as-readiness). Keeps the check and gives liveness twice readiness'
    failure budget: `periodSeconds` at least readiness' and `failureThreshold` raised until
    `periodSeconds x failureThreshold` is at least 2x readiness' budget (defaults 10 s and 3 counted).
    An overloaded pod then leaves the Service endpoints first (readiness) and has time to recover
    before the kubelet restarts it (liveness), instead of both firing together and cascading the load
    onto the other replicas. A cheaper liveness check (process alive, e.g. `/livez`) is better still,
    but only you can add that endpoint.
    """
    where = container_path(doc, pointer_path(finding), finding.container)
    pod = pod_spec_at(doc, pointer_path(finding))
    if where is None or pod is None:
        return
    view = next((c for c in pod.containers() if c.path == where), None)
    live_data = get(doc.obj, (*where, LIVENESS))
    ready_data = get(doc.obj, (*where, READINESS))
    if view is None or not isinstance(live_data, dict) or not isinstance(ready_data, dict):
        return
    liveness, readiness = Probe(LIVENESS, view, live_data), Probe(READINESS, view, ready_data)
    ready_budget, live_period, ready_period = readiness.failure_budget, liveness.period, readiness.period
    if (
        ready_budget is None
        or live_period is None
        or ready_period is None
        or liveness.failure_threshold is None
    ):
        yield Note("a probe timing field is not an integer; fix the probe by hand.")
        return
    period = max(live_period, ready_period)
    threshold = max(-(-2 * ready_budget // period), 1)
    if period * threshold <= (liveness.failure_budget or 0):
        return
    ops: list[Op] = []
    changes = []
    if period != live_period:
        ops.append(Set((*where, LIVENESS, "periodSeconds"), period))
        changes.append(f"periodSeconds {live_period} -> {period}")
    if threshold != liveness.failure_threshold:
        ops.append(Set((*where, LIVENESS, "failureThreshold"), threshold))
        changes.append(f"failureThreshold {liveness.failure_threshold} -> {threshold}")
    yield Fix(
        ops,
        f"liveness {', '.join(changes)}: liveness now gives up after {period * threshold} s, twice readiness' "
        f"{ready_budget} s, so an overloaded pod is taken out of the Service first and restarted only if it "
        "stays unresponsive. Better still, give liveness a cheaper check of its own (process alive).",
    )


@fixer("PRB001", edits=False)
def liveness_must_be_local(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers PRB001 (liveness-probe-crosses-network) with a note: no YAML edit makes a probe that tests
    a database or another service test this container instead. The endpoint (or command) must change:
    liveness should answer from the process alone (e.g. `/livez` returning 200 while the event loop or
    worker threads make progress, calling nothing else), and the dependency check belongs in
    `readinessProbe`, which only takes the pod out of the Service while the dependency is down.
    """
    yield Note(
        "not fixable in YAML: the probe itself must change. Serve a liveness endpoint that checks only this "
        "process (e.g. /livez answering 200 while its event loop or workers make progress, calling no database "
        "or service), point livenessProbe at it, and move the dependency check to readinessProbe, which only "
        "removes the pod from Service endpoints while the dependency is down."
    )
