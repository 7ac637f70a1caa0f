"""DNS003: external names a cluster-DNS pod resolves through the ndots:5 search path first."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import scan_yaml
from premortem.model.dns import configured_names, external_dots

WORKLOAD = """\
apiVersion: apps/v1
kind: KIND
metadata: {name: client, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
POD
      containers:
        - name: client
          image: registry.example.com/client:1.0.0
          env:
            - {name: NAME, value: "VALUE"}
"""


def dns003(value: str, name: str = "TARGET_URL", pod: str = "", kind: str = "Deployment") -> list[str]:
    text = WORKLOAD.replace("KIND", kind).replace("POD", pod or "      restartPolicy: Always")
    text = text.replace("NAME", name).replace("VALUE", value)
    return [f.severity.label for f in scan_yaml(text).findings if f.rule == "DNS003"]


@pytest.mark.parametrize(
    ("host", "dots"),
    [
        ("api.stripe.com", 2),
        ("github.com", 1),
        ("tc-telemetry.servicebus.windows.net", 3),
        ("storage.example.co.uk", 3),
        ("api.payments.dev", 2),
        # short names the search path is meant for
        ("redis.cache", None),
        ("api.dev", None),
        ("kafka-0.kafka-headless.kafka", None),
        ("db.shop.svc", None),
        ("db.shop.svc.cluster.local", None),
        # fully qualified: looked up as written
        ("api.stripe.com.", None),
    ],
)
def test_which_names_are_external(host, dots):
    assert external_dots(host) == dots


def test_a_url_to_an_external_host_is_low():
    assert dns003("https://api.stripe.com/v1/charges") == ["low"]
    assert dns003("postgres://app:secret@db.prod-cluster.rds.amazonaws.com:5432/app") == ["low"]


def test_a_bare_host_counts_only_in_a_host_variable():
    assert dns003("api.stripe.com:443", name="STRIPE_HOST") == ["low"]
    assert dns003("api.stripe.com", name="STRIPE_ENDPOINT") == ["low"]
    # a CRD, a webhook or a metric prefix has the shape of a host name without being one
    assert dns003("services.serving.knative.dev", name="RESOURCES") == []
    assert dns003("custom.googleapis.com", name="METRIC_PREFIX") == []


def test_ndots_low_enough_or_another_dns_policy_passes():
    ndots2 = '      dnsConfig: {options: [{name: ndots, value: "2"}]}'
    assert dns003("https://api.stripe.com", pod=ndots2) == []
    assert dns003("https://github.com", pod=ndots2) == ["low"]  # one dot is still below 2
    assert dns003("https://api.stripe.com", pod="      dnsPolicy: Default") == []
    assert dns003("https://api.stripe.com", pod="      hostNetwork: true") == []
    host_net = "      hostNetwork: true\n      dnsPolicy: ClusterFirstWithHostNet"
    assert dns003("https://api.stripe.com", pod=host_net) == ["low"]


def test_cluster_names_and_jobs_pass():
    assert dns003("http://checkout.shop.svc.cluster.local:8080") == []
    assert dns003("http://checkout.shop:8080") == []
    job = WORKLOAD.replace("KIND", "Job").replace(
        "  replicas: 2\n  selector: {matchLabels: {app: client}}\n", ""
    )
    job = (
        job.replace("POD", "      restartPolicy: Never")
        .replace("NAME", "URL")
        .replace("VALUE", "https://api.stripe.com")
    )
    assert [f for f in scan_yaml(job).findings if f.rule == "DNS003"] == []


def test_the_fix_suits_the_names():
    text = WORKLOAD.replace("KIND", "Deployment").replace("POD", "      restartPolicy: Always")
    two = scan_yaml(text.replace("NAME", "U").replace("VALUE", "https://api.stripe.com"))
    [finding] = [f for f in two.findings if f.rule == "DNS003"]
    assert 'value: "2"' in finding.fix and "8 queries" in finding.message
    one = scan_yaml(text.replace("NAME", "U").replace("VALUE", "https://github.com"))
    [finding] = [f for f in one.findings if f.rule == "DNS003"]
    assert "github.com." in finding.fix


def test_placeholders_scripts_and_flags():
    assert dns003("ko://github.com/tektoncd/pipeline/cmd/nop") == []  # a build-time image placeholder
    assert dns003("s3://backups.example-bucket.com/daily") == []  # a bucket, not a host to connect to
    assert dns003("cd /src && git clone https://github.com/org/app.git && make") == []  # a script
    assert dns003("--upstream=https://api.stripe.com", name="ARGS") == ["low"]


LABELS = st.from_regex(r"[a-z0-9](?:[-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
TLDS = st.sampled_from(
    ["com", "net", "io", "dev", "cloud", "uk", "de", "cache", "internal", "local", "kafka"]
)
HOSTS = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(LABELS, min_size=1, max_size=5), TLDS
)


@settings(max_examples=300, deadline=None)
@given(HOSTS, st.sampled_from(["https", "grpc", "postgres", "ko", "s3", "file"]), st.integers(1, 65535))
def test_names_laws(host, scheme, port):
    dots = external_dots(host)
    # an external name's dots are its own; written fully qualified, or inside the cluster, it never is one
    assert dots is None or dots == host.count(".")
    assert external_dots(host + ".") is None
    assert external_dots(host + ".svc.cluster.local") is None
    # a URL yields its host exactly when the scheme connects and the name is external
    container = {"env": [{"name": "TARGET", "value": f"{scheme}://user@{host}:{port}/x?y=1"}]}
    found = [n.host for n in configured_names(container, ("c",))]
    connects = scheme in ("https", "grpc", "postgres")
    assert found == ([host] if connects and dots is not None else [])


@pytest.mark.parametrize("env", [True, "X=1", {"name": "X"}, [None, 3, {"name": 1, "value": 2}]])
def test_malformed_env_is_not_read(env):
    """Found by tests/rules/test_probes.py's malformed-input law: `env: true` raised TypeError."""
    container = {"name": "app", "env": env, "args": ["https://api.example.com"]}
    assert [n.host for n in configured_names(container, ("spec",))] == ["api.example.com"]
