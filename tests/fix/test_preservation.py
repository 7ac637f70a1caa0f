"""The preservation bars: only the fixed nodes' lines change; comments, style, quoting, separators,
CRLF and untouched documents keep their bytes."""

from __future__ import annotations

from fix.helpers import changed_lines, fix_run, fix_text, rules_found
from premortem.settings import Settings, use_settings

RES002 = """\
# top comment
apiVersion: v1
kind: Pod
metadata:
  name: worker   # beside
spec:
  containers:
    # above the container
    - name: worker
      image: "registry.example.com/worker:2.0.1"
      resources:
        # inside the block
        requests: {cpu: 500m, memory: 256Mi}  # beside requests
        limits: {cpu: '1', memory: "2Gi"}
"""

CLEAN = """\
apiVersion: v1
kind: ConfigMap
metadata: { name: keep }   # odd spacing stays
data:
  a:    "1"
  b: 'two'
"""


def test_no_applicable_fix_keeps_bytes():
    assert fix_text(CLEAN) == CLEAN
    run = fix_run({"c.yaml": CLEAN})
    assert not run.files[0].changed


def test_only_the_fixed_line_changes_and_comments_survive():
    fixed = fix_text(RES002)
    removed, added = changed_lines(RES002, fixed)
    assert removed == ["        requests: {cpu: 500m, memory: 256Mi}  # beside requests\n"]
    # only what RES002 names (memory); raising cpu too is the opt-in fix_cpu (below)
    assert added == ["        requests: {cpu: 500m, memory: 2Gi}  # beside requests\n"]
    for comment in ("# top comment", "# beside", "# above the container", "# inside the block"):
        assert comment in fixed
    assert "RES002" not in rules_found(fixed)


def test_quoted_scalars_stay_quoted():
    text = RES002.replace("memory: 256Mi}", 'memory: "256Mi"}')
    fixed = fix_text(text)
    assert 'requests: {cpu: 500m, memory: "2Gi"}  # beside requests' in fixed
    # a plain scalar stays plain where YAML reads it back as the same string; "1" needs quotes
    with use_settings(Settings(params={"RES002": {"fix_cpu": True}})):
        assert 'requests: {cpu: "1", memory: "2Gi"}  # beside requests' in fix_text(text)
    single = fix_text(RES002.replace("memory: 256Mi}", "memory: '256Mi'}"))
    assert "memory: '2Gi'}  # beside requests" in single


def test_block_style_stays_block():
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 4
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1.0.0
        resources:
          requests:
            cpu: 100m
            memory: 128Mi   # too low
          limits:
            memory: 1Gi
"""
    fixed = fix_text(text)
    removed, added = changed_lines(text, fixed)
    assert removed == ["            memory: 128Mi   # too low\n"]
    assert added == ["            memory: 1Gi   # too low\n"]


def test_separators_and_untouched_documents_keep_bytes():
    other = (
        "---\n# second\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n"
    )
    text = RES002 + other + "...\n"
    fixed = fix_text(text)
    assert fixed.endswith(other + "...\n")
    assert fixed.count("\n---\n") == 1


def test_crlf_stays_crlf_and_bom_stays():
    text = "\ufeff" + RES002.replace("\n", "\r\n")
    fixed = fix_text(text)
    assert fixed != text
    assert fixed.startswith("\ufeff")
    assert fixed.count("\r\n") == fixed.count("\n")
    assert "RES002" not in rules_found(fixed)


def test_fix_is_idempotent():
    once = fix_text(RES002)
    assert fix_text(once) == once


def test_kind_list_items_are_fixed_in_place():
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec:
    containers:
    - name: a
      image: x:1
      resources:
        requests:
          memory: 1Mi
        limits:
          memory: 2Mi
"""
    fixed = fix_text(text)
    assert "          memory: 2Mi\n        limits:" in fixed
    assert "RES002" not in rules_found(fixed)


def test_syntax_error_file_is_left_alone():
    text = RES002 + "---\nkind: [broken\n"
    run = fix_run({"bad.yaml": text})
    assert run.files[0].fixed == text
    assert any(o.status == "failed" and "syntax" in o.message for o in run.outcomes)


def test_key_added_after_a_block_scalar_goes_below_it():
    probe = "      exec:\n        command:\n        - sh\n        - -c\n        - |\n          curl -f localhost:8080/ready\n"
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: w\n"
        "    image: x:1@sha256:" + "a" * 64 + "\n    resources: {limits: {cpu: 1, memory: 1Gi}}\n"
        "    livenessProbe:\n" + probe + "    readinessProbe:\n" + probe
    )
    fixed = fix_text(text)
    assert "          curl -f localhost:8080/ready\n      failureThreshold: 6\n    readinessProbe:" in fixed
    assert "PRB002" not in rules_found(fixed)


def test_flow_document_on_the_separator_line():
    text = (
        '--- {apiVersion: v1, kind: Pod, metadata: {name: w}, spec: {containers: [{name: w, image: "x:1", '
        "resources: {requests: {memory: 1Mi}, limits: {memory: 2Mi}}}]}}\n"
    )
    fixed = fix_text(text, select=("RES002",))
    assert fixed == text.replace("requests: {memory: 1Mi}", "requests: {memory: 2Mi}")


def test_multiline_flow_mapping_gets_the_key_on_its_own_line():
    text = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: p, namespace: n}
spec: {
  maxUnavailable: 0,
  selector: {matchLabels: {app: a}}
}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: n}
spec:
  replicas: 3
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: a, image: "x:1", resources: {limits: {cpu: 1, memory: 1Gi}}}]
"""
    fixed = fix_text(text, select=("disruption",))
    assert "  maxUnavailable: 1,\n" in fixed
    assert "  selector: {matchLabels: {app: a}},\n  unhealthyPodEvictionPolicy: AlwaysAllow\n}" in fixed
    assert not {"PDB001", "PDB002"} & set(rules_found(fixed))


def test_json_files_stay_json():
    import json

    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "w"},
            "spec": {
                "containers": [
                    {
                        "name": "w",
                        "image": "x:1",
                        "resources": {"requests": {"memory": "1Mi"}, "limits": {"memory": "2Mi"}},
                        "livenessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                    }
                ]
            },
        },
        indent=2,
    )
    fixed = fix_text(text, name="pod.json")
    data = json.loads(fixed)
    assert '"port": 8080\n          },\n          "failureThreshold": 6\n        },' in fixed
    container = data["spec"]["containers"][0]
    assert container["resources"]["requests"]["memory"] == "2Mi"
    assert container["livenessProbe"]["failureThreshold"] == 6


def test_yaml_value_scalar_is_read_like_the_scan():
    text = RES002 + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  op: =\n"
    run = fix_run({"v.yaml": text})
    assert run.files[0].error is None
    assert run.files[0].fixed.endswith("  op: =\n")
    assert "RES002" not in rules_found(run.files[0].fixed)


def test_files_libyaml_reads_are_edited():
    # PyYAML's pure-Python parser refuses '?' inside a flow-mapping plain scalar; libyaml (the scan) reads it
    probe = "{httpGet: {host: 127.0.0.1, path: /health?exclude=NOSPACE, port: 2381}}"
    text = RES002.replace("      image:", f"      livenessProbe: {probe}\n      image:")
    fixed = fix_text(text, select=("RES002",))
    assert probe in fixed
    assert "RES002" not in rules_found(fixed)
