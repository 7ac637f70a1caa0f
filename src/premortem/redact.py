"""Secrets and terminals: mask credentials in text, escape control characters, shorten values.

Every output of premortem passes through here once: a ``Finding``'s text is cleaned when it is
created (findings.py), ``fix`` cleans its messages and diffs, ``etcd`` its sources and errors. Report
writers call ``terminal_safe`` on anything printed to a terminal that did not come from a finding
(file names, object names).

What counts as a credential (a value is masked as ``***``; the flag, key or user name stays so the
reader still sees *what* was there):

- URLs and ``user:password@host``: the password part.
- HTTP headers ``Authorization``/``Proxy-Authorization`` (the value after its scheme), ``X-Api-Key``,
  ``X-Auth-Token``, ``Cookie``.
- Command flags: ``--password[=| ]X``, ``--token``, ``--secret``, ``--api-key``, ``--client-secret``,
  ``--access-key``, ``--auth``, ``-u/--user user:pass`` (curl), ``--from-literal=key=X`` and
  ``--docker-password``; ``-pX`` after ``mysql``/``mysqladmin``/``mariadb``; ``-a X`` after
  ``redis-cli``.
- Assignments whose key names a secret: ``PASSWORD=X``, ``DB_TOKEN: X``, ``"apiKey": "X"``.

References are not secrets and are kept: ``$VAR``, ``${VAR}``, ``$(VAR)`` (Kubernetes' own expansion).

Every regular expression here is linear in the input: each one starts only at a token boundary
(a look-behind for a non-token character) and no quantified group overlaps another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "***"

# A value: a quoted string, or a run of characters up to whitespace / a quote / a separator.
_VALUE = r"""(?:"[^"\n]{0,4096}"|'[^'\n]{0,4096}'|[^\s"',;&|)}\]]{1,4096})"""
_SECRET_WORD = r"(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth)"
# What may come before the secret word in a key: nothing, words ending in a separator (DB_PASSWORD,
# mysql.password) or a camelCase word (rootPassword); not a word it ends ("bypass", "secret-app").
_PREFIX = r"(?:[\w.-]{0,40}(?:[_.-]|(?-i:[a-z0-9](?=[A-Z]))))?"

# --password=X, --password X, --db-password X, --client-secret=X, --token X ...
_FLAG = re.compile(
    rf"(?<![\w-])(--?{_PREFIX}{_SECRET_WORD})(=|[ \t]+)({_VALUE})",
    re.IGNORECASE,
)
# --from-literal=key=value, --from-literal key=value
_FROM_LITERAL = re.compile(r"(?<![\w-])(--from-literal(?:=|[ \t]+)[^=\s]{1,256}=)(" + _VALUE + ")")
# curl -u user:pass / --user user:pass / --proxy-user user:pass
_CURL_USER = re.compile(r"(?<![\w-])(-u|--user|--proxy-user)([ \t]+|=)?([^\s:'\"]{1,256}):(" + _VALUE + ")")
# scheme://user:pass@host and user:pass@host (not an image's repo:tag@sha256:digest)
_USERINFO = re.compile(
    r"(?<![\w.%+-])((?:[a-z][a-z0-9+.-]{0,20}://)?[\w.%+~-]{1,256}):([^\s@/'\"]{1,1024})@(?=[\w\[])"
    r"(?!sha256:|sha384:|sha512:)",
    re.IGNORECASE,
)
# Authorization: Bearer X / Basic X / X
_AUTH_HEADER = re.compile(
    r"(?<![\w-])((?:proxy-)?authorization[\"']?\s{0,8}[:=]\s{0,8}[\"']?(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?)"
    + r"([^\s\"',]{1,4096})",
    re.IGNORECASE,
)
_KEY_HEADER = re.compile(
    r"(?<![\w-])((?:x-api-key|x-auth-token|api-key|cookie|x-vault-token)[\"']?\s{0,8}:\s{0,8}[\"']?)([^\s\"']{1,4096})",
    re.IGNORECASE,
)
# PASSWORD=X, DB_PASSWORD: X, "apiKey": "X", password = X
_ASSIGN = re.compile(
    rf"(?<![\w-])({_PREFIX}{_SECRET_WORD}[\"']?[ \t]{{0,8}}(?:=|:[ \t])[ \t]{{0,8}})({_VALUE})",
    re.IGNORECASE,
)
# {"name": "DB_PASSWORD", "value": "X"} (an env entry rendered as JSON or flow YAML)
_NAME_VALUE = re.compile(
    rf"""(?<![\w-])(["']?name["']?:[ \t]{{0,8}}["']?{_PREFIX}{_SECRET_WORD}[\w.-]{{0,40}}["']?,[ \t]{{0,8}}"""
    rf"""["']?value["']?:[ \t]{{0,8}})({_VALUE})""",
    re.IGNORECASE,
)
# mysql -pSECRET (attached value), only in a command that names a MySQL client
_MYSQL = re.compile(r"\b(?:mysql|mysqladmin|mysqldump|mariadb|mariadb-admin)\b", re.IGNORECASE)
_MYSQL_P = re.compile(r"(?<![\w-])(-p)([^\s'\"]{1,1024})")
# redis-cli -a SECRET
_REDIS = re.compile(r"\bredis-cli\b", re.IGNORECASE)
_REDIS_A = re.compile(r"(?<![\w-])(-a|--pass)([ \t]+)(" + _VALUE + ")")

