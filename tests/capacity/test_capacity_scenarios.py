"""Hand-computed capacity scenarios: every number below is worked out in the comment next to it."""

from __future__ import annotations

from capacity_helpers import anti_affinity, deployment, node, report

from conftest import rule_ids, scan_yaml

GI = 2**30


def test_exact_fit_places_every_pod():
    # 4 pods x 1Gi on a node with exactly 4Gi allocatable: fits to the byte.
    r = report(node("n1", memory="4Gi"), deployment("app", replicas=4, requests="{memory: 1Gi}"))
    assert r.base.fits
    assert r.base.usage[0].memory == 4 * GI


def test_one_byte_over_leaves_the_last_pod_pending():
    # 4 pods x (1Gi + 1 byte) = 4Gi + 4 bytes > 4Gi: the fourth pod does not fit.
    r = report(node("n1", memory="4Gi"), deployment("app", replicas=4, requests=f"{{memory: {GI + 1}}}"))
    assert not r.base.fits
    assert len(r.base.placement.unplaced) == 1
    pod, why = r.base.placement.unplaced[0]
    assert pod.owner == "default/app"
    assert "Insufficient memory" in why
    assert why.startswith("0/1 nodes are available")
    assert r.base.placement.exact


def test_init_container_dominates_the_pod_request():
    # init 3Gi, app 1Gi: the pod requests max(1Gi, 3Gi) = 3Gi; a 4Gi node holds one, not two.
    containers = """
        - name: app
          image: registry.example.com/app:1.0.0
          resources: {requests: {memory: 1Gi}}
      initContainers:
        - name: migrate
          image: registry.example.com/migrate:1.0.0
          resources: {requests: {memory: 3Gi}}"""
    r = report(node("n1", memory="4Gi"), deployment("app", replicas=2, containers=containers))
    assert [p.memory for p in r.base.pods] == [3 * GI, 3 * GI]
    assert len(r.base.placement.unplaced) == 1


def test_sidecars_add_to_the_pod_request():
    # app 1Gi + sidecar (restartPolicy: Always) 512Mi = 1.5Gi per pod; 3Gi holds two of three.
    containers = """
        - name: app
          image: registry.example.com/app:1.0.0
          resources: {requests: {memory: 1Gi}}
      initContainers:
        - name: proxy
          image: registry.example.com/proxy:1.0.0
          restartPolicy: Always
          resources: {requests: {memory: 512Mi}}"""
    r = report(node("n1", memory="3Gi"), deployment("app", replicas=3, containers=containers))
    assert r.base.pods[0].memory == GI + GI // 2
    assert len(r.base.placement.assignment) == 2
    assert len(r.base.placement.unplaced) == 1


def test_daemonsets_eat_every_node():
    # 3 nodes x 2Gi; a DaemonSet asks 1.5Gi on each: 512Mi left per node, a 1Gi pod fits nowhere.
    r = report(
        node("n1", memory="2Gi"),
        node("n2", memory="2Gi"),
        node("n3", memory="2Gi"),
        deployment("agent", kind="DaemonSet", requests="{memory: 1536Mi}"),
        deployment("app", replicas=1, requests="{memory: 1Gi}"),
    )
    daemons = [p for p in r.base.placement.assignment if p.daemon]
    assert sorted(r.base.placement.assignment[p] for p in daemons) == ["n1", "n2", "n3"]
    (pod, why), *_ = r.base.placement.unplaced
    assert pod.owner == "default/app"
    assert why == "0/3 nodes are available: 3 Insufficient memory"


def test_daemonset_pods_skip_nodes_they_do_not_tolerate():
    # The tainted node gets no DaemonSet pod (the controller does not create one), not a Pending one.
    r = report(
        node("n1"),
        node("n2", taints="[{key: dedicated, value: db, effect: NoSchedule}]"),
        deployment("agent", kind="DaemonSet", requests="{memory: 128Mi}"),
    )
    assert r.base.fits
    assert [r.base.placement.assignment[p] for p in r.base.pods] == ["n1"]


