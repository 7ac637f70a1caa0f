"""A finding's fingerprint: what it is about, never where in a file it happens to be.

rule, object identity (API group, kind, namespace, name), container and field path. Editing other
lines of the file, moving the object to another file or renaming the file keeps it; a finding about
no object (a YAML syntax error) falls back to its file's path. The API version is left out so that
moving apps/v1beta2 to apps/v1 does not resurrect a baselined finding.
"""

from __future__ import annotations

import hashlib
import os

from premortem.findings import Finding

VERSION = "v1"  # the SARIF partialFingerprints key is "premortem/v1"


def fingerprint(finding: Finding) -> str:
    obj = finding.object
    if obj is not None and (obj.kind or obj.name):
        api_version = obj.api_version or ""
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        identity = ["object", group, obj.kind or "", obj.namespace or "", obj.name or ""]
    else:
        identity = ["file", os.path.normpath(finding.file or "")]
    parts = [finding.rule, *identity, finding.container or "", finding.path]
    # surrogatepass: a lone surrogate from a "\\ud800" escape in a name hashes instead of raising
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]
