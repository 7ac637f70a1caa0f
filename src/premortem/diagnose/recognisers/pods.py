"""A pod's own failures, in the kubelet's words: probes (pkg/kubelet/prober: ``Liveness probe
failed: ...`` events, structured ``"Probe failed" probeType=``, the older ``%s probe for %q failed
(%v): %s`` and ``pod %q container %q is unhealthy, it will be killed and re-created``), restarts
(``Container %s failed liveness probe, will be restarted``), crash loops (``Back-off restarting failed
container``, ``CrashLoopBackOff``), image pulls (pkg/kubelet/images: ``Failed to pull image``,
``ErrImagePull``, ``ImagePullBackOff``, ``Back-off pulling image``) and OOMKilled container states.

Names come from the record's columns, else from the line (``pod=ns/name``, ``name_ns(uid)``); a
finding that cannot name the pod says "a pod", never ``?/?``.
"""

from __future__ import annotations

import re

from premortem.diagnose.recognisers import KNOWN, Result, State, recogniser
from premortem.diagnose.recognisers.common import pod_key, pod_name, pod_objects, who
from premortem.diagnose.records import Record, Sighting

_PROBE_EVENT = re.compile(r"(Liveness|Readiness|Startup) probe (?:failed|errored):? ?(.*)")
_PROBE_OLD = re.compile(
    r'(Liveness|Readiness|Startup) probe for "([^"_]{1,253})_([^"(:]{1,63})(?:\([^)]{0,64}\))?:([^"]{1,253})" '
    r"failed \(\w{1,16}\): ?(.*)"
)
_UNHEALTHY_OLD = re.compile(
    r'pod "([^"_]{1,253})_([^"(]{1,63})(?:\([^)]{0,64}\))?" container "([^"]{1,253})" is unhealthy, it will be killed'
)
_CONTAINER_PREFIX = re.compile(r"^spec\.(?:initC|c)ontainers\{([^}]{1,253})\}: ")


def _container_prefix(rec: Record) -> str:
    """Newer kubectl prints the field path before an event message: ``spec.containers{web}: ...``."""
    m = _CONTAINER_PREFIX.match(rec.message)
    if m:
        rec.container = rec.container or m.group(1)
        return rec.message[m.end() :]
    return rec.message


@recogniser("probe failed", "Probe failed", "probe errored", "robe for ")
def probe(rec: Record, state: State) -> Result:
    text = _container_prefix(rec)
    kind = output = None
    m = _PROBE_OLD.search(text)
    if m:
        kind, output = m.group(1), m.group(5)
        objects = pod_objects(rec, pod=m.group(2), namespace=m.group(3))
        objects["container"] = m.group(4)
    elif "probeType" in rec.fields:
        kind = str(rec.fields["probeType"]).title()
        output = str(rec.fields.get("output", ""))
        objects = pod_objects(rec)
    else:
        m = _PROBE_EVENT.search(text)
        if not m:
            return None
        kind, output = m.group(1), m.group(2)
        objects = pod_objects(rec)
    if kind not in ("Liveness", "Readiness", "Startup"):
        return None
    output = (output or "").strip()[:200]
    subject = who(objects)
    subject = subject[0].lower() + subject[1:]
    failing = f"is failing ({output})" if output else "is failing"
    if kind == "Liveness":
        text = (
            f"The liveness probe of {subject} {failing}. After failureThreshold consecutive failures the kubelet "
            "kills and restarts the container; a liveness check that depends on anything outside the container "
            "restarts every replica at once."
        )
        fix = (
            "Make liveness check only the process itself (a local endpoint with no dependencies), give it a larger "
            "failure budget than readiness, and add a startupProbe for slow starts."
        )
    elif kind == "Readiness":
        text = (
            f"The readiness probe of {subject} {failing}: the pod is removed from its Service's endpoints while it "
            "fails (no restart). When every replica fails, the Service has no endpoints and callers see connection "
            "errors."
        )
        fix = "Find what the readiness endpoint waits for; make sure a dependency outage cannot unready every replica."
    else:
        text = (
            f"The startup probe of {subject} {failing}: if it does not succeed within failureThreshold x "
            "periodSeconds the kubelet kills and restarts the container."
        )
        fix = "Give the startup probe a budget (failureThreshold x periodSeconds) longer than the slowest real start."
    return Sighting(
        f"DIAG-PROBE-{kind.upper()}",
        (
            *pod_key(objects),
            objects.get("container", ""),
            objects.get("node", "") if not objects.get("pod") else "",
        ),
        text,
        fix,
        objects=objects,
    )