def test_taints_exclude_a_pool():
    gpu = "[{key: dedicated, value: gpu, effect: NoSchedule}]"
    docs = [
        node("general-1", memory="2Gi", labels="{pool: general}"),
        node("gpu-1", memory="16Gi", labels="{pool: gpu}", taints=gpu),
    ]
    # 3Gi does not fit the 2Gi general node, and the gpu node's taint is not tolerated.
    r = report(*docs, deployment("train", requests="{memory: 3Gi}"))
    (_, why), *_ = r.base.placement.unplaced
    assert "1 Insufficient memory" in why
    assert "1 untolerated taint dedicated=gpu:NoSchedule" in why
    tolerating = "\n      tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]"
    r = report(*docs, deployment("train", requests="{memory: 3Gi}", spec_extra=tolerating))
    assert r.base.fits
    assert list(r.base.placement.assignment.values()) == ["gpu-1"]


def test_empty_key_with_exists_tolerates_every_taint():
    taint = "[{key: a, value: b, effect: NoExecute}, {key: c, effect: NoSchedule}]"
    r = report(
        node("n1", taints=taint), deployment("app", spec_extra="\n      tolerations: [{operator: Exists}]")
    )
    assert r.base.fits


def test_node_selector_and_affinity_operators():
    docs = [node("small", labels="{disk: hdd, cores: '4'}"), node("big", labels="{disk: ssd, cores: '16'}")]
    selector = "\n      nodeSelector: {disk: nvme}"
    r = report(*docs, deployment("db", spec_extra=selector))
    assert r.base.placement.unplaced[0][1] == "0/2 nodes are available: 2 didn't match node selector"
    gt = """
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: cores, operator: Gt, values: ["8"]}
                  - {key: disk, operator: NotIn, values: [hdd]}
                  - {key: gpu, operator: DoesNotExist}"""
    r = report(*docs, deployment("db", replicas=2, spec_extra=gt))
    assert set(r.base.placement.assignment.values()) == {"big"}
    lt = gt.replace("Gt", "Lt").replace('"8"', '"2"')
    r = report(*docs, deployment("db", spec_extra=lt))
    assert "2 didn't match node affinity" in r.base.placement.unplaced[0][1]


def test_pod_slots_run_out():
    r = report(node("n1", pods=2), deployment("app", replicas=3, requests="{cpu: 10m, memory: 1Mi}"))
    assert r.base.placement.unplaced[0][1] == "0/1 nodes are available: 1 Too many pods"


def test_anti_affinity_with_replicas_equal_to_nodes_makes_n_minus_1_impossible():
    nodes = [node("n1"), node("n2"), node("n3")]
    search = deployment("search", kind="StatefulSet", replicas=3, spec_extra=anti_affinity("search"))
    r = report(*nodes, search)
    assert r.base.fits
    assert sorted(r.base.placement.assignment.values()) == ["n1", "n2", "n3"]
    assert all(not loss.fits for loss in r.losses)
    for loss in r.losses:
        (_pod, why), *_ = loss.pending
        assert why == "0/2 nodes are available: 2 anti-affinity"
        assert not loss.down  # two replicas still run: degraded, not down
    result = scan_yaml("---".join([*nodes, search]))
    cap002 = [f for f in result.findings if f.rule == "CAP002"]
    assert len(cap002) == 1
    assert cap002[0].severity.label == "medium"
    assert cap002[0].object.kind == "Node"
    assert r.headroom.needed_n_plus_1 == 4
    # A fourth node makes every loss survivable.
    r4 = report(*nodes, node("n4"), search)
    assert all(loss.fits for loss in r4.losses)
    assert r4.headroom.needed_n_plus_1 == 4


