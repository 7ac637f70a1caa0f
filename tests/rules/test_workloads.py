"""Batch workload rules: the cases beyond the documented examples."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity
from premortem.settings import Settings, use_settings


def cronjob(spec: str = "", job: str = "", pod: str = "", schedule: str = '"*/5 * * * *"') -> str:
    return f"""
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: ops}}
spec:
  schedule: {schedule}
{spec}  jobTemplate:
    spec:
{job}      template:
        spec:
{pod}          restartPolicy: Never
          containers:
            - name: report
              image: registry.example.com/report:1.0.0
              resources:
                requests: {{cpu: 250m, memory: 256Mi}}
"""


def findings(text: str, rule: str = "WRK001"):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


def test_frequent_allow_is_medium_with_the_numbers():
    [f] = findings(cronjob())
    assert f.severity == Severity.MEDIUM
    assert "every 5 minutes" in f.message and "288 a day" in f.message
    assert "cpu 250m and memory 256Mi" in f.message
    assert f.path == "/spec/jobTemplate/spec"
    assert f.extra["min_interval_seconds"] == 300


def test_rare_allow_is_low():
    [f] = findings(cronjob(schedule='"0 3 * * *"'))
    assert f.severity == Severity.LOW
    assert "at most once a day" in f.message


def test_forbid_is_low_and_says_the_schedule_stops():
    [f] = findings(cronjob(spec="  concurrencyPolicy: Forbid\n"))
    assert f.severity == Severity.LOW
    assert "JobAlreadyActive" in f.message


@pytest.mark.parametrize(
    "variant",
    [
        {"spec": "  concurrencyPolicy: Replace\n"},
        {"spec": "  suspend: true\n"},
        {"job": "      activeDeadlineSeconds: 600\n"},
        {"pod": "          activeDeadlineSeconds: 600\n"},
        {"schedule": '"{{ .Values.schedule }}"'},
        {"schedule": '"not a schedule"'},
    ],
)
def test_not_reported(variant):
    assert findings(cronjob(**variant)) == []


def test_threshold_is_a_parameter():
    settings = Settings(params={"WRK001": {"frequent_minutes": 1}})
    with use_settings(settings):
        [f] = findings(cronjob())
    assert f.severity == Severity.LOW


def test_pods_without_requests_are_said_so():
    text = cronjob().replace(
        "              resources:\n                requests: {cpu: 250m, memory: 256Mi}\n", ""
    )
    [f] = findings(text)
    assert "request nothing" in f.message


def test_batch_v1beta1_cronjob_is_read_too():
    [f] = findings(cronjob().replace("batch/v1", "batch/v1beta1"))
    assert f.rule == "WRK001"


def job(spec: str, restart: str = "Never", kind: str = "Job") -> str:
    if kind == "CronJob":
        return f"""
apiVersion: batch/v1
kind: CronJob
metadata: {{name: j, namespace: ops}}
spec:
  schedule: "0 * * * *"
{spec}  jobTemplate:
    spec:
      activeDeadlineSeconds: 600
      backoffLimit: 40
      template:
        spec:
          restartPolicy: {restart}
          containers: [{{name: c, image: registry.example.com/c:1.0.0}}]
"""
    return f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: j, namespace: ops}}
spec:
{spec}  template:
    spec:
      restartPolicy: {restart}
      containers: [{{name: c, image: registry.example.com/c:1.0.0}}]
"""


@pytest.mark.parametrize(
    ("text", "kept", "severity"),
    [
        (job("  backoffLimit: 200\n"), 201, Severity.LOW),
        (job("  backoffLimit: 200\n  parallelism: 10\n"), 2010, Severity.MEDIUM),
        (job("  completions: 50\n  completionMode: Indexed\n  backoffLimitPerIndex: 3\n"), 200, Severity.LOW),
        (
            job("  failedJobsHistoryLimit: 5\n  successfulJobsHistoryLimit: 10\n", kind="CronJob"),
            615,
            Severity.LOW,
        ),
    ],
    ids=["backoff", "parallel", "per-index", "cron-history"],
)
def test_wrk004_counts_the_kept_pods(text, kept, severity):
    [f] = findings(text, "WRK004")
    assert f.extra["kept_pods"] == kept and f.severity == severity


@pytest.mark.parametrize(
    "text",
    [
        job(""),
        job("  backoffLimit: 200\n", restart="OnFailure"),
        job("", kind="CronJob").replace("backoffLimit: 40", "backoffLimit: 6"),
    ],
    ids=["defaults", "on-failure", "cron-defaults"],
)
def test_wrk004_quiet(text):
    assert findings(text, "WRK004") == []