@recogniser('status="unhealthy"', "status=unhealthy")
def probe_sync_loop(rec: Record, state: State) -> Result:
    """The kubelet's ``"SyncLoop (probe)" probe="liveness" status="unhealthy"``: the liveness (or
    startup) probe reached its failure threshold; the container is restarted."""
    kind = str(rec.fields.get("probe", "")).lower()
    if "SyncLoop (probe)" not in rec.message or kind not in ("liveness", "startup"):
        return None
    objects = pod_objects(rec)
    subject = who(objects)
    return Sighting(
        f"DIAG-PROBE-{kind.upper()}",
        (*pod_key(objects), objects.get("container", ""), ""),
        f"The {kind} probe of {subject[0].lower() + subject[1:]} reached its failure threshold (the kubelet marks "
        "it unhealthy): the kubelet kills and restarts the container.",
        "Make liveness check only the process itself (a local endpoint with no dependencies), give it a larger "
        "failure budget than readiness, and add a startupProbe for slow starts."
        if kind == "liveness"
        else "Give the startup probe a budget (failureThreshold x periodSeconds) longer than the slowest real start.",
        objects=objects,
    )


@recogniser("will be restarted", "it will be killed and re-created")
def probe_restart(rec: Record, state: State) -> Result:
    old = _UNHEALTHY_OLD.search(rec.message)
    if old:
        objects = pod_objects(rec, pod=old.group(1), namespace=old.group(2))
        container, probe_kind = old.group(3), "liveness"
    else:
        m = re.search(
            r"Container (\S{1,253}) failed (liveness|startup) probe, will be restarted", rec.message
        )
        if not m:
            return (
                KNOWN if "re-created" in rec.message else None
            )  # "Pod sandbox changed, it will be killed and re-created"
        objects = pod_objects(rec)
        container, probe_kind = m.group(1), m.group(2)
    objects["container"] = container
    return Sighting(
        "DIAG-PROBE-RESTART",
        (*pod_key(objects), container),
        f"The kubelet killed container {container} of {pod_name(objects)} because its {probe_kind} probe failed, and "
        "restarts it. Repeated restarts end in CrashLoopBackOff.",
        "Make the probe check only the process itself and give it a failure budget longer than the slowest healthy "
        "response (timeoutSeconds, failureThreshold); add a startupProbe for slow starts.",
        objects=objects,
        prevented_by=("@probes:liveness",) if probe_kind == "liveness" else ("@probes:startup",),
    )


_CRASHLOOP_NAMES = re.compile(
    r"restarting failed container[= ](\S{1,253}?)(?: in)? pod[= ](\S{1,253}?)_(\S{1,63}?)\("
)


@recogniser("Back-off restarting failed container", "back-off", "CrashLoopBackOff")
def crashloop(rec: Record, state: State) -> Result:
    text = _container_prefix(rec)
    if "pulling image" in text or "ImagePull" in text:
        return None
    if not (
        "restarting failed container" in text
        or "CrashLoopBackOff" in text
        or rec.reason == "CrashLoopBackOff"
    ):
        return None
    objects = pod_objects(rec)
    m = _CRASHLOOP_NAMES.search(text)
    if m:
        objects["container"], objects["pod"], objects["namespace"] = m.group(1), m.group(2), m.group(3)
    else:
        named = re.search(r"restarting failed container ([a-z0-9][-a-z0-9]{0,252})(?:\s|$)", text)
        if named:
            objects.setdefault("container", named.group(1))
    restarts = rec.fields.get("restarts")
    more = f" after {restarts} restarts" if restarts else ""
    return Sighting(
        "DIAG-CRASHLOOP",
        (*pod_key(objects), objects.get("container", "")),
        f"{who(objects)} is in CrashLoopBackOff{more}: it keeps exiting, and the kubelet waits longer between "
        "restarts (up to 5 minutes). The related findings for this pod (OOM kills, probe failures) say why.",
        "Read the previous container's log (kubectl logs --previous) and fix the cause: memory limit, probe, or the "
        "application's own crash.",
        objects=objects,
    )


