"""Hypothesis properties of `fix` over generated manifests written in many styles (comments above and
beside, flow and block collections, plain/single/double quoting, 2- or 4-space indentation, indented or
flush sequences, several documents, CRLF, BOM):

- idempotence: fixing the fixed text changes nothing;
- the rules that were fixed no longer fire on the objects they were fixed on;
- nothing but the intended fields change: before and after parse (PyYAML) to the same objects once the
  edited paths are removed from both; every comment survives; line endings and BOM are kept.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, SequenceNode

from fix.helpers import fix_run
from premortem.engine import scan
from premortem.fix.yamltext import Delete, Rename, compose_all, find
from premortem.load.reader import load_text
from premortem.rules import all_rules

MEMORY = ["64Mi", "128Mi", "256Mi", "1Gi", "2Gi", "512M", "1e9"]
CPU = ["100m", "250m", "500m", "1", "2"]
_NEEDS_QUOTES = re.compile(r"^[0-9.+-]|^(true|false|null|yes|no|on|off|~)$", re.IGNORECASE)


class Emitter:
    """Writes a Python structure as YAML, drawing every style decision from Hypothesis."""

    def __init__(self, draw: Any, indent: int, offset: int) -> None:
        self.draw = draw
        self.indent = indent
        self.offset = offset
        self.comments = 0

    def comment(self) -> str:
        self.comments += 1
        return f"# note {self.comments}"

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        text = str(value)
        styles = (
            ["'", '"']
            if _NEEDS_QUOTES.search(text) or ": " in text or text.startswith("*")
            else [None, "'", '"']
        )
        style = self.draw(st.sampled_from(styles))
        if style is None:
            return text
        return f"{style}{text}{style}"

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {self.flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value)

    def flowable(self, value: Any) -> bool:
        if isinstance(value, dict):
            return all(not isinstance(v, dict | list) or self.flowable(v) for v in value.values()) and bool(
                value
            )
        if isinstance(value, list):
            return bool(value) and all(not isinstance(v, dict | list) for v in value)
        return True

    def mapping(self, data: dict[str, Any], col: int, first_prefix: str | None = None) -> list[str]:
        lines: list[str] = []
        for i, (key, value) in enumerate(data.items()):
            pad = " " * col if (i or first_prefix is None) else first_prefix
            if (i or first_prefix is None) and self.draw(st.integers(0, 5)) == 0:
                lines.append(" " * col + self.comment())
            beside = f"  {self.comment()}" if self.draw(st.integers(0, 6)) == 0 else ""
            if isinstance(value, dict | list) and self.flowable(value) and self.draw(st.booleans()):
                lines.append(f"{pad}{key}: {self.flow(value)}{beside}")
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}:{beside}")
                lines.extend(self.mapping(value, col + self.indent))
            elif isinstance(value, list):
                lines.append(f"{pad}{key}:{beside}")
                lines.extend(self.sequence(value, col + self.offset))
            else:
                lines.append(f"{pad}{key}: {self.scalar(value)}{beside}")
        return lines

    def sequence(self, items: list[Any], dash_col: int) -> list[str]:
        lines: list[str] = []
        for item in items:
            prefix = " " * dash_col + "- "
            if isinstance(item, dict):
                lines.extend(self.mapping(item, dash_col + 2, first_prefix=prefix))
            else:
                lines.append(prefix + self.scalar(item))
        return lines


@st.composite
def workload(draw: Any) -> dict[str, Any]:
    containers = []
    for i in range(draw(st.integers(1, 2))):
        resources: dict[str, Any] = {}
        requests = {
            k: draw(st.sampled_from(v)) for k, v in (("cpu", CPU), ("memory", MEMORY)) if draw(st.booleans())
        }
        limits = {
            k: draw(st.sampled_from(v)) for k, v in (("cpu", CPU), ("memory", MEMORY)) if draw(st.booleans())
        }
        if requests:
            resources["requests"] = requests
        if limits:
            resources["limits"] = limits
        container: dict[str, Any] = {
            "name": f"c{i}",
            "image": f"registry.example.com/app{i}:1.0.{i}@sha256:{'a' * 64}",
        }
        if resources:
            container["resources"] = resources
        containers.append(container)
    replicas = draw(st.integers(1, 4))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
        },
    }


@st.composite
def pdb(draw: Any) -> dict[str, Any]:
    budget = draw(
        st.sampled_from(
            [{"minAvailable": "100%"}, {"maxUnavailable": 0}, {"minAvailable": 4}, {"maxUnavailable": 1}]
        )
    )
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {**budget, "selector": {"matchLabels": {"app": "web"}}},
    }


@st.composite
def kubelet(draw: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}
    if draw(st.booleans()):
        obj["kubeReserved"] = {"memory": "1Gi"}
    signals = {"memory.available": draw(st.sampled_from(["50Mi", "100Mi", "0%"])), "nodefs.available": "10%"}
    obj["evictionHard"] = {k: v for k, v in signals.items() if draw(st.booleans())} or {
        "nodefs.available": "10%"
    }
    obj["maxPods"] = 110
    return obj


@st.composite
def webhook(draw: Any) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "name": "pods.policy.example.com",
        "clientConfig": {"service": {"namespace": "policy", "name": "policy"}},
        "rules": [
            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
        ],
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
    }
    if draw(st.booleans()):
        hook["timeoutSeconds"] = draw(st.sampled_from([3, 10, 30]))
    selector = draw(st.sampled_from([None, "labels", "expr"]))
    if selector == "labels":
        hook["namespaceSelector"] = {"matchLabels": {"team": "a"}}
    elif selector == "expr":
        hook["namespaceSelector"] = {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["default"]}
            ]
        }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "policy"},
        "webhooks": [hook],
    }


@st.composite
def manifest(draw: Any) -> tuple[str, list[Any]]:
    objects = draw(st.lists(st.one_of(workload(), pdb(), kubelet(), webhook()), min_size=1, max_size=4))
    emitter = Emitter(draw, draw(st.sampled_from([2, 4])), draw(st.sampled_from([0, 2])))
    docs = []
    for obj in objects:
        lines = []
        if draw(st.booleans()):
            lines.append(emitter.comment())
        lines.extend(emitter.mapping(obj, 0))
        docs.append("\n".join(lines) + "\n")
    text = "---\n".join(docs)
    if draw(st.booleans()):
        text = "---\n" + text
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 4)) == 0:
        text = "\ufeff" + text
    return text, objects


def _findings(text: str) -> set[tuple[Any, ...]]:
    result = scan(load_text(text.removeprefix("\ufeff"), "m.yaml"), all_rules())
    return {(f.rule, f.object, f.container) for f in result.findings}


def _drop(data: Any, path: tuple[Any, ...]) -> None:
    target = data
    for part in path[:-1]:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(target, dict):
        target.pop(path[-1], None)
    elif isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        target[path[-1]] = None


# PREMORTEM_FIX_EXAMPLES=500 for a longer soak; the default keeps `make test` quick.
SETTINGS = settings(
    max_examples=int(os.environ.get("PREMORTEM_FIX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(manifest())
def test_fix_properties(case):
    text, _objects = case
    assert yaml.safe_load_all(text.removeprefix("\ufeff")) is not None
    run = fix_run({"m.yaml": text}, unsafe=True)
    file_fix = run.files[0]
    assert file_fix.error is None, file_fix.error
    fixed = file_fix.fixed

    # idempotence
    again = fix_run({"m.yaml": fixed}, unsafe=True).files[0]
    assert again.fixed == fixed

    # fixed rules are clean on the objects they were fixed on (an identity written twice in the file is
    # ambiguous: the other copy may keep the finding for its own reasons)
    after = _findings(fixed)
    identities = [_identity(d) for d in _objects if isinstance(d, dict)]
    for outcome in file_fix.outcomes:
        if outcome.status == "fixed":
            f = outcome.finding
            if identities.count((f.object.kind, f.object.namespace, f.object.name)) > 1:
                continue
            assert (f.rule, f.object, f.container) not in after, (f.rule, outcome.message, fixed)

    # nothing but the intended fields change
    before_docs = list(yaml.safe_load_all(text.removeprefix("\ufeff")))
    after_docs = list(yaml.safe_load_all(fixed.removeprefix("\ufeff")))
    assert len(before_docs) == len(after_docs)
    b, a = copy.deepcopy(before_docs), copy.deepcopy(after_docs)
    for outcome in file_fix.outcomes:
        for doc_index, op in outcome.edits:
            for data in (b, a):
                _drop(data[doc_index], op.path)
                if isinstance(op, Rename):
                    _drop(data[doc_index], (*op.path[:-1], op.new_key))
            if not isinstance(op, Delete | Rename) and len(op.path) > 1:
                # Set/Append of a missing key may have created parents: drop the first created one
                for data in (b, a):
                    _drop_created(data[doc_index], before_docs[doc_index], op.path)
    assert b == a

    # style survives: comments (but those on the lines of a deleted entry), line endings, BOM
    deleted = _deleted_lines(text.removeprefix("\ufeff"), file_fix.outcomes)
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines()):
        for comment in re.findall(r"# note \d+", line):
            assert comment in fixed or number in deleted
    assert fixed.startswith("\ufeff") == text.startswith("\ufeff")
    if "\r\n" in text:
        assert fixed.count("\r\n") == fixed.count("\n")
    else:
        assert "\r" not in fixed


def _drop_created(data: Any, original: Any, path: tuple[Any, ...]) -> None:
    """Remove the shallowest key of ``path`` that did not exist in ``original``."""
    node = original
    for depth, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            _drop(data, path[: depth + 1])
            return


def _deleted_lines(text: str, outcomes: list[Any]) -> set[int]:
    """0-based lines of ``text`` that a Delete removes with its entry (the key line to the value's end)."""
    roots = compose_all(text)
    lines: set[int] = set()
    for outcome in outcomes:
        for doc_index, op in outcome.edits:
            if not isinstance(op, Delete):
                continue
            parent, depth = find(roots[doc_index], op.path[:-1])
            if depth != len(op.path) - 1 or not isinstance(parent, MappingNode):
                continue
            for key, value in parent.value:
                if key.value == op.path[-1]:
                    end = value.end_mark.line
                    if (
                        isinstance(value, MappingNode | SequenceNode)
                        and not value.flow_style
                        and not value.end_mark.column
                    ):
                        end -= 1
                    lines |= set(range(key.start_mark.line, end + 1))
    return lines


def _identity(obj: dict[str, Any]) -> tuple[Any, Any, Any]:
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace"), meta.get("name")
