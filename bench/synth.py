"""Synthetic corpus for the scaling benchmark: N realistic objects, packaged in one of several shapes.

Each "app" is what a team usually ships together: a Deployment or StatefulSet (sometimes a DaemonSet
or CronJob), its Service, ConfigMap, ServiceAccount, often a PDB, an HPA, an Ingress and RBAC. Values
vary (with and without requests/limits, probes, digests, several containers) so every rule family
has something to look at. The output is deterministic for a given N, seed and shape.

Shapes (the same objects, packaged the ways users feed them):

- ``files``: one multi-document file per app, apps spread over 37 namespaces (a GitOps repository);
- ``multidoc``: every object in one multi-document YAML file (``helm template`` of a big chart);
- ``list-yaml``: one ``kind: List`` in YAML, as ``kubectl get ... -A -o yaml`` prints it;
- ``list-json``: the same List as ``kubectl get ... -A -o json`` prints it (4-space indent);
- ``dense``: one namespace holding thousands of apps, each a Deployment, its Service, its PDB and its
  HPA, all selecting each other by label (one file per app).

    python bench/synth.py OUTDIR N [--seed 7] [--shape files]
    python bench/synth.py OUTDIR PODS --cluster NODES        (Node objects and workloads, for capacity)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil

import yaml

SHAPES = ("files", "multidoc", "list-yaml", "list-json", "dense")
DENSE_NAMESPACE = "shop"

_IMAGES = (
    "nginx:1.25.3",
    "ghcr.io/acme/api:v2.14.0",
    "registry.internal:5000/payments",
    "redis:7.2@sha256:" + "ab" * 32,
    "quay.io/prometheus/node-exporter:v1.7.0",
    "busybox:latest",
)


def _resources(rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return ""  # BestEffort
    cpu = rng.choice(("50m", "100m", "250m", "500m", "1"))
    mem = rng.choice(("64Mi", "128Mi", "256Mi", "512Mi", "1Gi"))
    if choice == 1:
        return f"""
          resources:
            requests:
              cpu: {cpu}
              memory: {mem}"""
    if choice == 2:
        return f"""
          resources:
            limits:
              cpu: {cpu}
              memory: {mem}"""
    return f"""
          resources:
            requests:
              cpu: {cpu}
              memory: {mem}
            limits:
              memory: {mem if choice == 3 else "2Gi"}"""


def _probes(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return ""
    port = rng.choice((8080, 9090, 3000))
    return f"""
          readinessProbe:
            httpGet:
              path: /healthz
              port: {port}
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /livez
              port: {port}
            initialDelaySeconds: {rng.choice((0, 5, 30))}
            timeoutSeconds: 1"""


def _container(rng: random.Random, name: str) -> str:
    env = "".join(
        f"""
            - name: VAR_{i}
              value: "{rng.randrange(10**6)}\""""
        for i in range(rng.randrange(4))
    )
    return f"""
        - name: {name}
          image: {rng.choice(_IMAGES)}
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 8080
              name: http
              protocol: TCP
          env:
            - name: LOG_LEVEL
              value: info{env}{_resources(rng)}{_probes(rng)}
          volumeMounts:
            - name: config
              mountPath: /etc/app
              readOnly: true"""


def _pod_template(rng: random.Random, app: str) -> str:
    containers = "".join(_container(rng, f"{app}-{i}" if i else app) for i in range(1 + (rng.random() < 0.2)))
    return f"""
  template:
    metadata:
      labels:
        app: {app}
        tier: {rng.choice(("web", "api", "worker"))}
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: {app}
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:{containers}
      volumes:
        - name: config
          configMap:
            name: {app}-config"""


def _pdb(app: str, ns: str, rng: random.Random) -> str:
    budget = rng.choice(("minAvailable: 1", "maxUnavailable: 1", 'minAvailable: "50%"', "maxUnavailable: 0"))
    return f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {app}
  namespace: {ns}
spec:
  {budget}
  selector:
    matchLabels:
      app: {app}"""


def _hpa(app: str, ns: str, replicas: int) -> str:
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {app}
  namespace: {ns}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {app}
  minReplicas: {replicas}
  maxReplicas: {replicas * 4}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70"""


