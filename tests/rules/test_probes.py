"""Probe rules: edge cases beyond the documented examples (named ports, localhost, kinds, budgets)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import scan_yaml
from premortem.model.podspec import CONTAINER, ContainerView
from premortem.model.probes import Probe, exec_reach, is_local_host, resolve_port


def deployment(container: str, kind: str = "Deployment", extra: str = "") -> str:
    """A workload whose single container is the given flow mapping (JSON is valid YAML)."""
    head = {
        "Deployment": "apiVersion: apps/v1\nkind: Deployment",
        "StatefulSet": "apiVersion: apps/v1\nkind: StatefulSet",
        "DaemonSet": "apiVersion: apps/v1\nkind: DaemonSet",
    }[kind]
    return (
        f"{head}\nmetadata: {{name: w, namespace: prod}}\nspec:\n  replicas: 3\n"
        "  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n"
        f"    spec:\n      containers:\n        - {container}\n{extra}"
    )


def container(**fields) -> str:
    return json.dumps({"name": "app", "image": "registry.example.com/app:1.0", **fields})


def probe_findings(text: str, rule: str | None = None):
    found = [f for f in scan_yaml(text).findings if f.category == "probes"]
    return [f for f in found if rule is None or f.rule == rule]


def view(**data) -> ContainerView:
    return ContainerView("app", CONTAINER, 0, ("spec", "containers", 0), data)


def exec_probe(*command: str) -> dict:
    return {"exec": {"command": list(command)}, "periodSeconds": 10, "failureThreshold": 3}


# --- PRB001: liveness crossing the network ---------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["sh", "-c", "pg_isready -h orders-db -p 5432"], "orders-db"),
        (["mysqladmin", "ping", "-h", "mysql.prod.svc"], "mysql.prod.svc"),
        (["mysql", "-hmysql-primary", "-e", "select 1"], "mysql-primary"),
        (["redis-cli", "-h", "redis-master", "ping"], "redis-master"),
        (["sh", "-c", "redis-cli -u redis://cache:6379 ping | grep PONG"], "cache:6379"),
        (["psql", "postgres://app@db.prod:5432/app", "-c", "select 1"], "db.prod:5432"),
        (
            ["mongosh", "--host", "rs0/mongo-0.mongo:27017,mongo-1.mongo", "--eval", "1"],
            "mongo-0.mongo:27017",
        ),
        (["sh", "-c", "curl -fsS -o /dev/null http://auth.prod.svc/health && echo ok"], "auth.prod.svc"),
        (["wget", "-q", "-O", "-", "api.example.com/ping"], "api.example.com"),
        (["nc", "-z", "-w", "2", "kafka", "9092"], "kafka"),
        (["bash", "-c", "echo > /dev/tcp/db/5432"], "db"),
        (["kubectl", "get", "--raw", "/healthz"], "the Kubernetes API server"),
        (["kafka-broker-api-versions.sh", "--bootstrap-server", "kafka-0.kafka:9092"], "kafka-0.kafka:9092"),
        (["sh", "-c", "echo ruok | nc zk-0.zk 2181 | grep imok"], "zk-0.zk"),
        (["vault", "status", "-address=https://vault.prod:8200"], "vault.prod:8200"),
    ],
)
def test_exec_commands_that_reach_other_hosts(command, target):
    reach = exec_reach(command, view())
    assert reach is not None and reach.target == target and reach.certain


@pytest.mark.parametrize(
    "command",
    [
        ["pg_isready", "-U", "postgres"],
        ["pg_isready", "-h", "127.0.0.1", "-p", "5432"],
        ["sh", "-c", "exec pg_isready -U postgres -h $(POD_IP) -p 5432"],
        ["bash", "-c", "mysqladmin -uroot -p$MYSQL_ROOT_PASSWORD ping"],
        ["redis-cli", "-h", "localhost", "ping"],
        ["redis-cli", "-h", "$(hostname -i)", "ping"],
        ["sh", "-c", "curl -fsS http://localhost:8080/health"],
        ["curl", "-f", "http://[::1]:8080/"],
        ["curl", "--unix-socket", "/run/app.sock", "http://app/health"],
        ["nc", "-z", "127.0.0.1", "9092"],
        ["/bin/grpc_health_probe", "-addr=:50051"],
        ["/app/grpc-health-probe", "-addr=unix:///var/run/aws-node/ipamd.sock"],
        ["/bin/bash", "-c", "nodetool status"],
        ["etcdctl", "--endpoints=https://127.0.0.1:2379", "endpoint", "health"],
        ["psql", "-d", "app", "-c", "select 1"],
        ["cat", "/tmp/healthy"],
        ["sh", "-c", "/health/redis_liveness.sh"],
        ["/usr/local/bin/myapp", "healthcheck", "--addr", "localhost:9000"],
        ["nodetool", "-h", "::FFFF:127.0.0.1", "status"],
        ["sh", "-c", "echo ruok | nc localhost 2181 | grep imok"],
        ["sh", "-c", 'exec pg_isready -U "postgres" -d "dbname=postgres" -h 127.0.0.1 -p 5432'],
        ["kafka-broker-api-versions.sh", "--bootstrap-server=localhost:9092"],
        ["vault", "status", "-address=https://127.0.0.1:8200"],
        ["curl", "-XGET", "-s", "-k", "--fail", "http://127.0.0.1:9200/_cluster/health?local=true"],
        ["mongosh", "--port", "27017", "--eval", "db.adminCommand('ping')"],
        ["rabbitmq-diagnostics", "-q", "ping"],
    ],
)
def test_local_exec_commands_are_not_network(command):
    pod_ip = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    assert exec_reach(command, view(env=[pod_ip])) is None


def test_env_variable_hosts():
    literal = view(env=[{"name": "DB_HOST", "value": "db.prod"}])
    reach = exec_reach(["sh", "-c", "pg_isready -h $DB_HOST"], literal)
    assert reach is not None and reach.certain
    local = view(env=[{"name": "DB_HOST", "value": "localhost"}])
    assert exec_reach(["sh", "-c", "pg_isready -h ${DB_HOST}"], local) is None
    unknown = exec_reach(["sh", "-c", "pg_isready -h $DB_HOST"], view())
    assert unknown is not None and not unknown.certain
    assert is_local_host(
        "$(MY_IP)", view(env=[{"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
    )


def test_prb001_high_for_explicit_host_and_names_replicas():
    text = deployment(container(livenessProbe=exec_probe("sh", "-c", "redis-cli -h redis-master ping")))
    (finding,) = probe_findings(text, "PRB001")
    assert finding.severity.label == "high"
    assert "all 3 replicas" in finding.message and "redis-master" in finding.message
    assert finding.path == "/spec/template/spec/containers/0/livenessProbe/exec"


@pytest.mark.parametrize(
    "path", ["/health/db", "/healthz/redis", "/api/deps", "/check-downstream", "/actuator/health"]
)
def test_prb001_medium_for_dependency_paths(path):
    text = deployment(container(livenessProbe={"httpGet": {"path": path, "port": 8080}}))
    (finding,) = probe_findings(text, "PRB001")
    assert finding.severity.label == "medium"


@pytest.mark.parametrize(
    "path", ["/healthz", "/livez", "/actuator/health/liveness", "/dashboard", "/q/health/live"]
)
def test_prb001_not_for_local_paths(path):
    assert (
        probe_findings(
            deployment(container(livenessProbe={"httpGet": {"path": path, "port": 8080}})), "PRB001"
        )
        == []
    )


def test_prb001_http_and_tcp_host():
    remote = deployment(
        container(livenessProbe={"httpGet": {"path": "/", "port": 80, "host": "auth.example.com"}})
    )
    assert [f.severity.label for f in probe_findings(remote, "PRB001")] == ["high"]
    tcp = deployment(container(livenessProbe={"tcpSocket": {"port": 5432, "host": "10.0.0.5"}}))
    assert len(probe_findings(tcp, "PRB001")) == 1
    for host in ("127.0.0.1", "localhost", "::1"):
        local = deployment(container(livenessProbe={"httpGet": {"path": "/", "port": 80, "host": host}}))
        assert probe_findings(local, "PRB001") == []


def test_readiness_checking_a_dependency_is_not_prb001():
    text = deployment(container(readinessProbe=exec_probe("pg_isready", "-h", "db")))
    assert probe_findings(text, "PRB001") == []


def test_jobs_and_cronjobs_are_never_checked():
    probe = json.dumps(
        {"exec": {"command": ["pg_isready", "-h", "db"]}, "periodSeconds": 1, "failureThreshold": 1}
    )
    job = f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: j}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: j, image: 'j:1', livenessProbe: {probe}}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: c}}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: c, image: 'c:1', livenessProbe: {probe}, ports: [{{containerPort: 80}}]}}]
"""
    assert probe_findings(job) == []


