"""Idle containers: app containers that do nothing but keep their pod running.

``sleep infinity``, ``tail -f /dev/null``, a ``pause`` image, directly or through ``sh -c "exec ..."``
or ``while true; do sleep N; done``. Two kinds of pods are built from them: a placeholder whose work
is done by init containers (a DaemonSet that sets a sysctl), and a toolbox people ``kubectl exec``
into (a database client, ``curl``). Neither listens, serves, nor matters to the OOM order the way a
service does: rules about readiness, Guaranteed QoS and eviction judge them accordingly.
"""

from __future__ import annotations

import posixpath
import shlex

from premortem.model.image import parse_image
from premortem.model.podspec import ContainerView

_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_FOREVER = frozenset({"infinity", "inf"})
_LONG_SLEEP_SECONDS = 3600


def is_idle(container: ContainerView) -> bool:
    """The container only keeps the pod alive (see the module documentation)."""
    words = [str(w) for key in ("command", "args") for w in (container.field(key) or []) if w is not None]
    if not words:
        image = container.field("image")
        return isinstance(image, str) and posixpath.basename(parse_image(image).repository) == "pause"
    if posixpath.basename(words[0]) in _SHELLS and len(words) >= 3 and words[1].startswith("-"):
        try:
            words = shlex.split(words[2])
        except ValueError:
            return False
    words = [w.rstrip(";") for w in words if w.rstrip(";") not in ("exec", "")]
    if words[:2] == ["while", "true"] and words[-1:] == ["done"]:
        body = [w for w in words[2:-1] if w != "do"]
        return len(body) == 2 and posixpath.basename(body[0]) == "sleep"  # sleeps forever, in steps
    if not words:
        return False
    program = posixpath.basename(words[0])
    if program == "pause" and len(words) == 1:
        return True
    if program == "tail" and words[1:] == ["-f", "/dev/null"]:
        return True
    return program == "sleep" and len(words) == 2 and _long(words[1])


def _long(duration: str) -> bool:
    text = duration.strip().lower()
    if text in _FOREVER:
        return True
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "smhd" else text
    try:
        return float(number) * scale >= _LONG_SLEEP_SECONDS
    except ValueError:
        return False
