"""Priority and preemption rules: class resolution, refused classes, batch over serving, kube-system."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.findings import Severity


def pclass(name: str, value: int, extra: str = "") -> str:
    return f"""
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: {name}}}
value: {value}
{extra}"""


def workload(kind: str, name: str, pod_extra: str = "", namespace: str = "apps") -> str:
    if kind == "CronJob":
        return f"""
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      activeDeadlineSeconds: 600
      template:
        spec:
{pod_extra}          restartPolicy: Never
          containers: [{{name: c, image: registry.example.com/c:1.0.0}}]
"""
    group = "batch/v1" if kind == "Job" else "apps/v1"
    return f"""
---
apiVersion: {group}
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
{pod_extra}      containers: [{{name: c, image: registry.example.com/c:1.0.0}}]
"""


def found(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (pclass("huge", 1_000_000_001), "/value"),
        (pclass("system-mine", 10), "/metadata/name"),
        (pclass("system-node-critical", 5), "/metadata/name"),
        (pclass("a", 1, "globalDefault: true\n") + pclass("b", 2, "globalDefault: true\n"), "/globalDefault"),
    ],
    ids=["value", "system-prefix", "system-wrong-value", "two-defaults"],
)
def test_sch004_refused(text, field):
    [f] = found(text, "SCH004")
    assert f.path == field and f.severity == Severity.HIGH


@pytest.mark.parametrize(
    "text",
    [
        pclass("max", 1_000_000_000),
        pclass("system-node-critical", 2_000_001_000),
        pclass("a", 1, "globalDefault: true\n") + pclass("a", 1, "globalDefault: true\n"),
    ],
    ids=["at-limit", "builtin-copy", "same-default-twice"],
)
def test_sch004_accepted(text):
    assert found(text, "SCH004") == []


def test_sch005_names_the_victims_and_the_class():
    text = (
        pclass("batch", 1000)
        + workload("Job", "backfill", "      priorityClassName: batch\n")
        + workload("Deployment", "api")
    )
    [f] = found(text, "SCH005")
    assert "priority 1000 (PriorityClass batch" in f.message
    assert "Deployment api (0, no priority class)" in f.message
    assert f.extra["victims"] == ["api"]


def test_sch005_global_default_lifts_unclassed_batch_over_a_low_serving_class():
    text = (
        pclass("default-high", 5000, "globalDefault: true\n")
        + pclass("serving-low", 100)
        + workload("CronJob", "report")
        + workload("Deployment", "api", "      priorityClassName: serving-low\n")
    )
    [f] = found(text, "SCH005")
    assert "globalDefault PriorityClass default-high" in f.message


@pytest.mark.parametrize(
    "text",
    [
        pclass("batch", 1000, "preemptionPolicy: Never\n")
        + workload("Job", "backfill", "      priorityClassName: batch\n")
        + workload("Deployment", "api"),
        workload("Job", "backfill", "      priorityClassName: elsewhere\n") + workload("Deployment", "api"),
        pclass("batch", 1000)
        + pclass("web", 2000)
        + workload("Job", "backfill", "      priorityClassName: batch\n")
        + workload("Deployment", "api", "      priorityClassName: web\n"),
    ],
    ids=["never", "unknown-class", "serving-higher"],
)
def test_sch005_quiet(text):
    assert found(text, "SCH005") == []


def test_sch006_daemonset_and_dns_medium_other_deployments_and_custom_low():
    text = (
        workload("DaemonSet", "agent", namespace="kube-system")
        + workload("Deployment", "coredns", namespace="kube-system")
        + workload("Deployment", "dashboard", namespace="kube-system")
        + pclass("infra", 1_000_000)
        + workload("Deployment", "metrics", "      priorityClassName: infra\n", namespace="kube-system")
        + workload(
            "DaemonSet", "proxy", "      priorityClassName: system-node-critical\n", namespace="kube-system"
        )
        + workload("DaemonSet", "user-agent", namespace="monitoring")
    )
    by_name = {f.object.name: f for f in found(text, "SCH006")}
    assert set(by_name) == {"agent", "coredns", "dashboard", "metrics"}
    assert by_name["agent"].severity == Severity.MEDIUM and "system-node-critical" in by_name["agent"].fix
    assert (
        by_name["coredns"].severity == Severity.MEDIUM and "system-cluster-critical" in by_name["coredns"].fix
    )
    assert by_name["dashboard"].severity == Severity.LOW
    assert by_name["metrics"].severity == Severity.LOW


def test_a_global_default_from_an_unrelated_folder_does_not_apply():
    from premortem.engine import scan
    from premortem.load.reader import load_text

    a = load_text(pclass("default-high", 5000, "globalDefault: true\n"), "platform/classes.yaml")
    b = load_text(
        workload("CronJob", "report")
        + workload("Deployment", "api", "      priorityClassName: low\n")
        + pclass("low", 1),
        "team/app.yaml",
    )
    a.documents.extend(b.documents)
    assert [f for f in scan(a).findings if f.rule == "SCH005"] == []
    near = load_text(pclass("default-high", 5000, "globalDefault: true\n"), "team/classes.yaml")
    near.documents.extend(b.documents)
    assert len([f for f in scan(near).findings if f.rule == "SCH005"]) == 1