def test_sidecar_probes_are_checked():
    text = deployment(
        container(readinessProbe={"httpGet": {"path": "/", "port": 80}}),
        extra="      initContainers:\n        - "
        + json.dumps(
            {
                "name": "proxy",
                "image": "envoy:1.29",
                "restartPolicy": "Always",
                "livenessProbe": exec_probe("curl", "-f", "http://control-plane.mesh:15010/ready"),
            }
        )
        + "\n",
    )
    (finding,) = probe_findings(text, "PRB001")
    assert finding.container == "proxy"


# --- PRB002: liveness identical to readiness --------------------------------------------------------


def test_named_port_resolves_to_the_same_handler():
    text = deployment(
        container(
            ports=[{"name": "http", "containerPort": 8080}],
            livenessProbe={"httpGet": {"path": "/healthz", "port": "http"}},
            readinessProbe={"httpGet": {"path": "healthz", "port": 8080, "scheme": "HTTP"}},
        )
    )
    (finding,) = probe_findings(text, "PRB002")
    assert finding.severity.label == "medium" and "30 s" in finding.message


@pytest.mark.parametrize(
    ("liveness", "readiness", "expected"),
    [
        ({}, {}, "medium"),
        ({"failureThreshold": 2}, {}, "medium"),  # liveness acts before readiness
        ({"failureThreshold": 4}, {}, "low"),  # 40 s against 30 s: barely larger
        ({"failureThreshold": 6}, {}, None),  # 60 s against 30 s: clearly larger
        ({"periodSeconds": 10}, {"periodSeconds": 5}, None),  # 30 s against 15 s
        ({}, {"periodSeconds": 20}, "medium"),
    ],
)
def test_prb002_budgets(liveness, readiness, expected):
    handler = {"tcpSocket": {"port": 5432}}
    text = deployment(
        container(livenessProbe={**handler, **liveness}, readinessProbe={**handler, **readiness})
    )
    found = probe_findings(text, "PRB002")
    assert [f.severity.label for f in found] == ([expected] if expected else [])


