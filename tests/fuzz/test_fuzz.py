"""The fuzz harness for a short, fixed budget (``make test``); ``make fuzz`` runs it as long as asked.

Hypothesis builds manifests with the shapes that broke premortem before (aliases, merge keys,
duplicate keys, odd scalars, deep nesting, control characters) and the mutation fuzzer mutates the
repository's own examples; every input goes through scan, fix, capacity and diagnose in-process and
must neither raise nor run away.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import TARGETS, run_one
from .mutate import DEFAULT_CORPUS, fuzz, seeds

SCALARS = st.one_of(
    st.sampled_from(["on", "yes", "~", "null", ".inf", ".nan", "0x1F", "1e400", "=", "''", "'a: b'", "\"\\x85\""]),
    st.integers(-(10**20), 10**20).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)  # fmt: skip
KEYS = st.sampled_from(
    ["containers", "resources", "limits", "requests", "memory", "cpu", "image", "name", "selector",
     "matchLabels", "matchExpressions", "values", "replicas", "command", "livenessProbe", "items", "<<"]
)  # fmt: skip


def _value(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return SCALARS
    inner = _value(depth - 1)
    return st.one_of(
        SCALARS,
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    )  # fmt: skip


@st.composite
def manifests(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            ["Pod", "Deployment", "PodDisruptionBudget", "ValidatingWebhookConfiguration", "List"]
        )
    )
    lines = [
        f"apiVersion: {draw(st.sampled_from(['v1', 'apps/v1', 'policy/v1']))}",
        f"kind: {kind}",
        "metadata: {name: fz}",
    ]
    if draw(st.booleans()):
        lines.append("base: &a " + draw(_value(2)))
    spec = draw(st.lists(st.tuples(KEYS, _value(3)), min_size=1, max_size=4))
    lines.append("spec:")
    lines += [f"  {k}: {v}" for k, v in spec]
    if draw(st.booleans()):
        lines.append(
            "  " + draw(st.sampled_from(["extra: *a", "<<: *a", "containers: *a", "x: [*a, *a, *a]"]))
        )
    if draw(st.booleans()):
        lines.append(
            "  "
            + draw(
                st.sampled_from(["nest: " + "[" * 200 + "]" * 200, 'ctl: "\\e[2J\\x07"', "dup: 1", "dup: 2"])
            )
        )
    return "\n".join(lines) + "\n"  # fmt: skip


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=manifests())
def test_generated_manifests_never_crash(target, text):
    outcome = run_one(target, text, limit=10)
    assert outcome.status in ("ok", "internal", "slow"), outcome.detail


def test_mutation_fuzzer_short_budget(monkeypatch):
    monkeypatch.delenv("PREMORTEM_STRICT", raising=False)
    pool = seeds(DEFAULT_CORPUS)
    counts = fuzz(pool, list(TARGETS), inputs=200, seconds=0, seed=15, out=None)
    assert counts["inputs"] == 200
    assert counts["crash"] == 0 and counts["hang"] == 0, counts


def test_mutations_are_deterministic():
    from .mutate import mutate

    pool = ["a: 1\nb: 2\n", "c: [1, 2]\n"]
    assert mutate(random.Random(3), pool[0], pool) == mutate(random.Random(3), pool[0], pool)
