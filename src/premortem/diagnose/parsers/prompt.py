"""Shell prompts and comments pasted along with command output (``$ kubectl drain worker-2``,
``# from cp-1``): known lines that say nothing about the incident."""

from __future__ import annotations

import re

from premortem.diagnose.records import Record

_PROMPT = re.compile(r"^(?:[\w@.:~/-]*[$#] \S|# )")


def parse(text: str, rec: Record) -> bool:
    if text[:1] not in "$#" and "$ " not in text[:40]:
        return False
    if not _PROMPT.match(text):
        return False
    rec.source = "prompt"
    rec.message = ""
    return True
