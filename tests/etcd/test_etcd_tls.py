"""Scraping a real etcd that serves clients over https with --client-cert-auth, and plain-http
metrics on a separate port as kubeadm does (127.0.0.1:2381)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .etcd_harness import Certs, Member, run_json, run_premortem


def tls_args(member: Member, *, ca: bool = True, cert: bool = True) -> list[str]:
    assert member.tls
    args = ["--cacert", str(member.tls.ca)] if ca else []
    if cert:
        args += ["--cert", str(member.tls.client_cert), "--key", str(member.tls.client_key)]
    return args


def test_https_with_client_certificate(tls_etcd):
    member, _ = tls_etcd
    code, out = run_json("etcd", "--metrics", member.client_url, *tls_args(member))
    assert code == 0, out
    assert out["summary"]["verdict"] == "healthy"
    assert out["summary"]["members"][0]["source"] == member.client_url


def test_insecure_skips_server_verification_but_still_sends_the_client_certificate(tls_etcd):
    member, _ = tls_etcd
    code, _ = run_json("etcd", "--metrics", member.client_url, "--insecure", *tls_args(member, ca=False))
    assert code == 0


def test_plain_http_metrics_port_like_kubeadm_2381(tls_etcd):
    _, metrics_url = tls_etcd
    code, out = run_json("etcd", "--metrics", metrics_url)
    assert code == 0 and out["summary"]["verdict"] == "healthy"


@pytest.mark.parametrize(
    ("ca", "cert", "insecure", "message"),
    [
        (False, True, False, "TLS certificate not trusted"),
        (True, False, False, "client certificate"),
        (False, False, True, "client certificate"),
    ],
)
def test_tls_problems_exit_2_with_what_to_pass(tls_etcd, ca, cert, insecure, message):
    member, _ = tls_etcd
    args = ["etcd", "--metrics", member.client_url, *tls_args(member, ca=ca, cert=cert)]
    out = run_premortem(*args, *(["--insecure"] if insecure else []))
    assert out.returncode == 2, out.stdout
    assert message in out.stderr and "Traceback" not in out.stderr


def test_client_certificate_from_another_ca_is_reported_as_rejected(tls_etcd):
    member, _ = tls_etcd
    assert member.tls
    stranger = Certs(Path(__file__).resolve().parent / "data" / "pki" / "other")
    out = run_premortem(
        "etcd", "--metrics", member.client_url, "--cacert", str(member.tls.ca),
        "--cert", str(stranger.client_cert), "--key", str(stranger.client_key),
    )  # fmt: skip
    assert out.returncode == 2
    assert "rejected the client certificate" in out.stderr and "--trusted-ca-file" in out.stderr
