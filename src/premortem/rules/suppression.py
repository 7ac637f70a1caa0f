"""Suppressions that need attention. Raised by the triage stage (premortem/triage), after the rules:
registered here for ``premortem rules`` and ``explain``, and so that their examples are executed."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Severity
from premortem.rules.registry import Hit, load_rule


@load_rule("SUP001", "suppression-without-reason", "input", Severity.LOW, "Suppression that gives no reason")
def suppression_without_reason(_: object) -> Iterator[Hit]:
    """## What it checks
    A suppression that does not say why: an `ignore.premortem.dev/<RULE>` annotation with an empty
    value, a `# premortem: ignore RULE` comment without `-- reason`. The suppression still applies;
    this finding asks for the reason.

    ## Why it breaks clusters
    A suppression turns a risk premortem can explain into one nobody sees again. Without a reason the
    next engineer cannot tell an accepted, understood risk (a batch Job that may be OOM-killed and
    retried) from one that was silenced to get a pipeline green, and the cluster does not care which
    it was: the OOM kill, the hung drain or the restart loop happens all the same. The reason is
    also what SARIF carries as the suppression's `justification` to code-scanning dashboards.

    It is `low` by default (it changes nothing in the cluster); teams that want every accepted risk
    explained make it fail CI with `severity: {SUP001: high}` in `.premortem.yaml`.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: batch
      annotations:
        ignore.premortem.dev/RES001: ""
    spec:
      containers:
        - name: main
          image: registry.example.com/batch:1.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: batch
      annotations:
        ignore.premortem.dev/RES001: "one-off migration run by hand; eviction only delays it"
    spec:
      containers:
        - name: main
          image: registry.example.com/batch:1.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    ```

    ## Fix
    Write the reason as the annotation's value, or after ` -- ` in the comment:
    `# premortem: ignore RES003 -- batch job, an OOM kill only retries it`.

    ## Source
    Annotation syntax: Kubernetes "Annotations" (keys are `prefix/name`, the name at most 63
    characters of `[A-Za-z0-9._-]`), https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/.
    Peers' reasoned suppressions: kube-linter `ignore-check.kube-linter.io/<check>`, Checkov
    `checkov.io/skip1: ID=reason`; SARIF 2.1.0 §3.35 `suppression.justification`.
    """
    return iter(())


@load_rule("SUP002", "unused-suppression", "input", Severity.LOW, "Suppression that matches no finding")
def unused_suppression(_: object) -> Iterator[Hit]:
    """## What it checks
    A suppression (annotation, comment or config `ignores:` entry) that silenced nothing in this run,
    or that names a rule premortem does not know. It is only reported when the rule it names ran
    (`--select` narrows that) and, for config entries, when a file or object it names was scanned.

    ## Why it breaks clusters
    A stale ignore is worse than none: the risk it once covered is gone (the manifest was fixed),
    but the suppression stays and silently swallows the next, different finding of the same rule on
    that object: a memory limit removed again by a later edit would never be reported. Like ruff's
    unused-noqa, reporting them keeps suppressions few and true. A misspelt rule id suppresses
    nothing and gives false confidence.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: api
      annotations:
        ignore.premortem.dev/RES001: "was BestEffort during the migration"
    spec:
      containers:
        - name: main
          image: registry.example.com/api:1.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
          resources:
            limits: {cpu: 500m, memory: 256Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: api
    spec:
      containers:
        - name: main
          image: registry.example.com/api:1.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
          resources:
            limits: {cpu: 500m, memory: 256Mi}
    ```

    ## Fix
    Delete the suppression (or correct the rule id or name it gives).

    ## Source
    The pattern follows ruff's RUF100 (unused-noqa), https://docs.astral.sh/ruff/rules/unused-noqa/.
    """
    return iter(())