def test_prb002_different_handlers_or_daemonsets_are_clean():
    different = container(
        livenessProbe={"httpGet": {"path": "/livez", "port": 8080}},
        readinessProbe={"httpGet": {"path": "/readyz", "port": 8080}},
    )
    assert probe_findings(deployment(different), "PRB002") == []
    same = container(livenessProbe={"tcpSocket": {"port": 53}}, readinessProbe={"tcpSocket": {"port": 53}})
    assert probe_findings(deployment(same, kind="DaemonSet"), "PRB002") == []


def test_prb002_monitoring_helper_beside_a_server_is_low():
    """prometheus chart (helm-rendered corpus): configmap-reload probes /healthz on its 'metrics' port
    with the same budget for liveness and readiness, beside prometheus-server which serves 9090."""
    reload = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10}
    helper = json.dumps(
        {
            "name": "configmap-reload",
            "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
            "ports": [{"name": "metrics", "containerPort": 8080}],
            "livenessProbe": reload,
            "readinessProbe": reload,
        }
    )
    server = json.dumps(
        {
            "name": "server",
            "image": "quay.io/prometheus/prometheus:v3.5.0",
            "ports": [{"containerPort": 9090}],
        }
    )
    (finding,) = probe_findings(deployment(f"{helper}\n        - {server}"), "PRB002")
    assert finding.severity.label == "low" and "monitoring ports" in finding.message
    # Ports that are not ports (malformed) do not make it a monitoring helper.
    odd = helper.replace('[{"name": "metrics", "containerPort": 8080}]', "[null, 5]")
    (malformed,) = probe_findings(deployment(f"{odd}\n        - {server}"), "PRB002")
    assert malformed.severity.label == "medium"
    # The same helper alone in its pod is what serves: the cascade applies.
    (alone,) = probe_findings(deployment(helper), "PRB002")
    assert alone.severity.label == "medium"


# --- PRB003 and PRB004: start budget and hair trigger -----------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fires"),
    [
        ({}, False),  # defaults: 0 + 10 x 3 = 30 s
        ({"initialDelaySeconds": 5, "periodSeconds": 5}, True),  # 20 s
        ({"periodSeconds": 5, "failureThreshold": 6}, False),  # 30 s
        ({"periodSeconds": 0, "failureThreshold": 0}, False),  # 0 means the default
        ({"initialDelaySeconds": 60, "periodSeconds": 1, "failureThreshold": 1}, False),
    ],
)
def test_prb003_start_budget(fields, fires):
    text = deployment(container(livenessProbe={"httpGet": {"path": "/livez", "port": 8080}, **fields}))
    assert bool(probe_findings(text, "PRB003")) is fires


