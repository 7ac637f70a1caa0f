"""Container image references parsed the way the container runtime does.

Grammar (github.com/distribution/reference, which the kubelet's ``parsers.ParseImageName`` uses)::

    reference := name [":" tag] ["@" digest]
    name      := [domain "/"] path
    domain    := host [":" port]          (host: DNS name, IPv4 or [IPv6])
    path      := component ("/" component)*   component: [a-z0-9]+ joined by ".", "_", "__" or "-"+
    tag       := [\\w][\\w.-]{0,127}
    digest    := algorithm ":" hex{32,}   (sha256: exactly 64 hex digits)

The first path component is the registry only when it contains a '.' or a ':', is ``localhost``, or
has an uppercase letter (``splitDockerDomain``); so ``registry:5000/app`` is registry
``registry:5000`` with no tag (the runtime pulls ``:latest``), not repository ``registry`` with tag
``5000/app``. The repository path must be lowercase; the registry host may have any case. A
reference that does not match is refused by the kubelet (``InvalidImageName``): the pod never starts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DEFAULT_REGISTRY = "docker.io"

_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG = re.compile(r"^\w[\w.-]{0,127}$", re.ASCII)
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_NAME_TOTAL_LENGTH_MAX = 255
# Tags that name a branch or a release channel, not a build: whoever pushes moves them as often as
# :latest ("master-head", "stable-alpine": a channel plus a variant without a version in it).
FLOATING_TAGS = frozenset(
    {
        "latest",
        "master",
        "main",
        "head",
        "trunk",
        "nightly",
        "edge",
        "stable",
        "dev",
        "develop",
        "development",
        "canary",
        "unstable",
        "snapshot",
        "testing",
        "rolling",
        "current",
        "mainline",
    }
)
# Values that are not images but are filled in by an admission webhook: Istio's gateway injection
# replaces `image: auto` with its proxy image (istio.io "Installing Gateways", gateway injection).
INJECTED_IMAGES = frozenset({"auto"})
# Unrendered template syntax: $VAR, ${VAR}, $(VAR), {{ .Values.x }}, <PLACEHOLDER>, and ALL_CAPS path
# components such as PROJECT_ID (documentation samples meant to be edited before use), ko:// (resolved
# by `ko resolve` at build time).
_PLACEHOLDER = re.compile(r"\$|\{\{|\}\}|<[^>]*>|^ko://|(?:^|[/-])[A-Z][A-Z0-9]*_[A-Z0-9_]+(?:[/:-]|$)")


@dataclass(frozen=True, slots=True)
class ImageRef:
    raw: str
    registry: str | None  # as written (None: the runtime's default, docker.io)
    repository: str  # the path after the registry, as written
    tag: str | None
    digest: str | None
    valid: bool = True
    error: str | None = None  # why the runtime refuses the reference, when it does

    @property
    def is_latest(self) -> bool:
        """True when the runtime will resolve ``:latest`` (explicit, or no tag and no digest)."""
        return self.digest is None and (self.tag is None or self.tag == "latest")

    @property
    def is_floating(self) -> bool:
        """No digest, and no tag or a tag that names a branch or channel (FLOATING_TAGS): the bytes it
        names change whenever someone pushes."""
        if self.digest is not None:
            return False
        if self.tag is None:
            return True
        channel, _, variant = self.tag.lower().partition("-")
        return channel in FLOATING_TAGS and not any(ch.isdigit() for ch in variant)

    @property
    def is_injected(self) -> bool:
        """Not an image: a value an admission webhook replaces (Istio's ``image: auto``)."""
        return self.raw in INJECTED_IMAGES

    @property
    def is_pinned(self) -> bool:
        """A digest names exactly one image; with ``name:tag@digest`` the digest wins, the tag is ignored."""
        return self.digest is not None

    @property
    def is_placeholder(self) -> bool:
        """The reference still holds unrendered template syntax (``${IMAGE}``, ``{{ }}``, ``PROJECT_ID``)."""
        return bool(_PLACEHOLDER.search(self.raw))

    @property
    def default_pull_policy(self) -> str:
        """SetDefaults_Container: tag 'latest' (explicit or implied) -> Always, else IfNotPresent.

        A digest-only reference has an empty tag -> IfNotPresent; ``:latest@sha256`` -> Always (the
        code looks at the tag only; KEP-6083 proposes making the default digest-aware).
        """
        if self.tag == "latest" or (self.tag is None and self.digest is None):
            return "Always"
        return "IfNotPresent"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def registry_host(self) -> str:
        """The registry the runtime contacts (``docker.io`` when none is written)."""
        return self.registry or DEFAULT_REGISTRY


# A cluster runs the same images in many workloads, and several rules parse each one: parsed once.
@lru_cache(maxsize=1 << 16)
def parse_image(raw: str) -> ImageRef:
    """Split ``raw`` into registry, repository, tag and digest, and say whether the runtime accepts it.

    Never raises: an unacceptable reference comes back with ``valid=False`` and ``error`` set, split as
    well as it can be so messages can still name its parts.
    """
    text = raw
    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
    registry: str | None = None
    remainder = text
    slash = text.find("/")
    if slash != -1:
        first = text[:slash]
        if "." in first or ":" in first or first == "localhost" or first != first.lower():
            registry, remainder = first, text[slash + 1 :]
    tag: str | None = None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
    error = _error(raw, registry, remainder, tag, digest)
    return ImageRef(
        raw=raw,
        registry=registry,
        repository=remainder,
        tag=tag,
        digest=digest,
        valid=error is None,
        error=error,
    )


def _error(raw: str, registry: str | None, path: str, tag: str | None, digest: str | None) -> str | None:
    if not raw:
        return "the image is empty"
    if raw != raw.strip():
        return "it has leading or trailing whitespace"
    if any(ch.isspace() for ch in raw):
        return "it contains whitespace"
    if registry is not None and not _DOMAIN.match(registry):
        return f"registry {registry!r} is not a valid host[:port]"
    if not path:
        return "the repository name is empty"
    if path != path.lower():
        return f"the repository path {path!r} must be lowercase (only the registry host may have capitals)"
    if not _PATH.match(path):
        return (
            f"the repository path {path!r} is not valid (lowercase letters and digits separated by "
            "'/', '.', '_', '__' or '-')"
        )
    if len(f"{registry}/{path}" if registry else path) > _NAME_TOTAL_LENGTH_MAX:
        return f"the name is longer than {_NAME_TOTAL_LENGTH_MAX} characters"
    if tag is not None and not _TAG.match(tag):
        return f"the tag {tag!r} is not valid (1-128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"
    if digest is not None:
        if not _DIGEST.match(digest):
            return f"the digest {digest!r} is not valid (algorithm:hex, e.g. sha256: and 64 hex digits)"
        algorithm, hex_part = digest.split(":", 1)
        if algorithm in ("sha256", "sha512") and hex_part != hex_part.lower():
            return f"a {algorithm} digest is lowercase hex (go-digest refuses capitals)"
        if algorithm == "sha256" and len(hex_part) != 64:
            return f"a sha256 digest has 64 hex digits, this one has {len(hex_part)}"
        if algorithm == "sha512" and len(hex_part) != 128:
            return f"a sha512 digest has 128 hex digits, this one has {len(hex_part)}"
    if registry is None and tag is None and digest is None and re.fullmatch(r"[a-f0-9]{64}", path):
        return "a bare 64-hex-digit string is an image id, not a reference the runtime can pull"
    return None


# --- kustomize `images:` overrides --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageOverride:
    """One `images:` entry of a Kustomization that applies to a manifest file."""

    kustomization: str  # file of the Kustomization
    line: int
    name: str
    new_name: str | None
    new_tag: str | None
    digest: str | None

    def apply(self, ref: ImageRef) -> ImageRef:
        """The reference `kustomize build` writes (a digest replaces the tag; newTag keeps no digest)."""
        name = self.new_name or ref.name
        if self.digest:
            return parse_image(f"{name}@{self.digest}")
        if self.new_tag:
            return parse_image(f"{name}:{self.new_tag}")
        tail = (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")
        return parse_image(name + tail)

    def describe(self) -> str:
        parts = [f"name {self.name}"]
        parts += [f"newName {self.new_name}"] if self.new_name else []
        parts += [f"newTag {self.new_tag}"] if self.new_tag else []
        parts += [f"digest {self.digest}"] if self.digest else []
        return f"{self.kustomization}:{self.line} images ({', '.join(parts)})"


def kustomize_overrides(
    kustomizations: list[tuple[str, int, dict[str, Any]]],
) -> dict[str, list[ImageOverride]]:
    """Map each manifest file a Kustomization includes (transitively) to the image overrides that apply.

    ``kustomizations`` holds (file, line, object) of every Kustomization read. ``resources``,
    ``bases`` and ``components`` entries are followed: a file is included as is, a directory through
    its own Kustomization. Files are keyed by normalised path.
    """
    by_dir = {
        os.path.normpath(os.path.dirname(file)): (file, line, obj) for file, line, obj in kustomizations
    }
    memo: dict[str, set[str]] = {}

    def included(directory: str, seen: frozenset[str]) -> set[str]:
        if directory in memo:
            return memo[directory]
        entry = by_dir.get(directory)
        files: set[str] = set()
        if entry is None or directory in seen:
            return files
        obj = entry[2]
        for key in ("resources", "bases", "components", "patchesStrategicMerge"):
            items = obj.get(key)
            if not isinstance(items, list):
                continue
            for item in items:
                if not isinstance(item, str) or "://" in item:
                    continue
                target = os.path.normpath(os.path.join(directory, item))
                if target in by_dir:
                    files |= included(target, seen | {directory})
                else:
                    files.add(target)
        memo[directory] = files
        return files

    out: dict[str, list[ImageOverride]] = {}
    for directory, (file, line, obj) in by_dir.items():
        images = obj.get("images")
        if not isinstance(images, list):
            continue
        overrides = [
            ImageOverride(
                kustomization=file,
                line=line,
                name=str(entry["name"]),
                new_name=_str(entry.get("newName")),
                new_tag=_str(entry.get("newTag")),
                digest=_str(entry.get("digest")),
            )
            for entry in images
            if isinstance(entry, dict) and entry.get("name")
        ]
        for target in included(directory, frozenset()):
            out.setdefault(target, []).extend(overrides)
    return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# --- skaffold artifacts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """An image a skaffold configuration builds and writes into the manifests it deploys."""

    config: str  # file of the skaffold configuration
    line: int
    name: str
    tag_policy: str | None  # gitCommit, inputDigest, sha256... (None: skaffold's default, gitCommit)

    def describe(self) -> str:
        policy = f", tagPolicy {self.tag_policy}" if self.tag_policy else ""
        return f"{self.config}:{self.line} builds {self.name}{policy}"


def skaffold_builds(configs: list[tuple[str, int, dict[str, Any]]]) -> list[BuiltImage]:
    """Images the skaffold configurations read build (``build.artifacts[].image``, in profiles too).

    skaffold replaces every reference to an artifact's image in the manifests it deploys with the tag
    it built, so such a reference in a manifest below the configuration's directory is a name, not a
    tag the cluster pulls (skaffold.dev docs: "Image tagging", "Deployers")."""
    out: list[BuiltImage] = []
    for file, line, obj in configs:
        sections = [obj, *(p for p in _as_list(obj.get("profiles")) if isinstance(p, dict))]
        for section in sections:
            build = section.get("build")
            if not isinstance(build, dict):
                continue
            policy = build.get("tagPolicy")
            policy_name = next(iter(policy), None) if isinstance(policy, dict) and policy else None
            for artifact in _as_list(build.get("artifacts")):
                if isinstance(artifact, dict) and isinstance(artifact.get("image"), str):
                    out.append(BuiltImage(file, line, artifact["image"], policy_name))
    return out


def built_by(builds: list[BuiltImage], manifest: str, ref: ImageRef) -> BuiltImage | None:
    """The skaffold build that rewrites ``ref`` in ``manifest`` (its configuration's directory holds the
    manifest), if any."""
    where = os.path.normpath(manifest)
    for build in builds:
        root = os.path.dirname(os.path.normpath(build.config))
        inside = not root or where.startswith(root + os.sep)
        if inside and build.name == ref.name:
            return build
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
