"""Bounded work: alias bombs and recursive aliases are refused in every verb within 2 s and 200 MB,
as Go's YAML decoder refuses them; duplicate keys are reported with both values and lines."""

from __future__ import annotations

import pytest

from conftest import scan_yaml
from premortem.load.limits import allowed_alias_ratio
from premortem.load.reader import load_text

from .helpers import no_traceback, run, run_measured

HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: bomb}\n"


def flow_bomb(levels: int = 9) -> str:
    lines = ["x:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n", prev


def block_bomb(levels: int = 9) -> tuple[str, str]:
    lines = ["x:", "  a: &a", *["    - lol"] * 9]
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"  {name}: &{name}")
        lines.extend([f"    - *{prev}"] * 9)
        prev = name
    return "\n".join(lines) + "\n", prev


def pod_with(field: str, bomb: tuple[str, str]) -> str:
    text, last = bomb
    bodies = {
        "command": f"      command: *{last}\n",
        "resources": f"      resources: {{limits: *{last}}}\n",
        "probe": f"      livenessProbe: {{exec: {{command: *{last}}}}}\n",
    }
    return HEAD + text + "spec:\n  containers:\n    - name: app\n      image: x:1\n" + bodies[field]


def test_go_alias_ratio_arithmetic():
    assert allowed_alias_ratio(1000) == 0.99
    assert allowed_alias_ratio(4_000_000) == 0.10
    assert allowed_alias_ratio(2_200_000) == pytest.approx(0.99 - 0.89 * 0.5)


@pytest.mark.parametrize("shape", [flow_bomb, block_bomb])
@pytest.mark.parametrize("field", ["command", "resources", "probe"])
def test_alias_bomb_is_refused_at_the_alias(shape, field):
    result = scan_yaml(pod_with(field, shape()))
    inputs = [f for f in result.findings if f.rule == "INP001"]
    assert len(inputs) == 1 and "excessive aliasing" in inputs[0].message
    assert inputs[0].line is not None and inputs[0].line > 4
    assert not result.documents


@pytest.mark.parametrize(
    "verb", [("scan",), ("fix",), ("fix", "--write"), ("capacity", "--nodes", "3x4cpu/16Gi")]
)
@pytest.mark.parametrize("shape", [flow_bomb, block_bomb])
def test_every_verb_refuses_a_bomb_within_2s_and_200mb(tmp_path, verb, shape):
    path = tmp_path / "bomb.yaml"
    text = pod_with("command", shape())
    path.write_text(text)
    proc, seconds, rss = run_measured(*verb, str(path))
    no_traceback(proc)
    assert "INP001" in proc.stdout + proc.stderr and "excessive aliasing" in proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert seconds < 2.0 and rss < 200 * 1024**2, (seconds, rss)
    assert path.read_text() == text


@pytest.mark.parametrize("verb", [("scan",), ("fix",), ("capacity", "--nodes", "3x4cpu/16Gi")])
def test_recursive_alias_is_refused(tmp_path, verb):
    path = tmp_path / "rec.yaml"
    path.write_text(HEAD + "spec: &s\n  containers:\n    - name: a\n      image: x:1\n      command: *s\n")
    proc = run(*verb, str(path), timeout=20)
    no_traceback(proc)
    assert "recursive alias" in proc.stdout + proc.stderr
    assert proc.returncode == 1


def test_ordinary_anchors_are_fine():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n"
        "    - name: a\n      image: x:1\n      env: &env [{name: A, value: '1'}, {name: B, value: '2'}]\n"
        "      resources: &res {limits: {cpu: 100m, memory: 64Mi}}\n"
        "    - name: b\n      image: x:1\n      env: *env\n      resources: *res\n"
    )
    result = scan_yaml(text)
    assert not [f for f in result.findings if f.category == "input"]
    assert len(result.documents) == 1


DUPLICATE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
        - name: coredns
          image: registry.k8s.io/coredns/coredns:v1.11.1
          resources:
            limits: {memory: 170Mi}
          resources:
            requests: {cpu: 100m, memory: 70Mi}
"""


def test_duplicate_key_reports_both_values_and_lines():
    result = scan_yaml(DUPLICATE)
    found = [f for f in result.findings if f.rule == "INP004"]
    assert len(found) == 1
    message = found[0].message
    assert found[0].severity.label == "high"
    assert "line 13" in message and "line 15" in message
    assert "limits: {memory: 170Mi}" in message and "requests: {cpu: 100m, memory: 70Mi}" in message
    assert found[0].object is not None and found[0].object.name == "coredns"
    # judged with the last value, as most clients that accept it do
    assert result.documents[0].obj["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "70Mi"}
    }


def test_duplicate_key_in_a_merge_key_document():
    text = "base: &b {a: 1}\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: m}\ndata:\n  <<: *b\n  x: '1'\n  x: '2'\n"
    assert [f.rule for f in load_text_findings(text)] == ["INP004"]


def load_text_findings(text: str):
    return scan_yaml(text).findings


@pytest.mark.parametrize("verb", [("scan",), ("fix",), ("capacity", "--nodes", "3x4cpu/16Gi")])
def test_duplicate_items_key_is_no_traceback(tmp_path, verb):
    path = tmp_path / "list.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "items:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"
    )
    proc = run(*verb, str(path))
    no_traceback(proc)
    assert "INP004" in proc.stdout + proc.stderr


def test_fix_leaves_a_file_with_duplicate_keys_alone(tmp_path):
    path = tmp_path / "dup.yaml"
    text = DUPLICATE.replace(
        "limits: {memory: 170Mi}", "limits: {memory: 170Mi}\n            requests: {memory: 10Mi}"
    )
    path.write_text(text)
    proc = run("fix", "--write", str(path))
    no_traceback(proc)
    assert path.read_text() == text
    assert "INP004" in proc.stderr


def test_load_text_never_raises_on_duplicates_in_lists():
    load_text("- {kind: A, kind: B}\n- {kind: C}\n", "x.yaml")
