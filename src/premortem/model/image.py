"""Container image references parsed the way the container runtime does.

Grammar (distribution/reference): ``[registry[:port]/]path[:tag][@algorithm:hex]``. The registry is the
first path component when it contains a '.' or ':' or is ``localhost``; a ':' before the last '/'
is therefore a port, never a tag (``registry:5000/app`` has no tag and means ``:latest``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


@dataclass(frozen=True, slots=True)
class ImageRef:
    raw: str
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    valid: bool = True

    @property
    def is_latest(self) -> bool:
        """True when the runtime will resolve ``:latest`` (explicit, or no tag and no digest)."""
        return self.digest is None and (self.tag is None or self.tag == "latest")

    @property
    def is_pinned(self) -> bool:
        return self.digest is not None

    @property
    def default_pull_policy(self) -> str:
        """SetDefaults_Container: tag 'latest' (explicit or implied) -> Always, else IfNotPresent.

        A digest-only reference has an empty tag -> IfNotPresent; ``:latest@sha256`` -> Always.
        """
        if self.tag == "latest" or (self.tag is None and self.digest is None):
            return "Always"
        return "IfNotPresent"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository


def parse_image(raw: str) -> ImageRef:
    text = raw.strip()
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
    registry = None
    remainder = text
    if "/" in text:
        first, rest = text.split("/", 1)
        if "." in first or ":" in first or first == "localhost" or first != first.lower():
            registry, remainder = first, rest
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
    valid = (
        bool(remainder)
        and (tag is None or bool(_TAG.match(tag)))
        and (digest is None or bool(_DIGEST.match(digest)))
    )
    return ImageRef(raw=raw, registry=registry, repository=remainder, tag=tag, digest=digest, valid=valid)