# Literals the patterns cannot match without (redact skips a pattern whose literal is absent).
_KEY_HEADER_NAMES = ("api-key", "x-auth-token", "cookie", "x-vault-token")
_SECRET_WORD_SEARCH = re.compile(_SECRET_WORD, re.IGNORECASE)

# Cheap pre-check: text with none of these (case-folded) cannot match any pattern above.
_HINT_WORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "cred",
    "auth",
    "cookie",
    "literal",
    "@",
    "-u",
    # -pX and -a X are masked only in a command that names the client (below): the name is the hint.
    "mysql",
    "mariadb",
    "redis-cli",
)
# What every _SECRET_WORD contains one of (folded), and the image digests _USERINFO leaves alone.
_SECRET_WORD_PARTS = ("pass", "pwd", "secret", "token", "key", "cred", "auth")
# Letters that IGNORECASE patterns match with an ASCII letter but str.lower() does not turn into one.
_FOLD = str.maketrans({"\u0131": "i", "\u0130": "i", "\u017f": "s", "\u212a": "k"})
_DIGEST_PREFIXES = ("sha256:", "sha384:", "sha512:")
_REFERENCE = re.compile(
    r"""^["']?(?:\$\{[\w.-]{1,256}\}|\$\([\w.-]{1,256}\)|\$[\w]{1,256}|\*+|<[^<>]{0,64}>)["']?$"""
)


# Flags and keys that name something about a secret, not the secret itself (--token-auth-file=PATH).
_NOT_A_SECRET_KEY = re.compile(
    r"file|path|dir|ttl|length|size|expir|period|count|mode|enabled|type|name|ref|mount", re.I
)
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate"})


def _masked(value: str) -> str:
    """``value`` with its secret part masked; references ($VAR) and masks are kept."""
    bare = value.strip("\"'")
    if _REFERENCE.match(value) or bare == MASK or bare.lower() in _AUTH_SCHEMES:
        return value
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0] + MASK + value[0]
    return MASK


def _userinfo_possible(text: str) -> bool:
    """``_USERINFO`` needs an '@' that does not start an image digest (``repo:tag@sha256:...``)."""
    at = text.find("@")
    while at >= 0:
        if not text.startswith(_DIGEST_PREFIXES, at + 1):
            return True
        at = text.find("@", at + 1)
    return False


def _sub_last(pattern: re.Pattern[str], text: str, check_key: bool = False) -> str:
    """Replace the last group of every match by its masked form (``check_key``: unless the first group
    names a file, a length... rather than the secret)."""

    def repl(match: re.Match[str]) -> str:
        groups = match.groups()
        if check_key and _NOT_A_SECRET_KEY.search(groups[0] or ""):
            return match.group(0)
        value = groups[-1] or ""
        start = match.start(len(groups)) - match.start()
        whole = match.group(0)
        return whole[:start] + _masked(value)

    return pattern.sub(repl, text)