def test_prb003_not_with_a_startup_probe():
    probe = {"httpGet": {"path": "/livez", "port": 8080}, "periodSeconds": 2}
    text = deployment(container(livenessProbe=probe, startupProbe={**probe, "failureThreshold": 60}))
    assert probe_findings(text, "PRB003") == []


@pytest.mark.parametrize(
    ("fields", "fires"),
    [
        ({"periodSeconds": 2, "failureThreshold": 1}, True),
        ({"periodSeconds": 2, "failureThreshold": 1, "timeoutSeconds": 1}, True),
        ({"periodSeconds": 5, "failureThreshold": 1}, False),
        ({"periodSeconds": 2, "failureThreshold": 2}, False),
        ({"periodSeconds": 2, "failureThreshold": 1, "timeoutSeconds": 3}, False),
    ],
)
def test_prb004_hair_trigger(fields, fires):
    text = deployment(container(livenessProbe={"tcpSocket": {"port": 8080}, **fields}))
    assert bool(probe_findings(text, "PRB004")) is fires


# --- PRB005: no readiness probe ---------------------------------------------------------------------


SERVICE = """---
apiVersion: v1
kind: Service
metadata: {name: w, namespace: prod}
spec:
  selector: {app: w}
  ports: [{port: 80}]
"""


def test_prb005_needs_traffic():
    worker = deployment(container())  # no ports, no Service: a queue worker
    assert probe_findings(worker, "PRB005") == []
    (served,) = probe_findings(worker + SERVICE, "PRB005")
    assert "Service w" in served.message and served.severity.label == "low"
    (ported,) = probe_findings(deployment(container(ports=[{"containerPort": 8080}])), "PRB005")
    assert "rollout" in ported.message


def test_prb005_daemonsets_only_behind_a_service():
    agent = deployment(container(ports=[{"name": "metrics", "containerPort": 9100}]), kind="DaemonSet")
    assert probe_findings(agent, "PRB005") == []
    assert len(probe_findings(agent + SERVICE, "PRB005")) == 1


def test_prb005_service_in_another_namespace_does_not_count():
    other = SERVICE.replace("namespace: prod", "namespace: staging")
    assert probe_findings(deployment(container()) + other, "PRB005") == []


def test_prb005_readiness_on_a_sidecar_counts():
    text = deployment(
        container(ports=[{"containerPort": 8080}]),
        extra="      initContainers:\n        - "
        + json.dumps(
            {
                "name": "proxy",
                "image": "envoy:1.29",
                "restartPolicy": "Always",
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 15021}},
            }
        )
        + "\n",
    )
    assert probe_findings(text, "PRB005") == []


# --- PRB006: named port not declared ----------------------------------------------------------------


def test_prb006_unknown_named_port():
    text = deployment(
        container(
            ports=[{"name": "web", "containerPort": 8080}],
            livenessProbe={"httpGet": {"path": "/livez", "port": "http"}, "failureThreshold": 6},
            readinessProbe={"httpGet": {"path": "/readyz", "port": "web"}},
        )
    )
    (finding,) = probe_findings(text, "PRB006")
    assert "'http'" in finding.message and "web=8080" in finding.message
    assert finding.path.endswith("/livenessProbe/httpGet/port")


def test_numeric_string_port_resolves():
    assert resolve_port("8080", view()) == 8080
    assert resolve_port("http", view(ports=[{"name": "http", "containerPort": 80}])) == 80
    assert resolve_port("http", view()) == "http"
    text = deployment(container(readinessProbe={"tcpSocket": {"port": "8080"}}))
    assert probe_findings(text, "PRB006") == []


def test_probe_defaults():
    probe = Probe("livenessProbe", view(), {"tcpSocket": {"port": 1}})
    assert (probe.initial_delay, probe.timeout, probe.period, probe.failure_threshold) == (0, 1, 10, 3)
    assert probe.failure_budget == 30 and probe.start_budget == 30
    bad = Probe("livenessProbe", view(), {"tcpSocket": {"port": 1}, "periodSeconds": "10"})
    assert bad.period is None and bad.failure_budget is None


# --- PRB007: loopback host without hostNetwork ------------------------------------------------------


