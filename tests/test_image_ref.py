"""The image reference table: registry ports, digests, tags, and what the runtime refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.model.image import parse_image

SHA = "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

# raw, registry, repository, tag, digest, is_latest, default pull policy
TABLE = [
    ("nginx", None, "nginx", None, None, True, "Always"),
    ("nginx:latest", None, "nginx", "latest", None, True, "Always"),
    ("nginx:1.25.3", None, "nginx", "1.25.3", None, False, "IfNotPresent"),
    ("library/nginx:1.25", None, "library/nginx", "1.25", None, False, "IfNotPresent"),
    ("docker.io/library/nginx", "docker.io", "library/nginx", None, None, True, "Always"),
    # A registry port is not a tag.
    ("registry:5000/app", "registry:5000", "app", None, None, True, "Always"),
    ("registry:5000/app:1.0", "registry:5000", "app", "1.0", None, False, "IfNotPresent"),
    ("localhost:5000/app:1.0", "localhost:5000", "app", "1.0", None, False, "IfNotPresent"),
    ("localhost/app", "localhost", "app", None, None, True, "Always"),
    ("[::1]:5000/team/app:2", "[::1]:5000", "team/app", "2", None, False, "IfNotPresent"),
    (
        "registry.example.com:443/a/b/c:v1.2-rc.1",
        "registry.example.com:443",
        "a/b/c",
        "v1.2-rc.1",
        None,
        False,
        "IfNotPresent",
    ),
    # Digests: digest-only has no tag (IfNotPresent); name:tag@digest keeps both, the digest wins.
    (f"app@{SHA}", None, "app", None, SHA, False, "IfNotPresent"),
    (f"registry:5000/app@{SHA}", "registry:5000", "app", None, SHA, False, "IfNotPresent"),
    (f"ghcr.io/org/app:1.2.3@{SHA}", "ghcr.io", "org/app", "1.2.3", SHA, False, "IfNotPresent"),
    # The facts-sheet edge case: pinned, yet the defaulting code looks at the tag and says Always.
    (f"app:latest@{SHA}", None, "app", "latest", SHA, False, "Always"),
    # An uppercase registry host is fine (only the path must be lowercase).
    (
        "Registry.Example.com/team/api:1.4.2",
        "Registry.Example.com",
        "team/api",
        "1.4.2",
        None,
        False,
        "IfNotPresent",
    ),
    ("MyRegistry/api:1", "MyRegistry", "api", "1", None, False, "IfNotPresent"),
]


@pytest.mark.parametrize(("raw", "registry", "repository", "tag", "digest", "latest", "policy"), TABLE)
def test_reference_table(raw, registry, repository, tag, digest, latest, policy):
    ref = parse_image(raw)
    assert ref.valid, ref.error
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert ref.is_latest is latest
    assert ref.is_pinned is (digest is not None)
    assert ref.default_pull_policy == policy


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        (" nginx:1.0", "whitespace"),
        ("nginx :1.0", "whitespace"),
        ("registry.example.com/Team/API:1.4.2", "lowercase"),
        ("BUSYBOX", "lowercase"),
        ("nginx:-bad", "tag"),
        ("nginx:1.0@sha256:abc", "digest"),
        ("nginx@sha256:" + "a" * 63 + "0" * 2, "64 hex"),
        ("nginx:" + "a" * 129, "tag"),
        ("bad_host_/app:1", "path"),
        ("app//x:1", "path"),
        ("a" * 64, "image id"),
        ("nginx@sha256:" + "A" * 64, "lowercase hex"),
    ],
)
def test_invalid_references(raw, reason):
    ref = parse_image(raw)
    assert not ref.valid
    assert reason in (ref.error or "")


@pytest.mark.parametrize(
    "raw",
    [
        "${IMAGE}",
        "$IMAGE_URL",
        "{{ .Values.image }}",
        "<DOCKER_REPO>/chatbot:1.0",
        "us-central1-docker.pkg.dev/PROJECT_ID/models/app:1.0",
        "REGION-docker.pkg.dev/PROJECT_ID/repo/app:v1",
        "ko://knative.dev/serving/cmd/controller",
        "CONTAINER_IMAGE",
    ],
)
def test_placeholders_are_invalid_and_recognised(raw):
    ref = parse_image(raw)
    assert not ref.valid
    assert ref.is_placeholder


def test_real_mistakes_are_not_placeholders():
    assert not parse_image("BUSYBOX").is_placeholder
    assert not parse_image("registry.example.com/Team/API:1.4.2").is_placeholder


_component = st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8})?", fullmatch=True)
# Without a registry the first component must not look like one (no '.' or ':'), or the runtime reads it
# as a registry host, which is the behaviour test_reference_table pins down.
_first = st.from_regex(r"[a-z0-9]{1,8}(?:[_-][a-z0-9]{1,8})?", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_host = st.from_regex(r"[a-z0-9]{1,8}\.[a-z]{2,5}", fullmatch=True)


@given(
    host=st.none() | _host,
    port=st.none() | st.integers(1, 65535),
    first=_first,
    path=st.lists(_component, min_size=0, max_size=2),
    tag=st.none() | _tag,
    digest=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_composed_references_round_trip(host, port, first, path, tag, digest):
    registry = None if host is None else (f"{host}:{port}" if port is not None else host)
    repository = "/".join([first, *path])
    raw = (f"{registry}/" if registry else "") + repository
    raw += f":{tag}" if tag is not None else ""
    raw += f"@sha256:{digest}" if digest is not None else ""
    ref = parse_image(raw)
    assert ref.valid, (raw, ref.error)
    assert ref.registry == registry
    assert ref.repository == repository
    assert ref.tag == tag
    assert ref.digest == (f"sha256:{digest}" if digest else None)
    # A registry port never leaks into the tag.
    assert ref.is_latest is (digest is None and tag in (None, "latest"))
