"""``key=value`` pairs as klog's structured logging and logfmt (cilium-agent, logrus) print them."""

from __future__ import annotations

import re

# A key starts only where no key character precedes it: otherwise a long run of word characters
# without "=" would be rescanned from every position in it (quadratic in the line).
_PAIR = re.compile(r'(?<![\w.\-/])([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|\S*)')
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unquote(value: str) -> str:
    """A Go ``%q`` string (or a bare token) to its text."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), inner)
    return value


def pairs(text: str) -> dict[str, str]:
    return {key: unquote(value) for key, value in _PAIR.findall(text)}


def quoted_prefix(text: str) -> tuple[str, str] | None:
    """Split ``"message" rest`` into (message, rest) when the text starts with a Go-quoted string."""
    if not text.startswith('"'):
        return None
    m = re.match(r'"((?:[^"\\]|\\.)*)"', text)
    if not m:
        return None
    return unquote(m.group(0)), text[m.end() :].strip()


def render(message: str, fields: dict[str, str], skip: frozenset[str] = frozenset()) -> str:
    """The message followed by its fields, unquoted, so recognisers read one plain string."""
    extra = " ".join(f"{k}={v}" for k, v in fields.items() if k not in skip and v != "")
    return f"{message} {extra}".strip() if extra else message