def test_prb007_loopback_host_probes_the_node():
    probe = {"tcpSocket": {"host": "localhost", "port": 5432}}
    (finding,) = probe_findings(deployment(container(livenessProbe=probe)), "PRB007")
    assert "the node, not the container" in finding.message
    assert finding.path.endswith("/livenessProbe/tcpSocket/host")
    host_network = deployment(container(livenessProbe=probe)).replace(
        "      containers:", "      hostNetwork: true\n      containers:"
    )
    assert probe_findings(host_network, "PRB007") == []
    assert probe_findings(deployment(container(livenessProbe={"tcpSocket": {"port": 5432}})), "PRB007") == []


def test_kustomize_patches_are_not_judged_on_what_the_base_provides():
    patch = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: controller-manager, namespace: system}
spec:
  template:
    spec:
      containers:
        - name: manager
          ports: [{containerPort: 8443, name: webhook-server}]
          livenessProbe:
            httpGet: {path: /healthz, port: probes}
            initialDelaySeconds: 5
            periodSeconds: 5
          readinessProbe:
            httpGet: {path: /healthz, port: probes}
"""
    assert probe_findings(patch) == []
    # What the patch itself says about the network is still the final probe.
    remote = patch.replace(
        "path: /healthz, port: probes}\n            initial",
        "path: /health/db, port: 80}\n            initial",
    )
    assert [f.rule for f in probe_findings(remote)] == ["PRB001"]


# --- Laws -------------------------------------------------------------------------------------------

_seconds = st.integers(min_value=1, max_value=60)


@settings(max_examples=60, deadline=None)
@given(lp=_seconds, lf=st.integers(1, 10), rp=_seconds, rf=st.integers(1, 10), named=st.booleans())
def test_prb002_fires_exactly_when_liveness_is_not_clearly_later(lp, lf, rp, rf, named):
    port = "http" if named else 8080
    text = deployment(
        container(
            ports=[{"name": "http", "containerPort": 8080}],
            livenessProbe={
                "httpGet": {"path": "/healthz", "port": port},
                "periodSeconds": lp,
                "failureThreshold": lf,
            },
            readinessProbe={
                "httpGet": {"path": "/healthz", "port": 8080},
                "periodSeconds": rp,
                "failureThreshold": rf,
            },
        )
    )
    fired = probe_findings(text, "PRB002")
    # A liveness budget of 300 s or more is patient enough (issue 14; PRB002 patient_seconds).
    assert bool(fired) is (lp * lf < 1.5 * rp * rf and lp * lf < 300)
    if fired:
        assert fired[0].severity.label == ("medium" if lp * lf <= rp * rf else "low")


@settings(max_examples=60, deadline=None)
@given(delay=st.integers(0, 40), period=_seconds, failures=st.integers(1, 10))
def test_prb003_fires_exactly_under_30_seconds(delay, period, failures):
    probe = {"tcpSocket": {"port": 8080}, "initialDelaySeconds": delay, "periodSeconds": period}
    probe["failureThreshold"] = failures
    fired = probe_findings(deployment(container(livenessProbe=probe)), "PRB003")
    assert bool(fired) is (delay + period * failures < 30)


def test_prb005_ignores_services_that_publish_not_ready_pods():
    headless = SERVICE.replace(
        "  selector: {app: w}", "  clusterIP: None\n  publishNotReadyAddresses: true\n  selector: {app: w}"
    )
    assert probe_findings(deployment(container()) + headless, "PRB005") == []


_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_probe = st.fixed_dictionaries(
    {},
    optional={
        "exec": st.fixed_dictionaries({"command": st.lists(st.text(max_size=20), max_size=4) | _junk}),
        "httpGet": st.fixed_dictionaries(
            {}, optional={"path": _junk, "port": _junk, "host": _junk, "httpHeaders": _junk, "scheme": _junk}
        ),
        "tcpSocket": st.fixed_dictionaries({}, optional={"port": _junk, "host": _junk}),
        "periodSeconds": _junk,
        "failureThreshold": _junk,
        "timeoutSeconds": _junk,
        "initialDelaySeconds": _junk,
    },
)


@settings(max_examples=80, deadline=None)
@given(liveness=_probe, readiness=_probe | st.none(), ports=_junk, env=_junk, image=_junk)
def test_malformed_probes_and_images_never_crash_a_rule(liveness, readiness, ports, env, image):
    fields = {"livenessProbe": liveness, "ports": ports, "env": env, "image": image}
    if readiness is not None:
        fields["readinessProbe"] = readiness
    # conftest sets PREMORTEM_STRICT: a rule that raises fails the scan instead of becoming a finding.
    result = scan_yaml(deployment(json.dumps({"name": "app", **fields})))
    assert all(f.category != "probes" or f.line for f in result.findings)
