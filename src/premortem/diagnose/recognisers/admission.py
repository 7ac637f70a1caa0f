"""Admission webhooks failing, in kube-apiserver's words (staging/src/k8s.io/apiserver/pkg/admission/
plugin/webhook/validating and mutating dispatcher.go: ``Failed calling webhook, failing open %v: %v``
(failurePolicy Ignore: the request is admitted without the check), ``Failed calling webhook, failing
closed %v: %v`` (failurePolicy Fail: the request is rejected), and the rejection clients see,
``Internal error occurred: failed calling webhook "%s": ...``).

What the failure policy did is read from the log's own words: ``failing open``, ``failing closed``,
or a rejected request (``Error from server``, ``Internal error occurred``); otherwise the message
says what each policy would do. "It matches kube-system" is claimed, and excluding kube-system advised,
only when the rejected object is in kube-system, never because the webhook's Service lives there.
"""

from __future__ import annotations

import re

from premortem.diagnose.recognisers import Result, State, recogniser
from premortem.diagnose.recognisers.common import pod_objects
from premortem.diagnose.records import Record, Sighting
from premortem.findings import Severity

_WEBHOOK = re.compile(r'failed calling webhook \\?"([^"\\]{1,253})\\?"')
_WEBHOOK_URL = re.compile(r'(?:Post|Get) \\?"?(https?://[^"\\\s]{1,512})')
_TIMEOUT_PARAM = re.compile(r"[?&]timeout=(\d{1,4})s")


@recogniser("failed calling webhook")
def webhook(rec: Record, state: State) -> Result:
    m = _WEBHOOK.search(rec.message)
    if not m:
        return None
    name = m.group(1)
    before, text = rec.message[: m.start()], rec.message[m.end() :]
    url = _WEBHOOK_URL.search(text)
    prevented: tuple[str, ...]
    if "deadline exceeded" in text or "Timeout" in text or "timeout" in text.split("?timeout=")[-1]:
        failure, prevented = "timed out", ("ADM003", "ADM001")
        timeout = _TIMEOUT_PARAM.search(text)
        if timeout:
            failure += f" (after its {timeout.group(1)}s timeout)"
    elif "no endpoints available" in text:
        service = re.search(r'no endpoints available for service \\?"([^"\\]{1,253})', text)
        named = f" for service {service.group(1)}" if service else ""
        failure, prevented = (
            f"found no backend (`no endpoints available{named}`: none of the webhook's pods is ready)",
            ("ADM006", "ADM001"),
        )
    elif "connection refused" in text or "no route to host" in text:
        cause = "connection refused" if "connection refused" in text else "no route to host"
        failure, prevented = f"could not reach its backend ({cause})", ("ADM006", "ADM001")
    elif "no service port" in text:
        failure, prevented = (
            "could not be routed: its Service has no port the webhook configuration names",
            ("ADM001",),
        )
    elif "x509" in text or "certificate" in text:
        failure, prevented = "failed TLS verification", ("ADM001",)
    elif "could not find the requested resource" in text or "404" in text:
        failure, prevented = "reached a backend that does not serve its path (404)", ("ADM001",)
    else:
        failure, prevented = "failed", ("ADM001",)
    objects = pod_objects(rec)
    objects.pop("container", None)
    if rec.kind and rec.kind != "Pod" and rec.name:
        objects.pop("pod", None)
        objects["object"] = f"{rec.kind}/{rec.name}"
    objects["webhook"] = name
    if url:
        objects["url"] = url.group(1).rstrip(":")
    lowered = rec.message.lower()
    if "failing open" in lowered:
        policy = (
            "The API server is failing open (failurePolicy Ignore): the requests were admitted without the "
            "webhook's check, so nothing was rejected, but the policy it enforces was not applied to them."
        )
        severity: Severity | None = Severity.MEDIUM
        decisive = True
    elif (
        "failing closed" in lowered
        or "error from server" in before.lower()
        or "internal error occurred" in lowered
    ):
        policy = (
            "The API server rejected the request ("
            + ("it logs `failing closed`: " if "failing closed" in lowered else "")
            + "failurePolicy Fail): while the webhook fails, every request it matches is refused, so pods are not "
            "created and rollouts and scale-ups stall."
        )
        severity, decisive = None, True
    else:
        policy = (
            "With failurePolicy Fail (the v1 default) the requests it matches are rejected while it fails; with "
            "Ignore they are admitted unchecked."
        )
        severity, decisive = None, False
    kube_system = objects.get("namespace") == "kube-system" and "failing open" not in lowered
    if kube_system:
        prevented = (*prevented, "ADM002")
        policy += " The rejected object is in kube-system: the control plane's own pods cannot be recreated."
    return Sighting(
        "DIAG-WEBHOOK-FAILURE",
        (name,),
        f"Calls to admission webhook {name} {failure}{' (' + objects['url'] + ')' if url else ''}. {policy}",
        "Restore the webhook backend (replicas >= 2 with a PDB) and alert when the API server logs that it fails "
        "open: until then its policy is not enforced."
        if "failing open" in lowered
        else "Restore the webhook backend (replicas >= 2 with a PDB), set timeoutSeconds to 5 or less, "
        + ("exclude kube-system with a namespaceSelector, " if kube_system else "")
        + "and use failurePolicy Ignore where the check is not security-critical.",
        severity=Severity.CRITICAL if kube_system else severity,
        objects=objects,
        prevented_by=prevented,
        decisive=decisive,
    )