_IMAGE = re.compile(r'(?:[Ii]mage \\?"|image=|manifest for |pull and unpack image \\?")([^"\\\s]{1,512})')
_PULL_FAILED = (
    "Failed to pull image",
    "ErrImagePull",
    "ImagePullBackOff",
    "Back-off pulling image",
    "pulling image failed",
    "PullImage failed",
    "failed to pull and unpack image",
    "StatusErrImagePull",
)
# Why a pull failed, in the registry's words (searched case-blind), then what that means.
_WHY = (
    ("manifest unknown", "manifest unknown: the image or tag does not exist"),
    ("not found", "not found: the image or tag does not exist"),
    ("unauthorized", "unauthorized: the registry refused the credentials"),
    ("denied", "denied: the registry refused access"),
    ("toomanyrequests", "toomanyrequests: the registry rate-limited the pull, its pull rate limit reached"),
    (
        "429 too many requests",
        "429 Too Many Requests: the registry rate-limited the pull, its pull rate limit reached",
    ),
    ("i/o timeout", "i/o timeout: the registry did not answer in time"),
    ("deadline exceeded", "deadline exceeded: the registry did not answer in time"),
    ("no such host", "no such host: the registry host does not resolve"),
    ("x509", "x509: the registry's TLS certificate is not trusted"),
)


@recogniser(*_PULL_FAILED)
def image_pull(rec: Record, state: State) -> Result:
    text = _container_prefix(rec)
    if not any(k in text for k in _PULL_FAILED) and rec.reason not in (
        "StatusErrImagePull",
        "StatusImagePullBackOff",
    ):
        return None
    m = _IMAGE.search(text)
    image = m.group(1) if m else str(rec.fields.get("image", "")) or None
    objects = pod_objects(rec)
    if image:
        objects["image"] = image
    lowered = text.lower()
    why = next((f" ({label})" for needle, label in _WHY if needle in lowered), "")
    prevented: tuple[str, ...] = ()
    note = ""
    if image:
        from premortem.model.image import parse_image

        ref = parse_image(image)
        if ref.valid and ref.is_latest:
            prevented = ("IMG001",)
            note = (
                " The tag is mutable (:latest or none): imagePullPolicy defaults to Always, so every start pulls "
                "again, and what runs depends on when it was pulled."
            )
    subject = pod_name(objects)
    cannot = f"{subject} cannot start" if objects.get("pod") else "The pod cannot start"
    has_owner = objects.get("pod") or objects.get("container")
    key = (*pod_key(objects), objects.get("container", "")) if has_owner else ("", "", image or "")
    return Sighting(
        "DIAG-IMAGE-PULL",
        key,
        f"Pulling {'image ' + image if image else 'the image'} failed{why}: {cannot} and backs off.{note}",
        "Pin the image by version tag and digest (name:1.2.3@sha256:...), check the tag exists and the pull secret is "
        "valid; mirror critical images to a registry you control.",
        objects=objects,
        prevented_by=prevented,
        worst=2.0 if why else 1.0 if image else None,
    )


@recogniser("OOMKilled")
def oomkilled(rec: Record, state: State) -> Result:
    if not (rec.source in ("describe", "pods-table", "pod-doc") or "OOMKilled" in rec.message):
        return None
    objects = pod_objects(rec)
    restarts = rec.fields.get("restarts")
    exit_code = rec.fields.get("exit_code")
    more = f" It has restarted {restarts} time(s)." if restarts else ""
    if exit_code in (None, ""):
        code = ""
    elif str(exit_code) == "137":
        code = " (exit code 137: SIGKILL)"
    else:
        code = (
            f" with exit code {exit_code}, not 137: the runtime recorded an OOM kill in the container's cgroup, but "
            "the main process may have exited on its own"
        )
    return Sighting(
        "DIAG-OOMKILLED",
        (*pod_key(objects), objects.get("container", "")),
        f"{who(objects)} was terminated OOMKilled{code}: it reached its memory limit and the kernel killed a "
        f"process in it.{more}",
        "Raise limits.memory to the real peak and set requests.memory equal to it (Guaranteed), or cap the "
        "runtime's heap below the limit.",
        objects=objects,
        numbers={"exit_code": int(str(exit_code)) if str(exit_code or "").lstrip("-").isdigit() else None},
    )
