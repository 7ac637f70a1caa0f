"""Disruption rules against the disruption controller's arithmetic and the eviction API's behaviour."""

from __future__ import annotations

from conftest import scan_yaml


def deployment(
    name: str = "api", replicas: int | None = 3, labels: str = "{app: api}", ns: str = "shop"
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
      containers: [{{name: c, image: registry.example.com/c:1.0.0}}]
"""


def pdb(budget: str, name: str = "api", selector: str = "{matchLabels: {app: api}}", ns: str = "shop") -> str:
    return f"""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: {ns}}}
spec:
  {budget}
  selector: {selector}
"""


def findings(*docs: str, rule: str):
    return [f for f in scan_yaml("---".join(docs)).findings if f.rule == rule]


def test_fifty_percent_of_one_replica_blocks_with_single_replica_advice():
    text = "---".join([deployment(replicas=1), pdb("minAvailable: 50%")])
    (f,) = [f for f in scan_yaml(text).findings if f.rule == "PDB001"]
    assert f.severity.label == "high"
    assert "0 disruptions" in f.message and "never completes" in f.message
    assert "no PDB" in f.fix and "maxUnavailable: 0" in f.fix
    assert text.splitlines()[f.line - 1].strip() == "minAvailable: 50%"


def test_fifty_percent_of_seven_allows_three():
    assert not findings(deployment(replicas=7), pdb("minAvailable: 50%"), rule="PDB001")


def test_sixty_seven_percent_of_three_rounds_up_to_all():
    (f,) = findings(deployment(replicas=3), pdb("minAvailable: 67%"), rule="PDB001")
    assert "first allows a disruption at 4 pods" in f.message


def test_max_unavailable_thirty_percent_of_one_allows_the_single_pod():
    assert not findings(deployment(replicas=1), pdb("maxUnavailable: 30%"), rule="PDB001")


def test_max_unavailable_zero_and_min_available_all():
    assert findings(deployment(), pdb("maxUnavailable: 0"), rule="PDB001")
    assert findings(deployment(), pdb("minAvailable: 100%"), rule="PDB001")
    assert findings(deployment(replicas=3), pdb("minAvailable: 3"), rule="PDB001")
    assert not findings(deployment(replicas=3), pdb("minAvailable: 2"), rule="PDB001")


def test_hpa_min_replicas_is_the_worst_case():
    hpa = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 1
  maxReplicas: 20
"""
    (f,) = findings(deployment(replicas=5), pdb("minAvailable: 80%"), hpa, rule="PDB001")
    assert "minReplicas 1" in f.message
    assert not findings(deployment(replicas=5), pdb("minAvailable: 80%"), rule="PDB001")


def test_invalid_budget_is_medium():
    (f,) = findings(deployment(), pdb("minAvailable: 1\n  maxUnavailable: 1"), rule="PDB001")
    assert f.severity.label == "medium" and "both set" in f.message


def test_daemonset_only_budget_is_not_a_drain_blocker():
    ds = deployment().replace("Deployment", "DaemonSet").replace("\n  replicas: 3", "")
    assert not findings(ds, pdb("maxUnavailable: 0"), rule="PDB001")


def test_exactly_one_disruption_default_policy():
    (f,) = findings(deployment(replicas=2), pdb("maxUnavailable: 1"), rule="PDB002")
    assert f.severity.label == "low" and "AlwaysAllow" in f.fix
    assert not findings(
        deployment(replicas=2),
        pdb("maxUnavailable: 1\n  unhealthyPodEvictionPolicy: IfHealthyBudget"),
        rule="PDB002",
    )
    assert not findings(deployment(replicas=4), pdb("maxUnavailable: 2"), rule="PDB002")


def test_overlapping_budgets_are_reported_on_the_workload():
    docs = (
        deployment(labels="{app: api, tier: web}"),
        pdb("maxUnavailable: 1"),
        pdb("maxUnavailable: 1", name="tier", selector="{matchLabels: {tier: web}}"),
    )
    (f,) = findings(*docs, rule="PDB003")
    assert f.severity.label == "high" and f.object.kind == "Deployment"
    assert "HTTP 500" in f.message and f.extra["pdbs"] == ["api", "tier"]


def test_same_budget_twice_is_one_budget():
    assert not findings(deployment(), pdb("maxUnavailable: 1"), pdb("maxUnavailable: 1"), rule="PDB003")


def test_empty_selector_overlaps_everything_in_the_namespace():
    docs = (deployment(), pdb("maxUnavailable: 1"), pdb("maxUnavailable: 1", name="all", selector="{}"))
    assert findings(*docs, rule="PDB003")
    other_ns = (
        deployment(),
        pdb("maxUnavailable: 1"),
        pdb("maxUnavailable: 1", name="all", selector="{}", ns="x"),
    )
    assert not findings(*other_ns, rule="PDB003")


def test_selector_matching_nothing():
    (f,) = findings(
        deployment(), pdb("maxUnavailable: 1", selector="{matchLabels: {app: apii}}"), rule="PDB004"
    )
    assert f.severity.label == "low" and "other files" in f.message
    (g,) = findings(deployment(), pdb("maxUnavailable: 1", selector="null"), rule="PDB004")
    assert "null selector" in g.message
    assert not findings(deployment(), pdb("maxUnavailable: 1"), rule="PDB004")


def test_match_expressions_not_in_matches_absent_key():
    selector = "{matchExpressions: [{key: track, operator: NotIn, values: [canary]}]}"
    assert not findings(deployment(), pdb("maxUnavailable: 1", selector=selector), rule="PDB004")


def test_namespace_less_objects_in_unrelated_directories_do_not_mix():
    from premortem.engine import scan
    from premortem.load.reader import load_text
    from premortem.rules import all_rules

    dep = deployment().replace(", namespace: shop", "")
    budget = pdb("maxUnavailable: 0").replace(", namespace: shop", "")
    loaded = load_text(dep, "repo-a/app/deploy.yaml")
    loaded.extend(load_text(budget, "repo-b/pdb.yaml"))
    rules = [f.rule for f in scan(loaded, all_rules()).findings]
    assert "PDB004" in rules
    loaded = load_text(dep, "repo-a/app/deploy.yaml")
    loaded.extend(load_text(budget, "repo-a/pdb.yaml"))
    rules = [f.rule for f in scan(loaded, all_rules()).findings]
    assert "PDB004" not in rules and "PDB001" in rules