def test_losing_the_only_replica_is_high():
    # Two 8Gi nodes, a 6Gi single replica and a 6Gi pod elsewhere: losing either strands a 6Gi pod.
    r = report(
        node("n1"),
        node("n2"),
        deployment("a", requests="{memory: 6Gi}"),
        deployment("b", requests="{memory: 6Gi}"),
    )
    worst = r.worst_loss
    assert worst is not None and worst.down
    result = scan_yaml(
        "---".join(
            [
                node("n1"),
                node("n2"),
                deployment("a", requests="{memory: 6Gi}"),
                deployment("b", requests="{memory: 6Gi}"),
            ]
        )
    )
    (cap002,) = [f for f in result.findings if f.rule == "CAP002"]
    assert cap002.severity.label == "high"
    assert "no running pod at all" in cap002.message


def test_hpa_min_fits_and_max_does_not():
    hpa = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
"""
    # Two 2Gi nodes hold four 1Gi pods: minReplicas 2 fits, maxReplicas 6 leaves 2 Pending.
    docs = [
        node("n1", memory="2Gi"),
        node("n2", memory="2Gi"),
        deployment("web", replicas=1, requests="{memory: 1Gi}"),
        hpa,
    ]
    r = report(*docs)
    assert len(r.base.pods) == 2 and r.base.fits
    assert r.peak is not None and len(r.peak.pods) == 6
    assert len(r.peak.placement.unplaced) == 2
    result = scan_yaml("---".join(docs))
    (cap001,) = [f for f in result.findings if f.rule == "CAP001"]
    assert cap001.severity.label == "medium"
    assert cap001.extra["scenario"] == "peak"


def test_drain_blocked_by_a_budget_that_allows_nothing():
    pdb = """
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: default}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: db}}
"""
    docs = [node("n1"), node("n2"), deployment("db", replicas=2, requests="{memory: 1Gi}"), pdb]
    r = report(*docs)
    assert all(not d.ok for d in r.drains)
    assert "allows 0 disruptions" in r.drains[0].blockers[0].reason
    findings = [f for f in scan_yaml("---".join(docs)).findings if f.rule == "CAP003"]
    assert {f.object.name for f in findings} == {"n1", "n2"}
    assert {f.severity.label for f in findings} == {"high"}  # a drain that never ends, as PDB001
    # maxUnavailable 1 with room elsewhere: the drain completes.
    ok = pdb.replace("minAvailable: 2", "maxUnavailable: 1")
    r = report(node("n1"), node("n2"), node("n3"), deployment("db", replicas=2, requests="{memory: 1Gi}"), ok)
    assert all(d.ok for d in r.drains)


def test_memory_overcommit_names_the_widest_gap():
    # 8Gi node; reports: 3 x limit 6Gi = 18Gi (2.25x); api: 1 x 1Gi = request (no gap).
    docs = [
        node("n1"),
        deployment("reports", replicas=3, requests="{memory: 1Gi}", limits="{memory: 6Gi}"),
        deployment("api", replicas=1, requests="{memory: 1Gi}", limits="{memory: 1Gi}"),
    ]
    r = report(*docs)
    assert r.overcommit.limits == 19 * GI
    assert r.base.usage[0].memory_ratio == 19 / 8
    assert [g.owner for g in r.overcommit.top] == ["default/reports"]
    (cap004,) = [f for f in scan_yaml("---".join(docs)).findings if f.rule == "CAP004"]
    assert cap004.object.kind == "Node"
    assert "default/reports (5Gi x 3 pods)" in cap004.message


def test_no_nodes_no_capacity_findings():
    result = scan_yaml(deployment("app", replicas=50, requests="{memory: 100Gi}"))
    assert not [r for r in rule_ids(result) if r.startswith("CAP")]


def test_scan_uses_the_nodes_option():
    result = scan_yaml(
        deployment("app", replicas=4, requests="{memory: 20Gi}"), options={"nodes": "2x8cpu/32Gi"}
    )
    cap = [f for f in result.findings if f.rule == "CAP001"]
    assert len(cap) == 1
    assert "--nodes 2x8cpu/32Gi" in cap[0].message
    assert cap[0].object.name == "app"


def test_bad_nodes_option_in_scan_is_a_finding_not_silence():
    result = scan_yaml(deployment("app"), options={"nodes": "lots"})
    (cap,) = [f for f in result.findings if f.rule == "CAP001"]
    assert "capacity was not checked" in cap.message


def test_a_dump_counts_each_pod_once():
    # A Deployment, its ReplicaSet and its pod, as `kubectl get deploy,rs,pods -o yaml` lists them.
    rs = (
        deployment("web", replicas=2, kind="Deployment")
        .replace("kind: Deployment", "kind: ReplicaSet")
        .replace("name: web,", "name: web-5d8f9c7b6,")
    )
    rs = rs.replace(
        "metadata: {name: web-5d8f9c7b6, namespace: default}",
        "metadata:\n  name: web-5d8f9c7b6\n  namespace: default\n  ownerReferences: [{kind: Deployment, name: web, controller: true}]",
    )
    pod = """
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f9c7b6-abcde
  namespace: default
  ownerReferences: [{kind: ReplicaSet, name: web-5d8f9c7b6, controller: true}]
