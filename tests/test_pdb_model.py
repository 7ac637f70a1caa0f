"""The PDB model: the disruption controller's arithmetic (facts sheet §6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.load.reader import load_text
from premortem.model.index import ObjectIndex
from premortem.model.pdb import analyse_pdbs, pdbs_covering, scaled_value


def index_of(text: str) -> ObjectIndex:
    return ObjectIndex.build(load_text(text, "t.yaml").documents)


def deployment(
    name: str = "web", replicas: int | None = 3, labels: str = "{app: web}", ns: str = "prod"
) -> str:
    rep = f"\n  replicas: {replicas}" if replicas is not None else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:{rep}
  selector: {{matchLabels: {labels}}}
  template:
    metadata: {{labels: {labels}}}
    spec:
      containers: [{{name: c, image: x:1}}]
"""


def pdb(budget: str, name: str = "web", selector: str = "{matchLabels: {app: web}}", ns: str = "prod") -> str:
    return f"""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: {ns}}}
spec:
  {budget}
  selector: {selector}
"""


def verdict(*docs: str):
    (v,) = analyse_pdbs(index_of("---".join(docs)))
    return v


@pytest.mark.parametrize(
    ("replicas", "budget", "expected", "desired", "allowed"),
    [
        (7, "minAvailable: 50%", 7, 4, 3),  # 50% of 7 rounds up: 4 must stay
        (1, "maxUnavailable: 30%", 1, 0, 1),  # ceil(0.3) = 1: the single replica may go
        (1, "minAvailable: 50%", 1, 1, 0),  # 50% of one replica: nothing may go
        (3, "minAvailable: 100%", 3, 3, 0),
        (3, "minAvailable: 3", 3, 3, 0),
        (3, "minAvailable: 5", 3, 5, 0),
        (3, "minAvailable: 2", 3, 2, 1),
        (3, "maxUnavailable: 0", 3, 3, 0),
        (3, "maxUnavailable: 0%", 3, 3, 0),
        (3, "maxUnavailable: 1", 3, 2, 1),
        (10, "maxUnavailable: 25%", 10, 7, 3),  # ceil(2.5) = 3
        (None, "minAvailable: 1", 1, 1, 0),  # replicas omitted = 1
        (0, "maxUnavailable: 1", 0, 0, 0),  # no pods: expected 0 forces 0
    ],
)
def test_rounding_table(replicas, budget, expected, desired, allowed):
    v = verdict(deployment(replicas=replicas), pdb(budget))
    assert (v.expected_pods, v.desired_healthy, v.allowed_disruptions) == (expected, desired, allowed)


def test_neither_field_allows_nothing():
    v = verdict(deployment(replicas=3), pdb("unhealthyPodEvictionPolicy: AlwaysAllow"))
    assert v.setting is None and v.allowed_disruptions == 0
    assert v.unhealthy_policy == "AlwaysAllow"


def hpa(min_replicas: int | None, api: str = "autoscaling/v2") -> str:
    line = f"\n  minReplicas: {min_replicas}" if min_replicas is not None else ""
    return f"""
apiVersion: {api}
kind: HorizontalPodAutoscaler
metadata: {{name: web, namespace: prod}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}{line}
  maxReplicas: 10
"""


def test_hpa_min_replicas_is_the_worst_case():
    v = verdict(deployment(replicas=5), pdb("minAvailable: 2"), hpa(2))
    assert (v.expected_pods, v.allowed_disruptions) == (2, 0)
    assert v.hpas


def test_hpa_without_min_replicas_defaults_to_one():
    v = verdict(deployment(replicas=5), pdb("maxUnavailable: 50%"), hpa(None, "autoscaling/v1"))
    assert (v.expected_pods, v.desired_healthy, v.allowed_disruptions) == (1, 0, 1)


def test_null_selector_matches_nothing_and_empty_matches_namespace():
    none = verdict(deployment(), pdb("maxUnavailable: 1", selector="null"))
    assert none.workloads == [] and none.selector.matches_nothing
    everything = verdict(
        deployment(), deployment(name="db", labels="{app: db}"), pdb("maxUnavailable: 1", selector="{}")
    )
    assert sorted(w.ref.name for w in everything.workloads) == ["db", "web"]
    assert everything.expected_pods == 6


