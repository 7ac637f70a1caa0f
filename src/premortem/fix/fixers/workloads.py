"""Fixers for the workload rules (WRK001 CronJob deadline, WRK002 preStop delay, WRK003 grace period)."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.paths import container_path, get, pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Set
from premortem.load.document import Document
from premortem.model.cron import ScheduleError, cadence
from premortem.model.kubeversion import target_version
from premortem.model.lifecycle import DEFAULT_GRACE_SECONDS, SLEEP_ACTION_SINCE, grace_seconds, pre_stop
from premortem.model.podspec import pod_spec_of

PRESTOP_SLEEP_SECONDS = 5
SHUTDOWN_ALLOWANCE_SECONDS = 15


@fixer("WRK001")
def cronjob_deadline(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers WRK001 (cronjob-runs-without-deadline). Sets `spec.jobTemplate.spec.activeDeadlineSeconds`
    to 80% of the shortest interval between two runs (at least 60 s): a hung run is then ended by
    the Job controller (`DeadlineExceeded`) before the next one starts, so runs no longer pile up
    (`Allow`) or block the schedule (`Forbid`). Held back unless `--unsafe-fixes`: a run that
    legitimately takes longer than that is killed too; set the deadline to the longest honest run
    instead if you know it.
    """
    spec = doc.obj.get("spec") if isinstance(doc.obj, dict) else None
    schedule = spec.get("schedule") if isinstance(spec, dict) else None
    if not isinstance(schedule, str):
        yield Note("the schedule is not a string; set spec.jobTemplate.spec.activeDeadlineSeconds by hand.")
        return
    try:
        every = cadence(schedule)
    except ScheduleError:
        yield Note("the schedule cannot be read; set spec.jobTemplate.spec.activeDeadlineSeconds by hand.")
        return
    job_spec = get(doc.obj, ("spec", "jobTemplate", "spec"))
    if not isinstance(job_spec, dict) or job_spec.get("activeDeadlineSeconds") is not None:
        return
    deadline = max(60, int(every.min_interval_seconds * 0.8))
    yield Fix(
        [Set(("spec", "jobTemplate", "spec", "activeDeadlineSeconds"), deadline)],
        f"activeDeadlineSeconds: {deadline} (80% of the shortest interval, {every.describe()}): the Job controller "
        "ends a hung run before the next one is due.",
        unsafe=(
            f"a run that honestly takes longer than {deadline} s is killed too; set the deadline to the longest "
            "run you expect if you know it."
        ),
    )


@fixer("WRK002")
def prestop_sleep(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers WRK002 (no-prestop-delay-behind-service). Adds `lifecycle.preStop.sleep.seconds: 5` to the
    serving container: the kubelet itself sleeps (no `sleep` binary needed in the image) before it
    sends SIGTERM, so the endpoint is gone from kube-proxy, ingress controllers and load balancers
    before the application stops listening. The `sleep` action needs Kubernetes v1.30 (beta, on by
    default; GA in v1.34): for an older `--kubernetes-version` it is a note. A grace period too short
    to hold the sleep and a shutdown is a note too.
    """
    where = container_path(doc, pointer_path(finding), finding.container)
    pod = pod_spec_of(doc)
    if where is None or pod is None:
        yield Note("could not find the container this finding is about; fix it by hand.")
        return
    view = next((c for c in pod.containers() if c.path == where), None)
    if view is None or pre_stop(view) is not None:
        return
    if target_version() < SLEEP_ACTION_SINCE:
        yield Note(
            f"the preStop sleep action needs Kubernetes {SLEEP_ACTION_SINCE} (the target is {target_version()}): add "
            "lifecycle.preStop.exec.command: [sleep, '5'] by hand if the image has a sleep binary."
        )
        return
    grace = grace_seconds(pod)
    if grace is None or grace < PRESTOP_SLEEP_SECONDS + 5:
        yield Note(
            f"terminationGracePeriodSeconds is {grace}: too short for a {PRESTOP_SLEEP_SECONDS} s preStop sleep and a "
            "shutdown; raise it, then add lifecycle.preStop.sleep.seconds."
        )
        return
    yield Fix(
        [Set((*where, "lifecycle", "preStop"), {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}})],
        f"preStop sleep {PRESTOP_SLEEP_SECONDS} s on container {view.name!r}: SIGTERM now comes after the endpoint "
        f"has left the load balancers; the grace period ({grace} s) still covers the shutdown.",
    )


@fixer("WRK003")
def longer_grace_period(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers WRK003 (prestop-outlasts-grace-period). Sets the pod's `terminationGracePeriodSeconds` to
    the longest preStop sleep plus 15 s, so SIGTERM arrives with time left for the application's own
    shutdown instead of 2 s before SIGKILL. Pods take up to that much longer to terminate in
    rollouts and drains.
    """
    pod = pod_spec_of(doc)
    if pod is None:
        return
    sleeps = [h.sleep_seconds for c in pod.containers() if (h := pre_stop(c)) and h.sleep_seconds is not None]
    grace = grace_seconds(pod)
    if not sleeps or grace is None:
        return
    wanted = int(max(sleeps)) + SHUTDOWN_ALLOWANCE_SECONDS
    if grace >= wanted:
        return
    old = grace if "terminationGracePeriodSeconds" in pod.spec else f"{DEFAULT_GRACE_SECONDS} (default)"
    yield Fix(
        [Set((*pod.path, "terminationGracePeriodSeconds"), wanted)],
        f"terminationGracePeriodSeconds {old} -> {wanted}: the preStop sleep of {max(sleeps):g} s leaves "
        f"{SHUTDOWN_ALLOWANCE_SECONDS} s for the shutdown after SIGTERM.",
    )
