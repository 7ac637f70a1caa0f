"""Fetch an etcd member's /metrics: from a URL (http, or https with client certificates) or a file."""

from __future__ import annotations

import http.client
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from premortem.etcd.metrics import MemberMetrics, MetricsError, parse_metrics
from premortem.redact import redact

MAX_BYTES = 64 * 1024**2  # a real /metrics page is ~100 KiB; refuse to buffer something absurd


class ScrapeError(Exception):
    """The source could not be read; the message says what to check."""


@dataclass(frozen=True)
class TLSOptions:
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False

    def context(self) -> ssl.SSLContext:
        for option, path in (("--cacert", self.cacert), ("--cert", self.cert), ("--key", self.key)):
            if path and not Path(path).is_file():
                raise ScrapeError(f"TLS file not found: {path} (given to {option})")
        try:
            ctx = ssl.create_default_context(cafile=self.cacert)
            if self.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if self.cert:
                ctx.load_cert_chain(self.cert, self.key)
        except (ssl.SSLError, OSError) as exc:
            raise ScrapeError(f"cannot load the TLS certificates/key: {exc}") from None
        return ctx


def is_url(source: str) -> bool:
    return bool(re.match(r"^https?://", source, re.IGNORECASE))


def metrics_url(source: str) -> str:
    """etcd serves metrics at /metrics; a bare ``https://host:2379`` means that."""
    parts = urllib.parse.urlsplit(source)
    if parts.path in ("", "/"):
        parts = parts._replace(path="/metrics")
    return urllib.parse.urlunsplit(parts)


def read_source(source: str, tls: TLSOptions | None = None, timeout: float = 10.0) -> str:
    from premortem.load.files import InputError, read_file_text, read_stream

    if source == "-":
        try:
            return read_stream(sys.stdin.buffer, MAX_BYTES)
        except InputError as exc:
            raise ScrapeError(f"stdin: {exc}") from None
    if is_url(source):
        return _fetch(metrics_url(source), tls or TLSOptions(), timeout)
    path = Path(source)
    if not path.exists():
        hint = ""
        if re.match(r"^[\w.-]+:\d+(/.*)?$", source):
            hint = f" (a URL needs its scheme: http://{source} or https://{source})"
        raise ScrapeError(f"{source}: no such file{hint}")
    if path.is_dir():
        raise ScrapeError(f"{source}: is a directory, expected a metrics file or a URL")
    try:
        return read_file_text(source)
    except InputError as exc:
        raise ScrapeError(f"{source}: {exc}") from None
    except OSError as exc:
        raise ScrapeError(f"{source}: cannot read: {exc.strerror}") from None


def _fetch(url: str, tls: TLSOptions, timeout: float) -> str:
    """The body at ``url``, within ``timeout`` seconds in all: connecting, TLS, headers and body (a
    server that drips one byte a second cannot hold the scrape longer; socket timeouts alone are per
    read). The request runs in a daemon thread that is abandoned at the deadline."""
    context = tls.context() if url.lower().startswith("https://") else None
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(_request(url, context, tls, timeout))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="premortem-scrape", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise ScrapeError(
            f"{redact(url)}: no complete answer within {timeout:g}s (--timeout is for the whole scrape)"
        )
    result = outcome[0]
    if isinstance(result, ScrapeError):
        raise ScrapeError(redact(str(result))) from None
    if isinstance(result, BaseException):
        raise ScrapeError(f"{redact(url)}: {type(result).__name__}: {result}") from None
    assert isinstance(result, str)
    return result


def _request(url: str, context: ssl.SSLContext | None, tls: TLSOptions, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            body: bytes = response.read(MAX_BYTES + 1)
    except http.client.LineTooLong:
        raise ScrapeError(f"{url}: a header line longer than 64 KiB: not an etcd metrics endpoint") from None
    except (http.client.HTTPException, ConnectionResetError) as exc:
        raise ScrapeError(
            f"{url}: not an HTTP answer ({type(exc).__name__}); is this the metrics port? (kubeadm: "
            "http://127.0.0.1:2381/metrics, or https://HOST:2379 with client certificates)"
        ) from None
    except urllib.error.HTTPError as exc:
        raise ScrapeError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise ScrapeError(
                f"{url}: TLS certificate not trusted ({reason.verify_message}); pass --cacert "
                "(kubeadm: /etc/kubernetes/pki/etcd/ca.crt) or --insecure"
            ) from None
        if isinstance(reason, ssl.SSLError):
            raise ScrapeError(_tls_problem(url, reason, tls)) from None
        raise ScrapeError(f"{url}: cannot connect: {_reason(reason)}") from None
    except TimeoutError:
        raise ScrapeError(f"{url}: no answer within {timeout:g}s") from None
    except ssl.SSLError as exc:  # TLS 1.3: a rejected client certificate shows up on the first read
        raise ScrapeError(_tls_problem(url, exc, tls)) from None
    except (OSError, ValueError) as exc:
        raise ScrapeError(f"{url}: {exc}") from None
    if len(body) > MAX_BYTES:
        raise ScrapeError(f"{url}: answer larger than {MAX_BYTES // 1024**2} MiB, not a metrics page")
    return body.decode("utf-8", errors="replace")


def _tls_problem(url: str, exc: ssl.SSLError, tls: TLSOptions) -> str:
    what = exc.reason or str(exc)
    alerts = ("BAD_CERTIFICATE", "CERTIFICATE_REQUIRED", "HANDSHAKE_FAILURE", "UNKNOWN_CA")
    rejected = any(alert in str(what).upper() for alert in alerts)
    if isinstance(exc, ssl.SSLEOFError) or "EOF occurred" in str(exc):
        # Go's TLS server may hang up without an alert when it refuses the client's certificate.
        rejected, what = True, "the server closed the connection during the handshake"
    if rejected and not tls.cert:
        return (
            f"{url}: the server asks for a client certificate ({what}): pass --cert and --key "
            "(kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.crt and .key), or scrape the plain "
            "metrics port (kubeadm: http://127.0.0.1:2381/metrics)"
        )
    if rejected:
        return (
            f"{url}: the server rejected the client certificate {tls.cert} ({what}): it must be signed by "
            "the CA in etcd's --trusted-ca-file"
        )
    return f"{url}: TLS handshake failed ({what})"


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def scrape(source: str, tls: TLSOptions | None = None, timeout: float = 10.0) -> MemberMetrics:
    text = read_source(source, tls, timeout)
    shown = redact(source)  # a URL may carry user:password@
    try:
        member = parse_metrics(text, shown)
    except MetricsError as exc:
        raise ScrapeError(str(exc)) from None
    if is_url(source):
        member.scraped_at = time.time()
    return member
