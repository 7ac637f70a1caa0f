"""Fixers for the admission rules (ADM001-ADM004, ADM006)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from premortem.findings import Finding
from premortem.fix.paths import pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Append, Op, Set
from premortem.load.document import Document
from premortem.rules.admission import KUBE_SYSTEM, MAX_TIMEOUT, NAME_LABEL

FAIL_OPEN_RISK = (
    "failurePolicy: Ignore makes the webhook fail open: while its backend is down or slow, requests are "
    "admitted without its check (a policy or security webhook then enforces nothing, a mutating webhook's "
    "defaults are missing). Apply it only to webhooks that are not security controls."
)


def _webhook(finding: Finding, doc: Document) -> tuple[int, dict[str, Any]] | None:
    path = pointer_path(finding)
    entries = doc.obj.get("webhooks") if isinstance(doc.obj, dict) else None
    if (
        len(path) < 2
        or path[0] != "webhooks"
        or not isinstance(path[1], int)
        or not isinstance(entries, list)
    ):
        return None
    index = path[1]
    if index >= len(entries) or not isinstance(entries[index], dict):
        return None
    return index, entries[index]


def _service_namespace(webhook: dict[str, Any]) -> str | None:
    client = webhook.get("clientConfig")
    service = client.get("service") if isinstance(client, dict) else None
    namespace = service.get("namespace") if isinstance(service, dict) else None
    return str(namespace) if namespace else None


def _service(webhook: dict[str, Any]) -> tuple[str, str] | None:
    client = webhook.get("clientConfig")
    service = client.get("service") if isinstance(client, dict) else None
    if not isinstance(service, dict) or not service.get("name"):
        return None
    return str(service.get("namespace") or ""), str(service["name"])


def exclude_namespaces(index: int, webhook: dict[str, Any], namespaces: list[str]) -> list[Op]:
    """Ops that add ``kubernetes.io/metadata.name NotIn [namespaces]`` to the webhook's namespaceSelector,
    merged into what is there: requirements of a label selector are ANDed, so the selector keeps
    selecting what it did, minus these namespaces."""
    base = ("webhooks", index, "namespaceSelector")
    selector = webhook.get("namespaceSelector")
    expression = {"key": NAME_LABEL, "operator": "NotIn", "values": list(namespaces)}
    if not isinstance(selector, dict):
        return [Set(base, {"matchExpressions": [expression]})]
    expressions = selector.get("matchExpressions")
    if not isinstance(expressions, list) or not expressions:
        return [Set((*base, "matchExpressions"), [expression])]
    for i, existing in enumerate(expressions):
        if (
            isinstance(existing, dict)
            and existing.get("key") == NAME_LABEL
            and existing.get("operator") == "NotIn"
            and isinstance(existing.get("values"), list)
            and existing["values"]
        ):
            values = [str(v) for v in existing["values"]]
            return [
                Append((*base, "matchExpressions", i, "values"), ns) for ns in namespaces if ns not in values
            ]
    return [Append((*base, "matchExpressions"), expression)]


@fixer("ADM001", "ADM002")
def exclude_system_namespaces(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers ADM001 (webhook-fail-closed-on-kube-system-pods) and ADM002 (webhook-self-lockout). Adds
    `kubernetes.io/metadata.name NotIn [kube-system, <the webhook's service namespace>]` to the
    webhook's `namespaceSelector`, merged into the selector that is there (into an existing `NotIn`
    on that label, or as one more `matchExpressions` entry next to `matchLabels`), never replacing
    it: selector requirements are ANDed, so the webhook keeps covering every namespace it covered
    except these two. Every namespace carries the `kubernetes.io/metadata.name` label automatically.
    The webhook stays fail-closed everywhere else.
    """
    found = _webhook(finding, doc)
    if found is None:
        yield Note("could not find the webhook this finding is about; add the namespaceSelector by hand.")
        return
    index, webhook = found
    namespaces = [KUBE_SYSTEM]
    own = _service_namespace(webhook)
    if own and own not in namespaces:
        namespaces.append(own)
    ops = exclude_namespaces(index, webhook, namespaces)
    name = webhook.get("name") or f"#{index}"
    if not ops:  # another finding about this webhook added the exclusion already in this run
        yield Fix(
            [], f"webhook {name}: covered by the namespaceSelector exclusion of {', '.join(namespaces)}."
        )
        return
    yield Fix(
        ops,
        f"webhook {name}: namespaceSelector now excludes {', '.join(namespaces)} "
        f"({NAME_LABEL} NotIn): control-plane pods and the webhook's own backend can always be created, "
        "even while the backend is down; every other namespace is still checked (fail-closed).",
    )


