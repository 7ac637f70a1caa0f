"""No silent loss: a malformed object or a failing rule costs one finding on that object, never the
findings about every other object; failures are named and make the exit code 2."""

from __future__ import annotations

import pytest

from premortem.engine import scan
from premortem.findings import INTERNAL_ERROR
from premortem.load.reader import load_text
from premortem.model.selectors import SelectorError, parse_selector
from premortem.rules import all_rules
from premortem.rules.registry import RULES, Hit, Rule

from .helpers import no_traceback, run

WEBHOOK_AND_BAD_PDB = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: broken}
spec:
  minAvailable: 1
  selector: {matchExpressions: [{key: a, operator: In, values: 5}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: w}
webhooks:
  - name: w.example.com
    clientConfig: {service: {name: s, namespace: kube-system}}
    rules: [{operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*']}]
    sideEffects: None
    admissionReviewVersions: [v1]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: s, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {app: s}}
  template:
    metadata: {labels: {app: s}}
    spec:
      containers: [{name: a, image: "x:1", resources: {limits: {cpu: 1, memory: 1Gi}}}]
"""


@pytest.mark.parametrize("values", [5, {"a": 1}, [["x"]]])
def test_selector_model_raises_a_typed_error(values):
    with pytest.raises(SelectorError):
        parse_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": values}]})
    with pytest.raises(SelectorError):
        parse_selector({"matchLabels": {"a": values if not isinstance(values, int) else {"x": 1}}})


def test_a_malformed_pdb_does_not_hide_a_critical_webhook(monkeypatch):
    monkeypatch.delenv("PREMORTEM_STRICT", raising=False)
    result = scan(load_text(WEBHOOK_AND_BAD_PDB, "x.yaml"), all_rules())
    rules = {f.rule for f in result.findings}
    assert "ADM002" in rules  # the valid webhook is still judged
    assert INTERNAL_ERROR not in rules


def _rule(check, scope: str, kinds=None) -> Rule:
    return Rule("TST999", "test-explodes", "input", RULES["INP001"].severity, "t", "", check, scope, kinds)


def test_a_cluster_rule_that_fails_on_one_object_keeps_the_others(monkeypatch):
    monkeypatch.delenv("PREMORTEM_STRICT", raising=False)
    text = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{v: '{i}'}}" for i in range(40)
    )
    text += "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {v: {nested: 1}}\n"

    def check(context):
        for doc in context.index.of_kind("ConfigMap"):
            value = doc.obj["data"]["v"]
            yield Hit(message=f"saw {value.upper()}", fix="", doc=doc)  # .upper() fails on the dict

    result = scan(load_text(text, "x.yaml"), [_rule(check, "cluster")])
    messages = [f.message for f in result.findings if f.rule == "TST999"]
    assert len(messages) == 40
    failures = [f for f in result.findings if f.rule == INTERNAL_ERROR]
    assert len(failures) == 1
    assert "TST999" in failures[0].message and "ConfigMap bad" in failures[0].message
    assert failures[0].object is not None and failures[0].object.name == "bad"


def test_an_object_rule_failure_is_an_internal_error_finding(monkeypatch):
    monkeypatch.delenv("PREMORTEM_STRICT", raising=False)

    def check(doc):
        raise KeyError("boom")

    result = scan(
        load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "x.yaml"), [_rule(check, "object")]
    )
    assert [f.rule for f in result.findings] == [INTERNAL_ERROR]
    assert "TST999" in result.findings[0].message and "x.yaml" in result.findings[0].message


def test_internal_error_exits_2_unless_fail_on_never(tmp_path, monkeypatch):
    from premortem.cli.options import exit_code

    result = scan(load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "x.yaml"), [])
    from premortem.engine import failure_finding

    finding = failure_finding(_rule(lambda d: iter(()), "object"), result.documents[0], ValueError("x"))
    assert exit_code([finding], "high") == 2
    assert exit_code([finding], "never") == 0


@pytest.mark.parametrize("verb", [("scan",), ("fix",), ("capacity", "--nodes", "3x4cpu/16Gi")])
def test_malformed_selector_is_no_traceback_in_any_verb(tmp_path, verb):
    path = tmp_path / "m.yaml"
    path.write_text(WEBHOOK_AND_BAD_PDB)
    proc = run(*verb, str(path))
    no_traceback(proc)
    assert proc.returncode in (0, 1)


FIX_CRASHERS = {
    "yaml11-bool-key": "on: push\n",
    "explicit-key": "? extra\n: value\n",
    "nel-in-comment": "# a comment \x85 with NEL\n",
    "deep-nesting": "deep: " + "[" * 600 + "]" * 600 + "\n",
}
FIXABLE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.0.0
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {cpu: "1", memory: 2Gi}
"""


@pytest.mark.parametrize("name", sorted(FIX_CRASHERS))
def test_fix_survives_odd_yaml(tmp_path, name):
    path = tmp_path / "odd.yaml"
    text = FIXABLE + FIX_CRASHERS[name] if name != "nel-in-comment" else FIX_CRASHERS[name] + FIXABLE
    path.write_text(text)
    proc = run("fix", str(path))
    no_traceback(proc)
    assert proc.returncode in (0, 1)
    proc = run("fix", "--write", str(path))
    no_traceback(proc)
