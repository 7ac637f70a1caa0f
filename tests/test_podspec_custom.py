"""Pod templates inside custom resources: the walker finds each one, and every pod rule applies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import scan_yaml
from fix.helpers import fix_run
from premortem.load.reader import load_text
from premortem.model.index import ObjectIndex
from premortem.model.podspec import (
    CUSTOM_POD_SOURCES,
    TemplateUnit,
    pod_spec_at,
    pod_spec_of,
    pod_units,
    replicas_of,
    template_labels,
)
from premortem.model.resources import BEST_EFFORT, BURSTABLE, resources_of

SIZED = "resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: 500m, memory: 1Gi}}"


def doc_of(text: str):
    [doc] = load_text(text, "t.yaml").documents
    return doc


def unit_paths(text: str) -> list[str]:
    return ["/".join(map(str, u.template)) for u in pod_units(doc_of(text))]  # type: ignore[attr-defined]


RAY = f"""\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {{name: rc}}
spec:
  headGroupSpec:
    template:
      metadata: {{labels: {{role: head}}}}
      spec:
        containers: [{{name: head, image: "rayproject/ray:2.9.0", {SIZED}}}]
  workerGroupSpecs:
    - groupName: cpu
      replicas: 2
      template:
        spec:
          containers: [{{name: worker, image: "rayproject/ray:2.9.0"}}]
    - groupName: gpu
      template:
        spec:
          containers: [{{name: worker, image: "rayproject/ray:2.9.0", {SIZED}}}]