def app_documents(rng: random.Random, index: int, dense: bool = False) -> list[str]:
    """The objects of one app (a list of YAML documents). ``dense``: a Deployment with its Service,
    PDB and HPA, in the one namespace every dense app shares."""
    app = f"app-{index:06d}"
    ns = DENSE_NAMESPACE if dense else f"team-{index % 37:02d}"
    meta = f"""metadata:
  name: {app}
  namespace: {ns}
  labels:
    app: {app}
    app.kubernetes.io/part-of: shop"""
    replicas = rng.choice((1, 2, 3, 5))
    workload_kind = rng.choices(("Deployment", "StatefulSet", "DaemonSet", "CronJob"), (8, 2, 1, 1))[0]
    if dense:
        workload_kind = "Deployment"
    docs = []
    if workload_kind == "CronJob":
        template = _pod_template(rng, app).replace(
            "\n    spec:", "\n    spec:\n      restartPolicy: OnFailure"
        )
        template = template.replace("\n", "\n    ")
        docs.append(
            f"""apiVersion: batch/v1
kind: CronJob
{meta}
spec:
  schedule: "*/15 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 3{template}"""
        )
    else:
        replicas_line = "" if workload_kind == "DaemonSet" else f"\n  replicas: {replicas}"
        service_line = f"\n  serviceName: {app}" if workload_kind == "StatefulSet" else ""
        docs.append(
            f"""apiVersion: apps/v1
kind: {workload_kind}
{meta}
spec:{replicas_line}{service_line}
  selector:
    matchLabels:
      app: {app}{_pod_template(rng, app)}"""
        )
    docs.append(
        f"""apiVersion: v1
kind: Service
{meta}
spec:
  type: ClusterIP
  selector:
    app: {app}
  ports:
    - name: http
      port: 80
      targetPort: http"""
    )
    if dense:
        docs.append(_pdb(app, ns, rng))
        docs.append(_hpa(app, ns, replicas))
        return docs
    docs.append(
        f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config
  namespace: {ns}
data:
  app.properties: |
    listen=0.0.0.0:8080
    workers={rng.randrange(1, 16)}
    feature.flags=on
  LOG_FORMAT: json"""
    )
    docs.append(
        f"""apiVersion: v1
kind: ServiceAccount
metadata:
  name: {app}
  namespace: {ns}"""
    )
    if workload_kind in ("Deployment", "StatefulSet") and rng.random() < 0.6:
        docs.append(_pdb(app, ns, rng))
    if workload_kind == "Deployment" and rng.random() < 0.4:
        docs.append(_hpa(app, ns, replicas))
    if rng.random() < 0.3:
        docs.append(
            f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {app}
  namespace: {ns}
spec:
  ingressClassName: nginx
  rules:
    - host: {app}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {app}
                port:
                  number: 80"""
        )
    if rng.random() < 0.3:
        docs.append(
            f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {app}
  namespace: {ns}
rules:
  - apiGroups: [""]
    resources: ["configmaps", "secrets"]
    verbs: ["get", "list", "watch"]"""
        )
    return docs


def generate(outdir: str, objects: int, seed: int = 7, shape: str = "files") -> int:
    """Write ``objects`` objects below ``outdir`` (replacing it) in ``shape``; returns the count."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    apps = _apps(objects, seed, dense=shape == "dense")
    if shape in ("files", "dense"):
        for index, docs in apps:
            team = "shop" if shape == "dense" else f"team-{index % 37:02d}"
            folder = os.path.join(outdir, team, f"group-{index // 500:04d}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"app-{index:06d}.yaml"), "w", encoding="utf-8") as handle:
                handle.write(_multidoc(docs))
    elif shape == "multidoc":
        with open(os.path.join(outdir, "all.yaml"), "w", encoding="utf-8") as handle:
            for _index, docs in apps:
                handle.write("---\n" + _multidoc(docs))
    elif shape == "list-yaml":
        with open(os.path.join(outdir, "dump.yaml"), "w", encoding="utf-8") as handle:
            handle.write("apiVersion: v1\nitems:\n")
            for _index, docs in apps:
                for doc in docs:
                    handle.write(_list_item(doc))
            handle.write('kind: List\nmetadata:\n  resourceVersion: ""\n')
    else:  # list-json
        _write_json_list(os.path.join(outdir, "dump.json"), (doc for _index, docs in apps for doc in docs))
    return objects


def _apps(objects: int, seed: int, dense: bool) -> list[tuple[int, list[str]]]:
    """(index, documents) of the apps holding exactly ``objects`` objects."""
    rng = random.Random(seed)
    apps: list[tuple[int, list[str]]] = []
    written = 0
    index = 0
    while written < objects:
        docs = app_documents(rng, index, dense)[: objects - written]
        apps.append((index, docs))
        written += len(docs)
        index += 1
    return apps


def _multidoc(docs: list[str]) -> str:
    return "---\n".join(doc.strip("\n") + "\n" for doc in docs)


def _list_item(doc: str) -> str:
    """One document as an item of a List, indented the way kubectl prints it ('- ' then 2 spaces)."""
    lines = doc.strip("\n").split("\n")
    return "- " + lines[0] + "\n" + "".join("  " + line + "\n" for line in lines[1:])


def _write_json_list(path: str, docs: object) -> None:
    """A List as ``kubectl get -o json`` prints it: 4-space indentation, items between header keys."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{\n    "apiVersion": "v1",\n    "items": [')
        first = True
        for doc in docs:  # type: ignore[attr-defined]
            item = json.dumps(yaml.load(doc, Loader=loader), indent=4)
            handle.write(("\n" if first else ",\n") + "        " + item.replace("\n", "\n        "))
            first = False
        handle.write(
            '\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n'
        )


def cluster(outdir: str, nodes: int, pods: int, seed: int = 7) -> int:
    """A cluster for ``premortem capacity``: ``nodes`` Node objects (three zones, a tenth of them a
    tainted batch pool) and workloads creating about ``pods`` pods: four DaemonSets (one pod per
    node), Deployments and StatefulSets of 1-6 replicas, some with hostname anti-affinity, some
    pinned to the batch pool, half with a PDB, some scaled by an HPA. Returns the pod count at
    steady state (HPAs at minReplicas)."""
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    rng = random.Random(seed)
    batch = max(1, nodes // 10)
    with open(os.path.join(outdir, "nodes.yaml"), "w", encoding="utf-8") as handle:
        for i in range(nodes):
            name = f"node-{i:04d}"
            pool = "batch" if i < batch else "general"
            taints = (
                "\n  taints:\n  - key: dedicated\n    value: batch\n    effect: NoSchedule"
                if i < batch
                else ""
            )
            handle.write(
                f"""---
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels:
    kubernetes.io/hostname: {name}
    topology.kubernetes.io/zone: zone-{i % 3}
    pool: {pool}
spec:
  podCIDR: 10.{i // 256}.{i % 256}.0/24{taints}
status:
  capacity: {{cpu: "16", memory: 64Gi, pods: "110"}}
  allocatable: {{cpu: 15890m, memory: 62Gi, pods: "110"}}
"""
            )
    count = 0
    daemons = ("logs", "metrics", "cni", "csi")
    with open(os.path.join(outdir, "daemonsets.yaml"), "w", encoding="utf-8") as handle:
        for name in daemons:
            handle.write(_workload("DaemonSet", name, "kube-system", 1, "50m", "128Mi", "256Mi", ""))
            handle.write("      tolerations:\n      - operator: Exists\n")
    count += len(daemons) * nodes
    index = 0
    while count < pods:
        app = f"app-{index:05d}"
        ns = f"team-{index % 40:02d}"
        replicas = min(rng.randint(1, 6), pods - count)
        kind = "StatefulSet" if rng.random() < 0.15 else "Deployment"
        cpu = rng.choice(("50m", "100m", "200m", "250m", "500m"))
        memory = rng.choice(("128Mi", "256Mi", "512Mi", "768Mi", "1Gi"))
        limit = rng.choice((memory, memory, "2Gi"))
        extra = ""
        if rng.random() < 0.05:
            extra = (
                "      nodeSelector:\n        pool: batch\n      tolerations:\n"
                "      - {key: dedicated, operator: Equal, value: batch, effect: NoSchedule}\n"
            )
        elif replicas > 1 and rng.random() < 0.3:
            extra = (
                "      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
                f"          - labelSelector:\n              matchLabels: {{app: {app}}}\n"
                "            topologyKey: kubernetes.io/hostname\n"
            )
        folder = os.path.join(outdir, ns)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{app}.yaml"), "w", encoding="utf-8") as handle:
            handle.write(_workload(kind, app, ns, replicas, cpu, memory, limit, extra))
            if rng.random() < 0.5:
                handle.write(_pdb(app, ns, rng).join(("---\n", "\n")))
            if kind == "Deployment" and rng.random() < 0.2:
                handle.write(_hpa(app, ns, replicas).join(("---\n", "\n")))
        count += replicas
        index += 1
    return count


def _workload(
    kind: str, app: str, ns: str, replicas: int, cpu: str, memory: str, limit: str, extra: str
) -> str:
    replicas_line = "" if kind == "DaemonSet" else f"\n  replicas: {replicas}"
    service_line = f"\n  serviceName: {app}" if kind == "StatefulSet" else ""
    return f"""---
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {app}
  namespace: {ns}
spec:{replicas_line}{service_line}
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
      containers:
      - name: {app}
        image: registry.example/{app}:1.0.0
        resources:
          requests: {{cpu: {cpu}, memory: {memory}}}
          limits: {{memory: {limit}}}
{extra}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("objects", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shape", choices=SHAPES, default="files")
    parser.add_argument(
        "--cluster", metavar="NODES", type=int, help="write a cluster of NODES nodes and N pods"
    )
    args = parser.parse_args()
    if args.cluster:
        count = cluster(args.outdir, args.cluster, args.objects, args.seed)
        print(f"{args.cluster} nodes and {count} pods written below {args.outdir}")
        return
    count = generate(args.outdir, args.objects, args.seed, args.shape)
    print(f"{count} objects written below {args.outdir} ({args.shape})")


if __name__ == "__main__":
    main()