spec:
  containers: [{name: main, image: x:1, resources: {requests: {memory: 1Gi}}}]
"""
    r = report(node("n1"), deployment("web", replicas=2), rs, pod)
    assert len(r.base.pods) == 2


def test_jobs_cronjobs_and_bare_pods_count_as_the_scheduler_sees_them():
    job = """
apiVersion: batch/v1
kind: Job
metadata: {name: backfill, namespace: default}
spec:
  parallelism: 5
  completions: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: x:1, resources: {requests: {memory: 1Gi}}}]
"""
    cron = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: default}
spec:
  schedule: "0 3 * * *"
  suspend: SUSPEND
  jobTemplate:
    spec:
      parallelism: 2
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: x:1, resources: {requests: {memory: 1Gi}}}]
"""
    pods = """
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: default}
spec:
  nodeName: gone-node
  containers: [{name: c, image: x:1, resources: {requests: {memory: 1Gi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: finished, namespace: default}
spec:
  containers: [{name: c, image: x:1, resources: {requests: {memory: 1Gi}}}]
status: {phase: Succeeded}
"""
    # Job: min(parallelism 5, completions 3) = 3; CronJob: parallelism 2 (none when suspended);
    # the running Pod once (its node is not simulated: placed anywhere, with a note); the finished one not.
    r = report(node("n1", memory="64Gi"), job, cron.replace("SUSPEND", "false"), pods)
    owners = sorted(p.owner for p in r.base.pods)
    assert owners == ["default/backfill"] * 3 + ["default/debug"] + ["default/nightly"] * 2
    assert any("nodeName" in note and "default/debug" in note for note in r.notes)
    r = report(node("n1", memory="64Gi"), job, cron.replace("SUSPEND", "true"), pods)
    assert "default/nightly" not in {p.owner for p in r.base.pods}


def test_daemonset_pods_are_not_displaced_when_their_node_dies():
    r = report(
        node("n1", memory="4Gi"),
        node("n2", memory="4Gi"),
        deployment("agent", kind="DaemonSet", requests="{memory: 1Gi}"),
        deployment("app", replicas=2, requests="{memory: 1Gi}"),
    )
    for loss in r.losses:
        assert [p.owner for p in loss.displaced] == ["default/app"]
        assert loss.fits  # 1Gi moves into 4Gi - 1Gi (agent) - 1Gi (app) = 2Gi free


def test_drain_blocked_by_evicted_pods_that_cannot_come_back():
    # Two 4Gi nodes; db has 2 x 3Gi replicas on different nodes, budget maxUnavailable 1.
    # Draining one node evicts one pod (allowed) but it fits nowhere else: 1 lost <= 1 allowed, so the
    # drain finishes, degraded. With both replicas forced onto one node (one node only), draining it
    # evicts 2 with 1 allowed: blocked.
    pdb = """
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: default}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: db}}
"""
    r = report(
        node("n1", memory="4Gi"),
        node("n2", memory="4Gi"),
        deployment("db", replicas=2, requests="{memory: 3Gi}"),
        pdb,
    )
    assert all(d.ok for d in r.drains)
    assert all(not loss.fits for loss in r.losses)
    r = report(node("n1", memory="8Gi"), deployment("db", replicas=2, requests="{memory: 3Gi}"), pdb)
    (drain,) = r.drains
    assert not drain.ok
    assert "cannot be re-placed" in drain.blockers[0].reason