def test_other_namespace_is_not_matched():
    v = verdict(deployment(ns="staging"), pdb("maxUnavailable: 1"))
    assert v.workloads == []


def test_bare_pods_count_for_integer_min_available_only():
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: prod, labels: {app: web}}
spec:
  containers: [{name: c, image: x:1}]
"""
    assert verdict(pod, pdb("minAvailable: 1")).allowed_disruptions == 0
    integer = verdict(pod, pod.replace("solo", "duo"), pdb("minAvailable: 1"))
    assert (integer.expected_pods, integer.allowed_disruptions) == (2, 1)
    # maxUnavailable over unmanaged pods: no controller scale, expected 0, nothing allowed
    assert verdict(pod, pdb("maxUnavailable: 1")).allowed_disruptions == 0


def test_daemonset_is_uncounted():
    ds = deployment().replace("Deployment", "DaemonSet").replace("\n  replicas: 3", "")
    v = verdict(ds, pdb("maxUnavailable: 1"))
    assert v.uncounted and not v.counted


def test_dump_counts_the_deployment_not_its_replicaset_and_pods():
    rs = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d9
  namespace: prod
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true, uid: a}]
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x:1}]}
"""
    pod = """
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9-abc
  namespace: prod
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9, controller: true, uid: b}]
spec: {containers: [{name: c, image: x:1}]}
"""
    v = verdict(deployment(), rs, pod, pdb("maxUnavailable: 1"))
    assert [w.kind for w in v.workloads] == ["Deployment"]
    assert (v.expected_pods, v.allowed_disruptions) == (3, 1)


def test_invalid_values_are_problems():
    assert verdict(deployment(), pdb('maxUnavailable: "1"')).problem
    assert verdict(deployment(), pdb("maxUnavailable: 150%")).problem
    assert verdict(deployment(), pdb("minAvailable: 1\n  maxUnavailable: 1")).problem


def test_pdbs_covering():
    index = index_of(
        "---".join([deployment(), pdb("maxUnavailable: 1"), pdb("minAvailable: 1", name="other")])
    )
    (web,) = list(index.of_kind("Deployment"))
    assert sorted(v.name for v in pdbs_covering(web, index)) == ["other", "web"]
    assert analyse_pdbs(index)[0] is analyse_pdbs(index)[0]  # cached per index


@given(st.integers(0, 100), st.integers(0, 500))
def test_percent_rounds_up(percent, total):
    value = scaled_value(f"{percent}%", total)
    assert value * 100 >= percent * total
    assert (value - 1) * 100 < percent * total or value == 0


def test_duplicate_copies_count_once_and_the_nearest_copy_wins():
    loaded = load_text(deployment(replicas=1), "base/deploy.yaml")
    loaded.extend(
        load_text("---".join([deployment(replicas=4), pdb("minAvailable: 2")]), "overlays/ha/all.yaml")
    )
    index = ObjectIndex.build(loaded.documents)
    (v,) = analyse_pdbs(index)
    assert [w.file for w in v.workloads] == ["overlays/ha/all.yaml"]
    assert (v.expected_pods, v.allowed_disruptions) == (4, 2)
    base = next(d for d in index.of_kind("Deployment") if d.file == "base/deploy.yaml")
    assert pdbs_covering(base, index) == [v]  # another copy of the same object is covered too


def test_namespace_omitted_on_one_side_matches_within_one_file():
    text = "---".join([deployment(replicas=3).replace(", namespace: prod", ""), pdb("maxUnavailable: 1")])
    (v,) = analyse_pdbs(index_of(text))
    assert (v.expected_pods, v.allowed_disruptions) == (3, 1)
    loaded = load_text(deployment(replicas=3).replace(", namespace: prod", ""), "chart/deploy.yaml")
    loaded.extend(load_text(pdb("maxUnavailable: 1"), "chart/pdb.yaml"))
    (v,) = analyse_pdbs(ObjectIndex.build(loaded.documents))
    assert v.workloads == []  # another file: not guessed
