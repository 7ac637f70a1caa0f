"""The Kubernetes release the manifests are judged against (``--kubernetes-version``).

Rules whose verdict depends on the release (an API version removed in v1.25, a kubelet default that
changed in v1.30) ask ``target_version()``: the scan's ``Settings.kubernetes_version`` or, when it is
not set, the newest release the rules know (``NEWEST_KNOWN``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from premortem.settings import current

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


@dataclass(frozen=True, order=True, slots=True)
class KubeVersion:
    """A Kubernetes minor release (patch releases never add or remove APIs or change defaults)."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> KubeVersion:
        """``1.29``, ``v1.29``, ``1.29.3`` or ``v1.29.3-eks-1234``; ValueError otherwise."""
        match = _VERSION.match(text.strip())
        if match is None or int(match.group(1)) != 1:
            raise ValueError(f"not a Kubernetes version: {text!r} (expected e.g. 1.29 or v1.29.3)")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}"


# The newest release whose removals and defaults the rules know (the deprecation guide lists no API
# removal after v1.32 up to this release).
NEWEST_KNOWN = KubeVersion(1, 35)


def target_version() -> KubeVersion:
    """The release of the scan in progress: ``--kubernetes-version``, else ``NEWEST_KNOWN``."""
    text = current().kubernetes_version
    return KubeVersion.parse(text) if text else NEWEST_KNOWN


def target_is_default() -> bool:
    """True when no release was given (messages then say which one was assumed)."""
    return not current().kubernetes_version