@fixer("ADM003")
def clamp_timeout(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers ADM003 (webhook-timeout-too-long). Sets `timeoutSeconds: 5` on every webhook of the
    configuration whose timeout (explicit, or the default: 10 s in v1, 30 s in v1beta1) is longer. A
    healthy webhook answers in milliseconds; 5 s bounds how long a hung backend holds every matching
    API request. Changing `failurePolicy` is a different trade and is not part of this fix.
    """
    entries = doc.obj.get("webhooks") if isinstance(doc.obj, dict) else None
    if not isinstance(entries, list):
        return
    v1 = str(doc.obj.get("apiVersion", "")).endswith("/v1")
    ops: list[Op] = []
    changed = []
    for i, webhook in enumerate(entries):
        if not isinstance(webhook, dict):
            continue
        raw = webhook.get("timeoutSeconds")
        explicit = isinstance(raw, int) and not isinstance(raw, bool)
        timeout: int = raw if isinstance(raw, int) and explicit else (10 if v1 else 30)
        if timeout > MAX_TIMEOUT:
            ops.append(Set(("webhooks", i, "timeoutSeconds"), MAX_TIMEOUT))
            changed.append(f"{webhook.get('name') or f'#{i}'} {timeout}s{'' if explicit else ' (default)'}")
    if ops:
        yield Fix(
            ops,
            f"timeoutSeconds -> {MAX_TIMEOUT} on {', '.join(changed)}: a hung backend now holds each matching "
            f"API request for at most {MAX_TIMEOUT}s.",
        )


@fixer("ADM004", "ADM006")
def fail_open(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers ADM004 (webhook-wildcard-fail-closed) and ADM006 (webhook-single-replica-backend) with
    `failurePolicy: Ignore`, an unsafe fix applied only with `--unsafe-fixes`: a fail-open webhook
    admits requests unchecked while its backend is down, which is a hole if it enforces security
    policy. The safe fixes are structural and not YAML edits premortem can make for you: narrow the
    wildcard `rules` to the resources the webhook needs (ADM004), or run 2+ replicas of the backend
    with a PodDisruptionBudget (ADM006).
    """
    found = _webhook(finding, doc)
    if found is None:
        return
    index, webhook = found
    targets = [index]
    if finding.rule == "ADM006":
        # one finding per configuration and backend: every fail-closed webhook it serves goes open
        service = _service(webhook)
        entries = doc.obj.get("webhooks") or []
        targets = [
            i for i, w in enumerate(entries) if isinstance(w, dict) and service and _service(w) == service
        ]
    v1 = str(doc.obj.get("apiVersion", "")).endswith("/v1")
    entries = doc.obj.get("webhooks") or []
    targets = [
        i for i in targets if (entries[i].get("failurePolicy") or ("Fail" if v1 else "Ignore")) == "Fail"
    ]
    if not targets:
        return
    names = ", ".join(str(entries[i].get("name") or f"#{i}") for i in targets)
    instead = (
        "narrow its rules to the resources it really needs"
        if finding.rule == "ADM004"
        else "run 2+ replicas of its backend with a PodDisruptionBudget"
    )
    yield Fix(
        [Set(("webhooks", i, "failurePolicy"), "Ignore") for i in targets],
        f"failurePolicy -> Ignore on {names}: an outage of the backend no longer blocks the API requests "
        f"they intercept. The safe fix is to {instead}.",
        unsafe=FAIL_OPEN_RISK,
    )
