"""Batch workloads: what the CronJob and Job controllers do when a run hangs or keeps failing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.cron import Cadence, ScheduleError, cadence
from premortem.model.quantity import format_bytes, format_millicores
from premortem.model.resources import resources_of
from premortem.rules.registry import Hit, Param, object_rule

ALLOW = "Allow"
FORBID = "Forbid"
REPLACE = "Replace"


def _mapping(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _per_run(doc: Document) -> str:
    """What one run holds while it runs: its pods' requests, as the scheduler counts them."""
    res = resources_of(doc)
    if res is None:
        return ""
    cpu, memory = res.requests.get("cpu", 0), res.requests.get("memory", 0)
    if not cpu and not memory:
        return (
            "pods that request nothing, so the scheduler keeps packing them onto nodes that are already busy"
        )
    return f"a pod requesting cpu {format_millicores(cpu)} and memory {format_bytes(memory)}"


@object_rule(
    "WRK001",
    "cronjob-runs-without-deadline",
    "workloads",
    Severity.MEDIUM,
    "CronJob runs have no deadline: a hung run piles up copies (Allow) or stops the schedule (Forbid)",
    kinds=("CronJob",),
    params={
        "frequent_minutes": Param(
            10, "a CronJob allowing concurrent runs that fires at least this often is medium, otherwise low"
        )
    },
)
def cronjob_runs_without_deadline(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    CronJobs (not suspended) whose Jobs have no `activeDeadlineSeconds`, neither in
    `spec.jobTemplate.spec` nor in the pod template, and whose `concurrencyPolicy` is `Allow` (the
    default) or `Forbid`. `Replace` is not reported: the next run deletes a hung one, which is a
    deadline of one schedule interval. The severity follows how often the schedule fires: with
    `Allow`, medium when runs can be `frequent_minutes` (10) or less apart, low otherwise; with
    `Forbid`, low.

    Deliberately not checked: a missing `startingDeadlineSeconds`. The CronJob controller v2 (the
    only one since Kubernetes v1.21) starts the most recent missed schedule even after more than 100
    missed ones, and only records a `TooManyMissedTimes` warning event. The documentation's "it does
    not start the job" describes the v1 controller that was removed.

    ## Why it breaks clusters
    A run hangs more often than it fails: a dead TCP peer without a timeout, a lock that is never
    released, a prompt waiting on stdin. Nothing ends it: a Job without `activeDeadlineSeconds` runs
    until its pods exit, and `backoffLimit` only counts failures. What the CronJob controller does
    at the next scheduled time depends on `concurrencyPolicy`:
    - `Allow` creates another Job beside the hung one, at every schedule. A run every 5 minutes is
      12 Jobs an hour and 288 a day, each holding its pods' cpu and memory requests on a node. The
      namespace fills with Running pods, the scheduler runs out of room and other workloads' pods
      stay Pending; cluster stories tell of API servers and etcd going down under the object count.
    - `Forbid` skips every later run (event `JobAlreadyActive`) while the hung Job is active: the
      work silently stops (no backup, no report) until someone deletes the Job.

    ## Failing example
    ```yaml
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: sync-orders, namespace: shop}
    spec:
      schedule: "*/5 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: sync
                  image: registry.example.com/sync:2.3.1
                  resources:
                    requests: {cpu: 500m, memory: 512Mi}
                    limits: {memory: 512Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: sync-orders, namespace: shop}
    spec:
      schedule: "*/5 * * * *"
      concurrencyPolicy: Forbid
      jobTemplate:
        spec:
          activeDeadlineSeconds: 240
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: sync
                  image: registry.example.com/sync:2.3.1
                  resources:
                    requests: {cpu: 500m, memory: 512Mi}
                    limits: {memory: 512Mi}
    ```

    ## Fix
    Set `spec.jobTemplate.spec.activeDeadlineSeconds` to the longest a run may honestly take (below
    the schedule interval when runs must not overlap): the Job controller then terminates the run's
    pods and marks the Job failed (`DeadlineExceeded`). Add `concurrencyPolicy: Forbid` when two runs
    must never overlap. A `ResourceQuota` on `count/pods` in the namespace caps what any runaway
    controller can create.

    ## Source
    kubernetes/kubernetes pkg/controller/cronjob/cronjob_controllerv2.go (`syncCronJob`:
    concurrencyPolicy, `MissSchedule`, `JobAlreadyActive`) and utils.go (`mostRecentScheduleTime`:
    more than 100 missed schedules only raise `TooManyMissedTimes`), pkg/controller/job/job_controller.go
    (activeDeadlineSeconds, `DeadlineExceeded`); K8s docs concepts/workloads/controllers/cron-jobs.md
    and job.md ("Job termination and cleanup"); concepts/policy/resource-quotas.md (object count quota).
    """
    spec = _mapping(doc.obj, "spec")
    if not spec or spec.get("suspend") is True:
        return
    policy = spec.get("concurrencyPolicy") or ALLOW
    if policy not in (ALLOW, FORBID):
        return
    job_spec = _mapping(spec, "jobTemplate", "spec")
    pod_spec = _mapping(job_spec, "template", "spec")
    if job_spec.get("activeDeadlineSeconds") is not None or pod_spec.get("activeDeadlineSeconds") is not None:
        return
    schedule = spec.get("schedule")
    if not isinstance(schedule, str):
        return
    try:
        every = cadence(schedule)
    except ScheduleError:
        return  # not a schedule the controller can read (a template placeholder, or rejected)
    policy_text = (
        "concurrencyPolicy Allow (the default)"
        if "concurrencyPolicy" not in spec
        else f"concurrencyPolicy {policy}"
    )
    path = ("spec", "jobTemplate", "spec")
    if policy == FORBID:
        yield Hit(
            message=(
                f"CronJob runs {every.describe()} with {policy_text} and its Jobs have no activeDeadlineSeconds: "
                "when one run hangs, the controller skips every later schedule (event JobAlreadyActive) until "
                "someone deletes the hung Job, so the work silently stops."
            ),
            fix=_fix(every),
            path=path,
            severity=Severity.LOW,
            extra={"min_interval_seconds": every.min_interval_seconds},
        )
        return
    frequent = every.min_interval_seconds <= 60 * cronjob_runs_without_deadline.param("frequent_minutes")
    per_run = _per_run(doc)
    runs_per_day = every.runs_per_day
    yield Hit(
        message=(
            f"CronJob runs {every.describe()} with {policy_text} and its Jobs have no activeDeadlineSeconds: "
            f"when a run hangs, the controller starts the next one beside it at every schedule "
            f"(up to {runs_per_day:g} a day){', each with ' + per_run if per_run else ''}. Hung runs pile up "
            "until the namespace's pods fill the nodes and other workloads' pods stay Pending."
        ),
        fix=_fix(every),
        path=path,
        severity=None if frequent else Severity.LOW,
        extra={"min_interval_seconds": every.min_interval_seconds, "runs_per_day": runs_per_day},
    )


def _fix(every: Cadence) -> str:
    deadline = max(60, int(every.min_interval_seconds * 0.8))
    return (
        f"Set spec.jobTemplate.spec.activeDeadlineSeconds to the longest a run may take (e.g. {deadline}, below "
        "the schedule interval), and concurrencyPolicy: Forbid if runs must not overlap."
    )