"""


def test_raycluster_has_one_unit_per_group():
    assert unit_paths(RAY) == [
        "spec/headGroupSpec/template/spec",
        "spec/workerGroupSpecs/0/template/spec",
        "spec/workerGroupSpecs/1/template/spec",
    ]
    doc = doc_of(RAY)
    assert pod_spec_of(doc) is None  # the custom resource itself is not one pod
    head, cpu, _gpu = pod_units(doc)
    assert template_labels(head) == {"role": "head"}
    assert head.ref == doc.ref and head.line == doc.line
    assert replicas_of(cpu) is None


def test_a_finding_names_the_template_it_is_about():
    result = scan_yaml(RAY)
    [res001] = [f for f in result.findings if f.rule == "RES001"]
    assert res001.path == "/spec/workerGroupSpecs/0/template/spec"
    assert res001.line == 14  # the worker group's `spec:`
    assert res001.object.kind == "RayCluster"  # type: ignore[union-attr]
    # the object summary has no qos for a custom resource: it is several pods
    [summary] = result.objects
    assert "qos" not in summary


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        (
            "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: j}\nspec:\n  pytorchReplicaSpecs:\n"
            "    Master: {replicas: 1, template: {spec: {containers: [{name: pytorch, image: 'a:1'}]}}}\n"
            "    Worker: {replicas: 3, template: {spec: {containers: [{name: pytorch, image: 'a:1'}]}}}\n",
            [
                "spec/pytorchReplicaSpecs/Master/template/spec",
                "spec/pytorchReplicaSpecs/Worker/template/spec",
            ],
        ),
        (
            "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata: {name: l}\nspec:\n"
            "  leaderWorkerTemplate:\n    size: 4\n"
            "    workerTemplate: {spec: {containers: [{name: w, image: 'a:1'}]}}\n",
            ["spec/leaderWorkerTemplate/workerTemplate/spec"],
        ),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n"
            "  template: {spec: {containers: [{name: a, image: 'a:1'}]}}\n",
            ["spec/template/spec"],
        ),
        (  # a Rollout that references a Deployment's template has none of its own
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n"
            "  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n",
            [],
        ),
        (
            "apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {name: s}\nspec:\n"
            "  jobTargetRef: {template: {spec: {containers: [{name: a, image: 'a:1'}]}}}\n",
            ["spec/jobTargetRef/template/spec"],
        ),
        (
            "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: s}\nspec:\n  replicatedJobs:\n"
            "    - {name: w, template: {spec: {template: {spec: {containers: [{name: a, image: 'a:1'}]}}}}}\n",
            ["spec/replicatedJobs/0/template/spec/template/spec"],
        ),
        (  # steps/dag templates create no pod of their own
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templates:\n"
            "    - {name: main, steps: [[{name: a, template: hello}]]}\n"
            "    - {name: hello, container: {image: 'alpine:3.19', command: [echo]}}\n"
            "    - {name: py, script: {image: 'python:3.12', source: print(1)}}\n",
            ["spec/templates/1", "spec/templates/2"],
        ),
        (
            "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec:\n"
            "  template: {spec: {containers: [{image: 'a:1'}]}}\n",
            ["spec/template/spec"],
        ),
        (  # a core Service, and a kind of the table in another API group, carry no pods
            "apiVersion: v1\nkind: Service\nmetadata: {name: k}\nspec:\n  template: {spec: {containers: [{image: 'a:1'}]}}\n",
            None,
        ),
        (
            "apiVersion: example.com/v1\nkind: RayCluster\nmetadata: {name: k}\nspec:\n"
            "  headGroupSpec: {template: {spec: {containers: [{image: 'a:1'}]}}}\n",
            None,
        ),
    ],
)
def test_template_paths_of_each_kind(text, paths):
    doc = doc_of(text)
    units = pod_units(doc)
    if paths is None:
        assert units == [doc] and not isinstance(units[0], TemplateUnit)
        assert pod_spec_of(units[0]) is None
    else:
        assert unit_paths(text) == paths


def test_argo_template_containers_are_read_from_container_and_script():
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: w}\nspec:\n  templates:\n"
        "    - name: build\n      metadata: {labels: {app: build}}\n"
        "      container: {image: 'golang:1.22', " + SIZED + "}\n"
        "      sidecars: [{name: dind, image: 'docker:26-dind'}]\n"
        "      initContainers: [{name: fetch, image: 'alpine:3.19'}]\n"
    )
    [unit] = pod_units(doc_of(text))
    spec = pod_spec_of(unit)
    assert spec is not None
    assert [(c.name, c.role, c.path) for c in spec.containers()] == [
        ("main", "container", ("spec", "templates", 0, "container")),
        ("dind", "container", ("spec", "templates", 0, "sidecars", 0)),
        ("fetch", "init", ("spec", "templates", 0, "initContainers", 0)),
    ]
    assert template_labels(unit) == {"app": "build"}


def test_injected_containers_count_for_qos_but_are_never_reported():
    knative = (
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec:\n"
        "  template: {spec: {containers: [{image: 'registry.example.com/a:1.0'}]}}\n"
    )
    [unit] = pod_units(doc_of(knative))
    res = resources_of(unit)
    assert res is not None
    # queue-proxy asks for 25m cpu: the pod is Burstable, not BestEffort
    assert res.qos == BURSTABLE and res.requests["cpu"] == 25
    assert [c.container.name for c in res.containers] == [None]
    assert "RES001" not in [f.rule for f in scan_yaml(knative).findings]
    # Argo's executor containers have no resources: a template without any is BestEffort, and one
    # whose main container is Guaranteed still is not (the wait container has no limits)
    argo = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templates:\n"
        "    - {name: a, container: {image: 'alpine:3.19'}}\n"
        "    - {name: b, container: {image: 'alpine:3.19', " + SIZED + "}}\n"
    )
    bare, sized = pod_units(doc_of(argo))
    assert resources_of(bare).qos == BEST_EFFORT  # type: ignore[union-attr]
    assert resources_of(sized).qos == BURSTABLE  # type: ignore[union-attr]


def test_probe_rules_follow_the_kind_long_running_or_not():
    probe = "livenessProbe: {httpGet: {path: /health, port: 8080}, timeoutSeconds: 1, failureThreshold: 1}"
    body = (
        "{spec: {containers: [{name: a, image: 'registry.example.com/a:1.0', " + SIZED + ", " + probe + "}]}}"
    )
    rollout = (
        f"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: r}}\nspec:\n  template: {body}\n"
    )
    jobset = (
        "apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: s}\nspec:\n  replicatedJobs:\n"
        f"    - {{name: w, template: {{spec: {{template: {body}}}}}}}\n"
    )
    assert "PRB003" in [f.rule for f in scan_yaml(rollout).findings]
    assert "PRB003" not in [f.rule for f in scan_yaml(jobset).findings]
    assert replicas_of(pod_units(doc_of(rollout))[0]) == 1


def test_index_lists_units_and_pdbs_do_not_count_custom_pods():
    pdb = "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {minAvailable: 1, selector: {matchLabels: {role: head}}}\n"
    loaded = load_text(RAY + pdb, "t.yaml")
    index = ObjectIndex.build(loaded.documents)
    assert len(list(index.workloads())) == 3
    rules = [f.rule for f in scan_yaml(RAY + pdb).findings]
    assert "PDB001" not in rules and "PDB004" not in rules


def test_fixers_find_containers_inside_units():
    text = RAY.replace(
        'containers: [{name: worker, image: "rayproject/ray:2.9.0"}]',
        'containers: [{name: worker, image: "rayproject/ray:2.9.0", resources: {requests: {cpu: 1, memory: 1Gi}, limits: {memory: 2Gi}}}]',
    )
    doc = doc_of(text)
    spec = pod_spec_at(doc, ("spec", "workerGroupSpecs", 0, "template", "spec", "containers", 0))
    assert spec is not None and spec.path == ("spec", "workerGroupSpecs", 0, "template", "spec")
    assert pod_spec_at(doc, ()) is None  # three templates: which one is not known
    run = fix_run({"t.yaml": text}, ("RES002",))
    assert "memory: 2Gi}, limits: {memory: 2Gi}" in run.files[0].fixed.replace("requests: {cpu: 1, ", "")


@given(st.lists(st.booleans(), max_size=6))
def test_units_match_the_groups_that_have_containers(groups):
    """A worker group yields a unit exactly when its template has a container."""
    lines = [
        "apiVersion: ray.io/v1",
        "kind: RayCluster",
        "metadata: {name: rc}",
        "spec:",
        "  workerGroupSpecs:",
    ]
    for has in groups:
        containers = "[{name: w, image: 'a:1'}]" if has else "[]"
        lines.append(f"    - template: {{spec: {{containers: {containers}}}}}")
    if not groups:
        lines[-1] = "  workerGroupSpecs: []"
    units = pod_units(doc_of("\n".join(lines) + "\n"))
    assert [u.template[2] for u in units] == [i for i, has in enumerate(groups) if has]  # type: ignore[attr-defined]
    for unit in units:
        assert pod_spec_of(unit) is not None


def test_every_table_kind_names_its_groups():
    for kind, source in CUSTOM_POD_SOURCES.items():
        assert source.groups and source.paths, kind


def test_capacity_says_it_leaves_custom_resource_pods_out():
    from premortem.analyses.capacity.rules import report_for

    index = ObjectIndex.build(load_text(RAY, "t.yaml").documents)
    report = report_for(index, "2x4cpu/16Gi")
    assert report is not None
    assert any("custom resources" in note and "RayCluster rc" in note for note in report.notes)