def redact(text: str) -> str:
    """``text`` with every credential it carries masked (see the module docstring).

    Each pattern runs only on text holding a literal it cannot match without: a substring test is a
    hundred times cheaper than a pattern tried at every position, and every finding's message and
    fix come through here (most mention none of these words)."""
    if not text:
        return text
    # What IGNORECASE matches, as plain text (isascii() is free: CPython knows it).
    folded = text.lower() if text.isascii() else text.translate(_FOLD).lower()
    if not any(word in folded for word in _HINT_WORDS):
        return text
    out = text
    if "--from-literal" in out:
        out = _sub_last(_FROM_LITERAL, out)
    if "authorization" in folded:
        out = _sub_last(_AUTH_HEADER, out)
    if any(name in folded for name in _KEY_HEADER_NAMES):
        out = _sub_last(_KEY_HEADER, out)
    if "-u" in out:
        out = _sub_last(_CURL_USER, out)
    if _userinfo_possible(out):
        out = _USERINFO.sub(lambda m: f"{m.group(1)}:{_masked(m.group(2))}@", out)
    if any(word in folded for word in _SECRET_WORD_PARTS) and _SECRET_WORD_SEARCH.search(out):
        out = _sub_last(_FLAG, out, check_key=True)
        out = _sub_last(_ASSIGN, out, check_key=True)
        if "value" in out.translate(_FOLD).lower():
            out = _sub_last(_NAME_VALUE, out)
    if ("mysql" in folded or "mariadb" in folded) and _MYSQL.search(out):
        out = _sub_last(_MYSQL_P, out)
    if "redis-cli" in folded and _REDIS.search(out):
        out = _sub_last(_REDIS_A, out)
    return out


def names_secret(key: str) -> bool:
    """Whether a key (``DB_PASSWORD``, ``apiToken``) names a secret rather than something about one
    (``tokenFile``): its value must not be shown."""
    return bool(_SECRET_WORD_SEARCH.search(key)) and not _NOT_A_SECRET_KEY.search(key)


def redact_data(value: Any) -> Any:
    """``redact`` applied to every string inside lists and dicts (finding extras, JSON documents)."""
    return _walk(value, redact)


# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates
# that reorder what a terminal or editor shows (CVE-2021-42574, "Trojan Source"), and lone surrogates
# (a JSON or YAML "\\ud800" escape), which no output encoding can write.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_CONTROL_OR_NL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e"}
    if char in named:
        return named[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, keep_newlines: bool = True) -> str:
    """``text`` with control characters escaped (``\\e``, ``\\x07``, ``\\u202e``...) so that printing it
    cannot move the cursor, change colours or titles, or reorder what the reader sees."""
    pattern = _CONTROL if keep_newlines else _CONTROL_OR_NL
    return pattern.sub(_escape, text) if pattern.search(text) else text


def clean(text: str) -> str:
    """What every message goes through: credentials masked, control characters escaped. Remembered
    by text: many findings share a fix or a message (one rule on many objects)."""
    done = _CLEANED.get(text)
    if done is None:
        done = terminal_safe(redact(text))
        if len(_CLEANED) >= _CLEANED_MAX:
            _CLEANED.clear()
        _CLEANED[text] = done
    return done


_CLEANED: dict[str, str] = {}
_CLEANED_MAX = 20_000


def shorten(value: Any, limit: int = 80) -> str:
    """A short rendering of ``value`` for a message: its text (or compact JSON for lists and maps), cut
    to ``limit`` characters with the number left out. Never expands more than ``limit`` characters of
    a nested value (an alias bomb renders as a few characters, not megabytes)."""
    text = value if isinstance(value, str) else _compact(value, limit + 1)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return f"{text[:limit]}… ({len(text) - limit} more characters)"
    return f"{text[:limit]}…"


def _compact(value: Any, budget: int) -> str:
    """Compact JSON-like text of ``value``, stopping once ``budget`` characters are produced."""
    parts: list[str] = []
    size = 0

    def emit(piece: str) -> bool:
        nonlocal size
        parts.append(piece)
        size += len(piece)
        return size < budget

    def walk(item: Any, depth: int) -> bool:
        if depth > 20:
            return emit("…")
        if isinstance(item, dict):
            if not emit("{"):
                return False
            for i, (key, sub) in enumerate(item.items()):
                if (i and not emit(", ")) or not emit(f"{key}: ") or not walk(sub, depth + 1):
                    return False
            return emit("}")
        if isinstance(item, list | tuple):
            if not emit("["):
                return False
            for i, sub in enumerate(item):
                if (i and not emit(", ")) or not walk(sub, depth + 1):
                    return False
            return emit("]")
        text = item if isinstance(item, str) else repr(item) if isinstance(item, float) else str(item)
        return emit(text[:budget])

    walk(value, 0)
    return "".join(parts)


_WALKED = (str, dict, list, tuple)


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):  # numbers and booleans as they are, without a call each
        return {k: _walk(v, fn) if isinstance(v, _WALKED) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) if isinstance(v, _WALKED) else v for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, fn) for v in value)
    return value
