"""Credentials never reach an output; control characters never reach a terminal raw."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from premortem.findings import Finding, ObjectRef, Severity
from premortem.redact import MASK, clean, redact, shorten, terminal_safe

from .helpers import run

SECRET = "hunter2XY"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"mysqladmin ping -h 127.0.0.1 -uroot -p{SECRET}", "-uroot -p***"),
        (f"redis-cli -a {SECRET} ping", "-a *** ping"),
        (f"curl -u admin:{SECRET} http://x/health", "-u admin:***"),
        (f"curl -sf http://admin:{SECRET}@db:8080/health", "http://admin:***@db:8080/health"),
        (f"psql postgres://app:{SECRET}@db.prod:5432/x", "postgres://app:***@db.prod"),
        (f"curl -H 'Authorization: Bearer {SECRET}' http://x", "Authorization: Bearer ***"),
        (f"X-Api-Key: {SECRET}", "X-Api-Key: ***"),
        (f"PASSWORD={SECRET} ./check", "PASSWORD=*** ./check"),
        (f"export DB_PASSWORD='{SECRET}'", "DB_PASSWORD='***'"),
        (f"kubectl create secret generic x --from-literal=password={SECRET}", "--from-literal=password=***"),
        (f"app --token={SECRET} --db-password {SECRET}", "--token=*** --db-password ***"),
        (f'{{"name": "API_KEY", "value": "{SECRET}"}}', '"value": "***"'),
    ],
)
def test_credentials_are_masked(text, kept):
    out = redact(text)
    assert SECRET not in out
    assert kept in out


@pytest.mark.parametrize(
    "text",
    [
        "mysqladmin ping -uroot -p${MYSQL_ROOT_PASSWORD}",  # a reference, not a secret
        "pg_isready -U postgres -h $(POD_IP) -p 5432",
        "ssh -p 22 host",
        "user@example.com wrote",
        "liveness probe calls http://orders.prod.svc:8080/healthz",
        "--service-account-key-file=/etc/k.pem --token-auth-file=/etc/tokens.csv",
        "the kubelet's tokens; passwordless",
        "image registry.example.com/app:1.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ],
)
def test_what_is_not_a_secret_is_kept(text):
    assert redact(text) == text


def test_control_characters_are_escaped():
    assert terminal_safe("a\x1b[31mred\x07\u202e\nx") == "a\\e[31mred\\x07\\u202e\nx"
    assert terminal_safe("a\nb", keep_newlines=False) == "a\\nb"


def test_finding_text_is_cleaned_at_creation():
    finding = Finding(
        rule="PRB001",
        category="probes",
        severity=Severity.HIGH,
        message=f"liveness runs `mysql -h db -p{SECRET}`\x1b]0;pwned\x07",
        fix=f"use PASSWORD={SECRET} nowhere",
        object=ObjectRef("v1", "Pod", "ns", "evil\x1b[2J"),
        extra={"evidence": [f"curl -u a:{SECRET} x"]},
    )
    text = json.dumps(finding.to_json())
    assert SECRET not in text
    assert "\x1b" not in finding.message
    assert "\x1b" not in finding.object.display()  # type: ignore[union-attr]


def test_shorten_never_expands_a_big_value():
    bomb: list = ["lol"] * 9
    for _ in range(8):
        bomb = [bomb] * 9  # 9**9 leaves, shared
    assert len(shorten(bomb)) <= 81
    assert shorten("x" * 500).endswith("(420 more characters)")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_redact_and_escape_never_fail_and_are_idempotent(text):
    once = clean(text)
    assert clean(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "a:" * 100_000,
        "-" * 200_000,
        "--password" * 20_000,
        "x@" * 100_000,
        "password=" * 30_000,
    ],
)
def test_regexes_are_linear(text):
    # A quadratic pattern takes minutes on these; linear ones take milliseconds. No timing asserted:
    # a regression shows as a hang (the suite's own timeout).
    redact(text)


PROBE = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: "db\\e[31mclient\\x07", namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: c}}}}
  template:
    metadata: {{labels: {{app: c}}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.0.0
          livenessProbe:
            exec:
              command: ["sh", "-c", "mysqladmin ping -h orders-db.prod.svc -uroot -p{SECRET}"]
"""


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_scan_output_leaks_no_credential_and_no_escape(tmp_path, fmt):
    path = tmp_path / "probe.yaml"
    path.write_text(PROBE)
    proc = run("scan", str(path), "--format", fmt, "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    assert "PRB001" in proc.stdout
    assert SECRET not in proc.stdout
    assert "\x1b[31m" not in proc.stdout and "\x07" not in proc.stdout
    if fmt == "text":
        assert MASK in proc.stdout


@pytest.mark.parametrize(
    "text",
    [
        "container 'secret-app': image 'x:latest' uses the tag latest",
        "container 'ext-authz': image 'y'",
        "bypass=true compass: north",
        "--authentication-token-webhook=true --password-stdin",
    ],
)
def test_names_that_contain_a_secret_word_are_not_secrets(text):
    assert redact(text) == text


def test_camel_case_keys_are_secrets():
    assert redact(f"rootPassword: {SECRET}") == "rootPassword: ***"


def test_clean_masks_what_it_prints():
    """Found by hypothesis: escaping a control character can make a user:password@ shape; clean
    escapes first, then masks, so cleaning twice changes nothing."""
    once = clean("\x1f:0@0")
    assert once == "\\x1f:***@0"
    assert clean(once) == once
