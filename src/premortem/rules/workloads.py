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


@object_rule(
    "WRK004",
    "job-keeps-many-failed-pods",
    "workloads",
    Severity.LOW,
    "Job or CronJob that can leave hundreds of failed pods behind (restartPolicy Never, a large backoffLimit)",
    kinds=("Job", "CronJob"),
    params={
        "max_kept_pods": Param(
            100, "worst-case finished pods a Job or CronJob may keep before it is reported"
        ),
        "flood_pods": Param(
            1000, "from this many kept pods the finding is medium (API server and etcd load)"
        ),
    },
)
def job_keeps_many_failed_pods(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Jobs, and the Jobs of CronJobs, whose pods use `restartPolicy: Never`, counting the finished
    pods they may keep in the worst case: a failing Job creates a new pod for every failure until
    `backoffLimit` (default 6) is exceeded, so it keeps `backoffLimit + 1` failed pods per index
    (`completions` with `backoffLimitPerIndex`, else `parallelism`); a CronJob keeps
    `failedJobsHistoryLimit` (default 1) failed and `successfulJobsHistoryLimit` (default 3)
    successful Jobs with their pods. Low above `max_kept_pods` (100), medium from `flood_pods`
    (1000). With `restartPolicy: OnFailure` the kubelet restarts the container in the same pod, so
    failures add no pods and nothing is reported.

    ## Why it breaks clusters
    The Job controller keeps every failed pod it created (they count towards `backoffLimit`) until
    the Job itself is deleted: by the CronJob controller beyond the history limits, by
    `ttlSecondsAfterFinished`, or by hand. Each one is an object in etcd and in every client's
    watch cache, and its dead containers and logs stay on the node until the pod goes. A Job that
    keeps failing with a backoffLimit of thousands produces a pod every few minutes (the back-off
    is capped at 6 minutes) for days; several of them, or history limits kept high on a frequent
    CronJob, reach tens of thousands of pods, the pod floods in post-mortems where `kubectl get
    pods` times out, the API server runs out of memory listing them and the kube-controller-manager's
    pod garbage collector only starts at 12,500 terminated pods.

    ## Failing example
    ```yaml
    apiVersion: batch/v1
    kind: Job
    metadata: {name: import, namespace: data}
    spec:
      backoffLimit: 500
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: import
              image: registry.example.com/import:1.3.0
    ```

    ## Passing example
    ```yaml
    apiVersion: batch/v1
    kind: Job
    metadata: {name: import, namespace: data}
    spec:
      backoffLimit: 6
      ttlSecondsAfterFinished: 86400
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: import
              image: registry.example.com/import:1.3.0
    ```

    ## Fix
    Keep `backoffLimit` small (the default 6 already retries for about 10 minutes) and use a
    `podFailurePolicy` to stop early on errors a retry cannot fix (`action: FailJob` for an exit
    code), or `restartPolicy: OnFailure` when retrying in place is fine. Keep CronJob history limits
    small, and put a `ResourceQuota` on `count/pods` in namespaces that run batch work.

    ## Source
    kubernetes/kubernetes pkg/controller/job/job_controller.go (backoffLimit, failed pods kept,
    back-off capped at 6 minutes), pkg/controller/cronjob/cronjob_controllerv2.go
    (`cleanupFinishedJobs`), pkg/controller/podgc (terminated-pod-gc-threshold 12500); K8s docs
    concepts/workloads/controllers/job.md ("Pod backoff failure policy", "Pod failure policy",
    "TTL mechanism for finished Jobs") and cron-jobs.md ("Jobs history limits").
    """
    spec = _mapping(doc.obj, "spec")
    if doc.kind == "CronJob":
        job_spec = _mapping(spec, "jobTemplate", "spec")
        failed_jobs = _count(spec.get("failedJobsHistoryLimit"), 1)
        good_jobs = _count(spec.get("successfulJobsHistoryLimit"), 3)
    else:
        job_spec, failed_jobs, good_jobs = spec, 1, 0
    if _mapping(job_spec, "template", "spec").get("restartPolicy") != "Never":
        return
    backoff = _count(job_spec.get("backoffLimit"), 6)
    parallelism = _count(job_spec.get("parallelism"), 1)
    completions = _count(job_spec.get("completions"), 1)
    per_index = job_spec.get("backoffLimitPerIndex")
    if isinstance(per_index, int) and not isinstance(per_index, bool):
        failed_per_job = (per_index + 1) * completions
    else:
        failed_per_job = (backoff + 1) * parallelism
    kept = failed_jobs * failed_per_job + good_jobs * (backoff + completions)
    if kept <= job_keeps_many_failed_pods.param("max_kept_pods"):
        return
    flood = kept >= job_keeps_many_failed_pods.param("flood_pods")
    history = (
        f" and the CronJob keeps {failed_jobs} failed and {good_jobs} successful Jobs with their pods"
        if doc.kind == "CronJob"
        else ""
    )
    yield Hit(
        message=(
            f"restartPolicy Never with backoffLimit {backoff}: every failure creates a new pod and the failed ones are "
            f"kept until the Job is deleted{history}, up to {kept} finished pods in etcd, in every watch cache and on "
            "the nodes' disks while the Job keeps failing."
        ),
        fix="Lower backoffLimit (the default 6 retries for about 10 minutes), add a podFailurePolicy for errors a "
        "retry cannot fix, and keep history limits small.",
        path=("spec", "backoffLimit")
        if doc.kind == "Job"
        else ("spec", "jobTemplate", "spec", "backoffLimit"),
        severity=Severity.MEDIUM if flood else None,
        extra={"kept_pods": kept},
    )


def _count(value: Any, default: int) -> int:
    """A non-negative integer field, its API default when unset or not a number."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value
