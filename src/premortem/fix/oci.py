"""A small OCI distribution client: which digest does ``repo:tag`` name right now?

Only what ``--resolve-digests`` needs, on the standard library (urllib):

- ``HEAD /v2/<name>/manifests/<tag>`` with an ``Accept`` for the OCI image index, the OCI image
  manifest, the Docker manifest list and the Docker v2 manifest (so a multi-arch tag resolves to its
  index digest, as ``docker pull`` / containerd would pin it); the ``Docker-Content-Digest`` header is
  the answer. Registries that refuse HEAD or omit the header get a ``GET``, and the digest is the
  sha256 of the body exactly as served (distribution spec: the digest is over the manifest bytes).
- A ``401`` with ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` is answered by fetching a
  token from the realm (with Basic credentials when Docker's config has some for the registry), then
  retrying with ``Authorization: Bearer``; ``WWW-Authenticate: Basic`` is answered with the Basic
  credentials directly.
- Credentials: ``auths`` of ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` (``auth`` =
  base64 of ``user:password``, or ``username``/``password``). Credential helpers are not run.
- Docker Hub names are normalised as the runtime does: ``nginx`` is
  ``registry-1.docker.io/library/nginx``.
- https everywhere, except plain http for ``localhost``/``127.0.0.1``/``[::1]`` registries and hosts
  given with ``--insecure-registry``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from premortem.model.image import ImageRef

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
DOCKER_HUB_HOSTS = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
DOCKER_HUB_API = "registry-1.docker.io"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE_PARAM = re.compile(r'(?<!\w)(\w+)\s*=\s*"([^"]*)"')  # starts at a word: linear
USER_AGENT = "premortem-fix (OCI distribution client)"


class RegistryError(Exception):
    """The registry could not tell us the digest (message says why, for the user)."""


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # as contacted (Docker Hub normalised), host[:port]
    repository: str  # Docker Hub: library/ added for single-component names
    reference: str  # the tag
    scheme: str

    @property
    def url(self) -> str:
        return (
            f"{self.scheme}://{self.host}/v2/{self.repository}/manifests/{urllib.parse.quote(self.reference)}"
        )


def target_of(ref: ImageRef, insecure: frozenset[str] = frozenset()) -> Target:
    host = ref.registry_host
    repository = ref.repository
    if host.lower() in DOCKER_HUB_HOSTS:
        host = DOCKER_HUB_API
        if "/" not in repository:
            repository = f"library/{repository}"
    bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    plain = bare.lower() in LOOPBACK or host in insecure or bare in insecure
    return Target(host, repository, ref.tag or "latest", "http" if plain else "https")


def docker_credentials(host: str, config_path: str | None = None) -> tuple[str, str] | None:
    """(user, password) for ``host`` from Docker's config ``auths``, if any."""
    path = config_path or os.path.join(
        os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker"), "config.json"
    )
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = _registry_key(host)
    for key, entry in auths.items():
        if _registry_key(str(key)) != wanted or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(str(entry["auth"])).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return user, password
        if entry.get("username") is not None and entry.get("password") is not None:
            return str(entry["username"]), str(entry["password"])
    return None


def _registry_key(text: str) -> str:
    """'https://index.docker.io/v1/' and 'docker.io' and 'registry-1.docker.io' are one registry."""
    host = re.sub(r"^[a-z]+://", "", text.strip().lower()).split("/", 1)[0]
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


@dataclass
class DigestResolver:
    insecure: frozenset[str] = frozenset()
    timeout: float = 15.0
    config_path: str | None = None
    _cache: dict[str, str] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _unreachable: dict[str, str] = field(default_factory=dict)

    def resolve(self, ref: ImageRef) -> str:
        """The ``sha256:...`` digest the registry serves for ``ref``'s tag now. Raises RegistryError."""
        target = target_of(ref, self.insecure)
        if target.url in self._cache:
            return self._cache[target.url]
        if target.host in self._unreachable:  # one timeout per registry, not one per image
            raise RegistryError(self._unreachable[target.host])
        try:
            digest = self._resolve(target)
        except RegistryError as exc:
            if str(exc).startswith("cannot reach"):
                self._unreachable[target.host] = str(exc)
            raise
        if not _DIGEST.match(digest):
            raise RegistryError(f"{target.host} answered with an unexpected digest {digest!r}")
        self._cache[target.url] = digest
        return digest

    def _resolve(self, target: Target) -> str:
        status, headers, _ = self._request("HEAD", target)
        if status == 200 and headers.get("Docker-Content-Digest"):
            return str(headers["Docker-Content-Digest"]).strip()
        if status not in (200, 405, 403, 400):
            self._raise(status, target)
        status, headers, body = self._request("GET", target)
        if status != 200:
            self._raise(status, target)
        header = headers.get("Docker-Content-Digest")
        if header:
            return str(header).strip()
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _raise(self, status: int, target: Target) -> None:
        name = f"{target.host}/{target.repository}:{target.reference}"
        if status == 404:
            raise RegistryError(f"{name}: the registry has no such tag (404)")
        if status in (401, 403):
            raise RegistryError(
                f"{name}: access denied ({status}); log in (docker login {target.host}) or check the name"
            )
        raise RegistryError(f"{name}: the registry answered HTTP {status}")

    def _request(self, method: str, target: Target) -> tuple[int, Any, bytes]:
        headers = {"Accept": ", ".join(MANIFEST_TYPES), "User-Agent": USER_AGENT}
        token = self._tokens.get((target.host, target.repository))
        if token:
            headers["Authorization"] = token
        status, response_headers, body = self._send(method, target.url, headers)
        if status == 401 and not token:
            challenge = response_headers.get("WWW-Authenticate") or ""
            authorization = self._authorize(challenge, target)
            if authorization:
                self._tokens[(target.host, target.repository)] = authorization
                headers["Authorization"] = authorization
                status, response_headers, body = self._send(method, target.url, headers)
        return status, response_headers, body

    def _authorize(self, challenge: str, target: Target) -> str | None:
        scheme, _, params_text = challenge.strip().partition(" ")
        credentials = docker_credentials(target.host, self.config_path)
        if scheme.lower() == "basic":
            if credentials is None:
                return None
            return "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        if scheme.lower() != "bearer":
            return None
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        realm = params.get("realm")
        if not realm:
            return None
        query = {"service": params.get("service", "")}
        query["scope"] = params.get("scope") or f"repository:{target.repository}:pull"
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        if not url.startswith("https://") and not target.scheme == "http":
            raise RegistryError(f"{target.host}: refusing a token realm that is not https ({realm})")
        headers = {"User-Agent": USER_AGENT}
        if credentials is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        status, _, body = self._send("GET", url, headers)
        if status != 200:
            raise RegistryError(f"{target.host}: the token service {realm} answered HTTP {status}")
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise RegistryError(f"{target.host}: the token service {realm} returned no token")
        return f"Bearer {token}"

    def _send(self, method: str, url: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read() if method != "HEAD" else b""
        except urllib.error.HTTPError as exc:
            body = exc.read() if method != "HEAD" else b""
            return exc.code, exc.headers, body
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"cannot reach {urllib.parse.urlsplit(url).netloc}: {reason}") from None
