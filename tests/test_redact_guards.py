"""redact() skips each pattern when its literal is absent; the answer is the one running every
pattern gives (the reference below is redact() before the guards)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from premortem import redact as r

_HINT = re.compile(r"pass|pwd|secret|token|key|cred|auth|cookie|literal|@|-u|--user|-p|-a", re.IGNORECASE)


def reference(text: str) -> str:
    if not text or not _HINT.search(text):
        return text
    out = r._sub_last(r._FROM_LITERAL, text)
    out = r._sub_last(r._AUTH_HEADER, out)
    out = r._sub_last(r._KEY_HEADER, out)
    out = r._sub_last(r._CURL_USER, out)
    out = r._USERINFO.sub(lambda m: f"{m.group(1)}:{r._masked(m.group(2))}@", out)
    out = r._sub_last(r._FLAG, out, check_key=True)
    out = r._sub_last(r._ASSIGN, out, check_key=True)
    out = r._sub_last(r._NAME_VALUE, out)
    if r._MYSQL.search(out):
        out = r._sub_last(r._MYSQL_P, out)
    if r._REDIS.search(out):
        out = r._sub_last(r._REDIS_A, out)
    return out


PIECES = [
    "--from-literal=password=",
    "Authorization: Bearer ",
    "X-Api-Key: ",
    "Cookie: ",
    "x-vault-token: ",
    "curl -u admin:",
    "--user ",
    "http://app:",
    "@db:5432",
    "@sha256:",
    "@SHA256:",
    "nginx:1.2@sha256:ab",
    "--token=",
    "--db-password ",
    "PASSWORD=",
    "DB_TOKEN: ",
    '"apiKey": "',
    "rootPassword: ",
    '{"name": "API_KEY", "value": "',
    "mysql -uroot -p",
    "redis-cli -a ",
    "$(TOKEN)",
    "${PASS}",
    "paſſword=",
    "credentıals: ",
    "cookİe: ",
    "\u212aey",
    "hunter2",
    " ",
    "'",
    '"',
    "\n",
    "x",
    "=",
    ":",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
def test_guarded_redact_equals_running_every_pattern(text):
    assert r.redact(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_guarded_redact_equals_running_every_pattern_on_any_text(text):
    assert r.redact(text) == reference(text)
