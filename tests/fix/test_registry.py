"""--resolve-digests against a real registry: Debian's docker-registry (distribution) on loopback.

The test pushes an image over the distribution API itself (monolithic blob uploads: POST then PUT
with ?digest=, then PUT of the manifest) and checks that `fix --resolve-digests` pins the tag to
exactly the digest the registry stored. A second registry requires htpasswd Basic auth, with the
credentials in a Docker config.json; a third uses distribution's token auth (Bearer), with a token
issuer whose RS256 key and certificate openssl makes.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

import pytest
from click.testing import CliRunner

from fix.helpers import fix_run, rules_found
from premortem.cli.fix import fix as fix_command
from premortem.fix.oci import DigestResolver, RegistryError, docker_credentials, target_of
from premortem.model.image import parse_image

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _htpasswd_line(user: str, password: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # bcrypt through libcrypt; the registry accepts only bcrypt in htpasswd
    except ImportError:
        return None
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))  # cost 4: quick checks
    return f"{user}:{hashed}" if hashed and hashed.startswith("$2") else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """The token server of distribution's token auth: a self-signed RS256 key (openssl), tokens with the
    access the client asks for, the certificate in the JWT's x5c header. The registry verifies them."""

    SERVICE = "premortem-test-registry"
    ISSUER = "premortem-test-issuer"

    def __init__(self, root: str) -> None:
        os.makedirs(root, exist_ok=True)
        self.key_path = os.path.join(root, "token.key")
        self.cert_path = os.path.join(root, "token.crt")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key_path,
             "-out", self.cert_path, "-days", "1", "-subj", "/CN=premortem-token-issuer"],
            check=True, capture_output=True,
        )  # fmt: skip
        with open(self.cert_path) as handle:
            self.x5c = "".join(line.strip() for line in handle if "CERTIFICATE" not in line)
        self.requests: list[dict[str, list[str]]] = []
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                issuer.requests.append(query)
                scope = query.get("scope", [""])[0]
                body = json.dumps({"token": issuer.issue(scope)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def issue(self, scope: str) -> str:
        access = []
        if scope.startswith("repository:"):
            _, name, actions = scope.split(":", 2)
            access.append({"type": "repository", "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {
            "iss": self.ISSUER,
            "sub": "premortem-test",
            "aud": self.SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": os.urandom(8).hex(),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key_path],
            input=signing_input.encode(), check=True, capture_output=True,
        ).stdout  # fmt: skip
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Registry:
    def __init__(
        self, root: str, auth: tuple[str, str] | None = None, issuer: TokenIssuer | None = None
    ) -> None:
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = auth
        self.issuer = issuer
        storage = os.path.join(root, "storage")
        os.makedirs(storage, exist_ok=True)
        config = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            f"storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}",
            f"http: {{addr: '{self.host}'}}",
        ]
        if auth is not None:
            line = _htpasswd_line(*auth)
            if line is None:
                pytest.skip("no bcrypt in this Python's crypt module")
            htpasswd = os.path.join(root, "htpasswd")
            with open(htpasswd, "w") as handle:
                handle.write(line + "\n")
            config.append(f"auth: {{htpasswd: {{realm: premortem-test, path: {htpasswd}}}}}")
        if issuer is not None:
            config.append(
                f"auth: {{token: {{realm: '{issuer.realm}', service: {TokenIssuer.SERVICE}, "
                f"issuer: {TokenIssuer.ISSUER}, rootcertbundle: {issuer.cert_path}}}}}"
            )
        self.config = os.path.join(root, "config.yml")
        with open(self.config, "w") as handle:
            handle.write("\n".join(config) + "\n")
        self.log = open(os.path.join(root, "registry.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdout=self.log, stderr=self.log)
        self._wait()

    def _wait(self) -> None:
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: see {self.log.name}")
            try:
                self.call("GET", "/v2/")
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        url = path if path.startswith("http") else f"http://{self.host}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        if self.auth is not None:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        if self.issuer is not None:
            name = (
                path.split("/v2/", 1)[1].split("/blobs/")[0].split("/manifests/")[0] if "/v2/" in path else ""
            )
            if name:
                token = self.issuer.issue(f"repository:{name}:pull,push")
                request.add_header("Authorization", f"Bearer {token}")
        return urllib.request.urlopen(request, timeout=10)

    def push_blob(self, name: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.call("POST", f"/v2/{name}/blobs/uploads/") as response:
            assert response.status == 202
            location = response.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        sep = "&" if "?" in location else "?"
        with self.call(
            "PUT",
            f"{location}{sep}digest={digest}",
            data,
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        ) as response:
            assert response.status == 201
        return digest

    def push_image(self, name: str, tag: str, payload: bytes) -> str:
        """Push a one-layer OCI image; returns the manifest digest the registry reports."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        config_digest = self.push_blob(name, config)
        layer_digest = self.push_blob(name, payload)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest,
                        "size": len(payload),
                    }
                ],
            },
            indent=2,
        ).encode()
        with self.call("PUT", f"/v2/{name}/manifests/{tag}", manifest, {"Content-Type": OCI_MANIFEST}) as r:
            assert r.status == 201
            reported = r.headers["Docker-Content-Digest"]
        assert reported == "sha256:" + hashlib.sha256(manifest).hexdigest()
        return str(reported)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("auth-registry")), auth=("ci", "s3cret-pass"))
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    root = str(tmp_path_factory.mktemp("token-registry"))
    issuer = TokenIssuer(os.path.join(root, "issuer"))
    reg = Registry(root, issuer=issuer)
    yield reg
    reg.stop()
    issuer.stop()


def _deployment(image: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
        - name: api
          image: "{image}"   # pinned by CI
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def test_resolve_digests_pins_to_the_pushed_digest(registry, tmp_path):
    digest = registry.push_image("team/api", "1.4.2", b"layer-bytes-1")
    latest = registry.push_image("team/api", "latest", b"layer-bytes-2")
    assert digest != latest
    path = tmp_path / "deploy.yaml"
    text = _deployment(f"{registry.host}/team/api:1.4.2")
    path.write_text(text)
    result = CliRunner().invoke(fix_command, [str(path), "--write", "--resolve-digests"])
    assert result.exit_code == 0, result.output
    fixed = path.read_text()
    assert f'image: "{registry.host}/team/api:1.4.2@{digest}"   # pinned by CI' in fixed
    assert fixed.replace(f"@{digest}", "") == text
    assert not {"IMG001", "IMG002"} & set(rules_found(fixed))
    # untagged: resolved as :latest, written as repo@digest
    untagged = fix_run(
        {"u.yaml": _deployment(f"{registry.host}/team/api")}, resolve_digests=True, resolver=DigestResolver()
    )
    assert f'image: "{registry.host}/team/api@{latest}"' in untagged.files[0].fixed


def test_missing_tag_is_a_note_not_a_change(registry):
    registry.push_image("team/api", "1.0.0", b"x")
    text = _deployment(f"{registry.host}/team/api:9.9.9")
    run = fix_run({"d.yaml": text}, resolve_digests=True, resolver=DigestResolver())
    assert run.files[0].fixed == text
    notes = [o.message for o in run.outcomes if o.finding.rule == "IMG002"]
    assert notes and "no such tag" in notes[0]


def test_basic_auth_from_docker_config(auth_registry, tmp_path, monkeypatch):
    digest = auth_registry.push_image("team/worker", "2.0.1", b"worker-layer")
    ref = parse_image(f"{auth_registry.host}/team/worker:2.0.1")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-config"))
    with pytest.raises(RegistryError, match="access denied"):
        DigestResolver().resolve(ref)
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    auth = base64.b64encode(b"ci:s3cret-pass").decode()
    (config_dir / "config.json").write_text(
        json.dumps({"auths": {f"http://{auth_registry.host}": {"auth": auth}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    assert docker_credentials(auth_registry.host) == ("ci", "s3cret-pass")
    assert DigestResolver().resolve(ref) == digest


def test_bearer_token_auth(token_registry):
    digest = token_registry.push_image("team/tokened", "3.1.0", b"token-layer")
    with pytest.raises(urllib.error.HTTPError) as denied:  # the registry really wants a token
        urllib.request.urlopen(f"http://{token_registry.host}/v2/team/tokened/manifests/3.1.0", timeout=10)
    assert denied.value.code == 401
    assert 'Bearer realm="' in denied.value.headers["WWW-Authenticate"]
    before = len(token_registry.issuer.requests)
    resolver = DigestResolver()
    assert resolver.resolve(parse_image(f"{token_registry.host}/team/tokened:3.1.0")) == digest
    asked = token_registry.issuer.requests[before:]
    assert asked and asked[0]["scope"] == ["repository:team/tokened:pull"]
    assert asked[0]["service"] == [TokenIssuer.SERVICE]


def test_stdin_mode_writes_fixed_yaml(registry):
    digest = registry.push_image("team/api", "1.4.2", b"layer")
    text = _deployment(f"{registry.host}/team/api:1.4.2")
    result = CliRunner().invoke(fix_command, ["-", "--resolve-digests", "--rule", "IMG002"], input=text)
    assert result.exit_code == 0, result.output
    assert f"team/api:1.4.2@{digest}" in result.stdout


def test_docker_hub_names_are_normalised():
    target = target_of(parse_image("nginx:1.25"))
    assert (target.host, target.repository, target.scheme) == (
        "registry-1.docker.io",
        "library/nginx",
        "https",
    )
    assert target_of(parse_image("docker.io/bitnami/redis")).repository == "bitnami/redis"
    assert target_of(parse_image("localhost:5000/a:1")).scheme == "http"
    assert target_of(parse_image("registry.internal:5000/a:1")).scheme == "https"
    assert target_of(
        parse_image("registry.internal:5000/a:1"), frozenset({"registry.internal:5000"})
    ).scheme == ("http")


def test_unreachable_registry_is_reported():
    port = _free_port()  # nothing listens there
    resolver = DigestResolver(timeout=5)
    with pytest.raises(RegistryError, match="cannot reach"):
        resolver.resolve(parse_image(f"127.0.0.1:{port}/a:1"))
    assert f"127.0.0.1:{port}" in resolver._unreachable  # the next image of that registry fails at once
    with pytest.raises(RegistryError, match="cannot reach"):
        resolver.resolve(parse_image(f"127.0.0.1:{port}/b:2"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
