"""Real components for the etcd tests: etcd members on loopback ports and a FUSE mount whose fsync is
slow. Everything started here is stopped by ``close()``/``stop()``, which the fixtures call in
finalizers, so a failing test still leaves no process and no mount behind."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from conftest import run_cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SLOWFS = HERE / "slowfs.py"


class Unavailable(Exception):
    """The machine genuinely cannot run this component (no FUSE permission...): tests skip."""


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (bound together, so they differ; released before use)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


# -- the slow filesystem


@dataclass
class SlowMount:
    """A FUSE passthrough of ``backing`` at ``mountpoint`` whose fsync/fdatasync sleeps ``delay`` s."""

    backing: Path
    mountpoint: Path
    delay: float
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self) -> SlowMount:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.log = self.mountpoint.parent / f"{self.mountpoint.name}.fuse.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(SLOWFS), str(self.backing), str(self.mountpoint), str(self.delay)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 15
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None:
                text = self.log.read_text(errors="replace")
                if "not permitted" in text or "Permission denied" in text:
                    raise Unavailable(f"FUSE mount not permitted here: {text.strip()[-300:]}")
                raise RuntimeError(f"slowfs exited with {self.proc.returncode}: {text[-2000:]}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("slowfs did not mount within 15 s")
            time.sleep(0.05)
        return self

    def close(self) -> None:
        if os.path.ismount(self.mountpoint):
            fusermount = shutil.which("fusermount3") or shutil.which("fusermount")
            done = False
            if fusermount:
                done = (
                    subprocess.run([fusermount, "-u", str(self.mountpoint)], capture_output=True).returncode
                    == 0
                )
            if not done:
                subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
        if self.proc is not None:
            _stop_process(self.proc)


# -- certificates


@dataclass
class Certs:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate.

    The tests use the pairs committed under tests/etcd/data/pki/ (valid for 100 years, test-only
    keys), so they need no openssl; ``create`` is how they were made:
    ``Certs(Path("tests/etcd/data/pki/main")).create(days=36500)``.
    """

    directory: Path

    ca = property(lambda self: self.directory / "ca.crt")
    server_cert = property(lambda self: self.directory / "server.crt")
    server_key = property(lambda self: self.directory / "server.key")
    client_cert = property(lambda self: self.directory / "client.crt")
    client_key = property(lambda self: self.directory / "client.key")

    def create(self, days: int = 2) -> Certs:
        openssl = shutil.which("openssl")
        if not openssl:
            raise Unavailable("openssl not installed: cannot make test certificates")
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

        def run(*args: str) -> None:
            subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

        run(
            "req",
            "-x509",
            *ec,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            str(days),
            "-subj",
            "/CN=premortem test CA",
        )
        for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
            run(
                "req",
                *ec,
                "-keyout",
                f"{name}.key",
                "-out",
                f"{name}.csr",
                "-subj",
                f"/CN=premortem test {name}",
            )
            (d / f"{name}.ext").write_text(f"subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n")
            run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", str(days), "-extfile", f"{name}.ext")  # fmt: skip
        return self

    def etcd_args(self) -> list[str]:
        return [
            "--cert-file", str(self.server_cert),
            "--key-file", str(self.server_key),
            "--trusted-ca-file", str(self.ca),
            "--client-cert-auth",
        ]  # fmt: skip


# -- etcd members


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    wal_dir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)
    tls: Certs | None = None  # serve clients over https and require a client certificate

    @property
    def client_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.tls.ca))
        ctx.load_cert_chain(str(self.tls.client_cert), str(self.tls.client_key))
        return ctx

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.client_url}/metrics"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    members: list[Member]

    def start(self, etcd: str, heartbeat_ms: int = 100, election_ms: int = 1000) -> Cluster:
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for m in self.members:
            args = [
                etcd,
                "--name", m.name,
                "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url,
                "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url,
                "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", initial,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", f"premortem-test-{os.getpid()}",
                "--heartbeat-interval", str(heartbeat_ms),
                "--election-timeout", str(election_ms),
                "--logger", "zap",
                "--log-outputs", "stderr",
                *(["--wal-dir", str(m.wal_dir)] if m.wal_dir else []),
                *(m.tls.etcd_args() if m.tls else []),
                *m.extra_args,
            ]  # fmt: skip
            with open(m.log, "wb") as out:
                m.proc = subprocess.Popen(
                    args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        try:
            for m in self.members:
                self._wait_healthy(m)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, m: Member, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert m.proc is not None
            if m.proc.poll() is not None:
                raise RuntimeError(f"etcd {m.name} exited with {m.proc.returncode}:\n{m.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(
                    f"{m.client_url}/health", timeout=2, context=m.ssl_context()
                ) as r:
                    if json.load(r).get("health") == "true":
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"etcd {m.name} not healthy within {timeout:.0f}s:\n{m.log_text()[-3000:]}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop every member, even when one of them will not die (it is killed; the error is raised
        after the others are stopped)."""
        errors: list[BaseException] = []
        for m in self.members:
            if m.proc is not None:
                try:
                    _stop_process(m.proc)
                except (subprocess.TimeoutExpired, OSError) as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]

    def leader(self) -> Member | None:
        for m in self.members:
            status = etcdctl(m, "endpoint", "status", "-w", "json")
            info = json.loads(status)[0]["Status"]
            if info["header"]["member_id"] == info["leader"]:
                return m
        return None

    def member_id(self, m: Member) -> str:
        info = json.loads(etcdctl(m, "endpoint", "status", "-w", "json"))[0]["Status"]
        return format(info["header"]["member_id"], "x")


def etcdctl(m: Member, *args: str, timeout: float = 20.0) -> str:
    ctl = shutil.which("etcdctl")
    assert ctl, "etcdctl not installed"
    tls = (
        ["--cacert", str(m.tls.ca), "--cert", str(m.tls.client_cert), "--key", str(m.tls.client_key)]
        if m.tls
        else []
    )
    out = subprocess.run(
        [ctl, "--endpoints", m.client_url, "--command-timeout", "15s", *tls, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"etcdctl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def put(m: Member, key: str, value: str, timeout: float = 10.0) -> None:
    """One write through etcd's gRPC gateway (cheaper than starting etcdctl per key)."""
    body = json.dumps(
        {"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value.encode()).decode()}
    ).encode()
    request = urllib.request.Request(
        f"{m.client_url}/v3/kv/put", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout, context=m.ssl_context()) as r:
        r.read()


def load(m: Member, writes: int, prefix: str = "premortem/test/") -> None:
    for i in range(writes):
        if m.tls:  # etcd 3.4's gateway answers 503 under --client-cert-auth: go through etcdctl
            etcdctl(m, "put", f"{prefix}{i % 50}", "x" * 200)
        else:
            put(m, f"{prefix}{i % 50}", "x" * 200)


# -- the CLI under test


def run_premortem(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin, timeout=timeout)


def run_json(*args: str) -> tuple[int, dict]:
    out = run_premortem(*args, "--format", "json")
    assert "Traceback" not in out.stderr, out.stderr
    try:
        return out.returncode, json.loads(out.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"no JSON on stdout (exit {out.returncode}): {out.stdout}\n{out.stderr}"
        ) from None