def test_drain_blocked_by_two_budgets():
    pdbs = "---".join(
        f"""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: default}}
spec:
  maxUnavailable: 1
  selector: {{matchLabels: {{app: web}}}}
"""
        for name in ("web-a", "web-b")
    )
    r = report(node("n1"), node("n2"), node("n3"), deployment("web", replicas=3), pdbs)
    assert all(not d.ok for d in r.drains)
    assert "2 PodDisruptionBudgets" in r.drains[0].blockers[0].reason


def test_anti_affinity_across_namespaces_needs_the_namespace_listed():
    other = deployment("search", ns="other", requests="{memory: 1Gi}")
    term = anti_affinity("search")
    r = report(node("n1"), other, deployment("client", ns="default", spec_extra=term))
    assert r.base.fits  # the term looks in its own namespace only
    listed = term.replace("topologyKey", "namespaces: [other]\n              topologyKey")
    r = report(node("n1"), other, deployment("client", ns="default", spec_extra=listed))
    assert not r.base.fits
    assert "anti-affinity" in r.base.placement.unplaced[0][1]


def test_existing_pods_anti_affinity_is_symmetric():
    # The guard refuses company from app=web on its node; web has no terms of its own.
    guard = deployment("guard", spec_extra=anti_affinity("web"))
    r = report(node("n1"), guard, deployment("web"))
    assert not r.base.fits
    assert r.base.placement.unplaced[0][1] in (
        "0/1 nodes are available: 1 anti-affinity",
        "0/1 nodes are available: 1 anti-affinity (of a pod already there)",
    )


def test_search_finds_the_placement_the_greedy_pass_misses():
    # Greedy (largest first, least allocated) puts the unconstrained 3Gi pod on the empty ssd node;
    # then the ssd-only 3Gi pod has no room. A placement exists: flexible pod on hdd.
    docs = [
        node("hdd", memory="4Gi", labels="{disk: hdd}"),
        node("ssd", memory="5Gi", labels="{disk: ssd}"),
        deployment("flexible", requests="{memory: 3Gi}"),
        deployment("picky", requests="{memory: 3Gi}", spec_extra="\n      nodeSelector: {disk: ssd}"),
    ]
    r = report(*docs)
    assert r.base.fits
    assert r.base.placement.searched
    placed = {p.owner: n for p, n in r.base.placement.assignment.items()}
    assert placed == {"default/flexible": "hdd", "default/picky": "ssd"}


def test_what_is_not_simulated_is_said():
    gpu_and_port = """
        - name: main
          image: registry.example.com/infer:1.0.0
          ports: [{containerPort: 8080, hostPort: 8080}]
          resources: {limits: {nvidia.com/gpu: 1, memory: 1Gi}}"""
    affinity = """
      affinity:
        podAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {matchLabels: {app: db}}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, labelSelector: {matchLabels: {app: web}}}"""
    r = report(
        node("n1"), deployment("infer", containers=gpu_and_port), deployment("web", spec_extra=affinity)
    )
    notes = " ".join(r.notes)
    assert "Extended resources" in notes and "Deployment infer" in notes
    assert "hostPort" in notes
    assert "Required pod affinity" in notes and "Deployment web" in notes
    assert "topologySpreadConstraints" in notes


def test_static_control_plane_pods_are_not_packed():
    static = """
apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system, labels: {component: kube-apiserver, tier: control-plane}}
spec:
  hostNetwork: true
  containers: [{name: c, image: x:1, resources: {requests: {cpu: 250m, memory: 1Gi}}}]
"""
    r = report(node("n1"), static)
    assert r.base.pods == []
    assert any("Static control-plane pods (kube-apiserver" in note for note in r.notes)
