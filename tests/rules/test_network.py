"""Cilium rules: edge cases beyond the documented examples (those run in test_rule_docs.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import scan_yaml
from premortem.rules.network import _port_blocks


def hits(text: str, rule: str):
    return [f for f in scan_yaml(text).findings if f.rule == rule]


def policy(ingress: str, kind: str = "CiliumNetworkPolicy") -> str:
    return f"""
apiVersion: cilium.io/v2
kind: {kind}
metadata: {{name: p, namespace: shop}}
spec:
  endpointSelector: {{matchLabels: {{app: api}}}}
  ingress:
{ingress}
"""


L7_GET = """
    - fromEndpoints: [{matchLabels: {app: web}}]
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
          rules:
            http: [{method: GET, path: "/api/.*"}]
"""


def test_restrictive_http_rule_is_clean():
    assert not hits(policy(L7_GET), "NET001")


@pytest.mark.parametrize(
    "rule",
    ["{}", "{path: '.*'}", "{method: '', path: '/.*'}", "{method: '^.*$'}"],
)
def test_match_all_http_rules(rule):
    text = policy(
        f"""
    - toPorts:
        - ports: [{{port: "80"}}]
          rules:
            http: [{{method: GET, path: /health}}, {rule}]
"""
    )
    [f] = hits(text, "NET001")
    assert f.path.endswith("/rules/http/1")


def test_headers_make_a_rule_filter():
    text = policy(
        """
    - toPorts:
        - ports: [{port: "80"}]
          rules:
            http: [{headers: ["X-Token: 42"]}]
"""
    )
    assert not hits(text, "NET001")


def test_header_matches_with_a_mismatch_action_do_not_filter():
    rule = """
    - toPorts:
        - ports: [{port: "80"}]
          rules:
            http: [{headerMatches: [{name: X-Trace, value: "1", MISMATCH}]}]
"""
    assert hits(policy(rule.replace("MISMATCH", "mismatch: LOG")), "NET001")
    assert not hits(policy(rule.replace(", MISMATCH", "")), "NET001")


def test_dns_rules_are_never_flagged():
    text = policy(
        """
    - toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules:
            dns: [{matchPattern: "*"}]
"""
    )
    assert not hits(text, "NET001")


def test_kafka_rule_without_restriction():
    text = policy(
        """
    - toPorts:
        - ports: [{port: "9092", protocol: TCP}]
          rules:
            kafka: [{}]
"""
    )
    [f] = hits(text, "NET001")
    assert "kafka" in f.message


def test_l4_rule_for_same_peer_and_port_voids_the_l7_rule():
    l4 = """
    - fromEndpoints: [{matchLabels: {app: web}}]
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
"""
    [f] = hits(policy(L7_GET + l4), "NET001")
    assert "at L4 only" in f.message
    # an L4 rule for every peer does the same
    wildcard = """
    - toPorts:
        - ports: [{port: "80", protocol: ANY}]
"""
    assert hits(policy(L7_GET + wildcard), "NET001")
    # a different port or a different peer does not
    other_port = l4.replace('"80"', '"81"')
    other_peer = l4.replace("app: web", "app: batch")
    assert not hits(policy(L7_GET + other_port), "NET001")
    assert not hits(policy(L7_GET + other_peer), "NET001")


def test_ccnp_specs_list_is_read():
    text = """
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: cw}
specs:
  - endpointSelector: {matchLabels: {app: api}}
    ingress:
      - toPorts:
          - ports: [{port: "80"}]
  - endpointSelector: {matchLabels: {app: db}}
    egress:
      - toPorts:
          - ports: [{port: "5432"}]
            rules:
              http: [{path: ".*"}]
"""
    [f] = hits(text, "NET001")
    assert f.path.startswith("/specs/1/egress/0")


def test_port_blocks_are_aligned_powers_of_two():
    assert _port_blocks("80") == ["80"]
    assert len(_port_blocks("1-65535")) == 16
    assert _port_blocks("1024-2047") == ["1024/1024"]
    blocks = _port_blocks("10-20")
    covered = sum(int(b.split("/")[1]) for b in blocks)
    assert covered == 11


@given(st.integers(min_value=1, max_value=65535), st.integers(min_value=0, max_value=65535))
def test_port_blocks_tile_the_range_exactly(start, length):
    end = min(65535, start + length)
    covered = []
    for block in _port_blocks(f"{start}-{end}"):
        base, size = (int(x) for x in block.split("/"))
        assert size & (size - 1) == 0 and base % size == 0  # aligned power of two: one LPM prefix
        covered.extend(range(base, base + size))
    assert covered == list(range(start, end + 1))


def cidr_policy(n: int, ports: str, first_octet: int = 10) -> str:
    cidrs = ", ".join(f"{first_octet}.{i // 256}.{i % 256}.0/24" for i in range(n))
    return f"""
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: egress-many, namespace: billing}}
spec:
  endpointSelector: {{matchLabels: {{app: billing}}}}
  egress:
    - toCIDR: [{cidrs}]
      toPorts:
        - ports: [{ports}]
"""


PORTS_8 = ", ".join(f'{{port: "{p}", protocol: TCP}}' for p in range(8000, 8008))


def test_policy_map_default_limit():
    # 2100 CIDRs x 8 ports = 16800 >= 16384
    [f] = hits(cidr_policy(2100, PORTS_8), "NET002")
    assert f.severity.label == "high"
    assert f.extra["policy_map_entries"] == 16800
    assert f.extra["bpf_policy_map_max"] == 16384
    assert "dynamic-size-ratio" not in f.message  # no cilium-config read
    # 1600 x 8 = 12800: above 75%, medium
    [f] = hits(cidr_policy(1600, PORTS_8), "NET002")
    assert f.severity.label == "medium"
    assert not hits(cidr_policy(1000, PORTS_8), "NET002")


def config(size: str) -> str:
    return f"""
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cilium-config, namespace: kube-system}}
data:
  bpf-policy-map-max: "{size}"
  bpf-map-dynamic-size-ratio: "0.0025"
"""


def test_policy_map_limit_from_cilium_config_and_the_wrong_knob():
    assert not hits(cidr_policy(2100, PORTS_8) + config("65536"), "NET002")
    [f] = hits(cidr_policy(2100, PORTS_8) + config("16384"), "NET002")
    assert "does NOT size the policy map" in f.message
    # the agent clamps the size to [256, 65536]
    [f] = hits(cidr_policy(40, PORTS_8) + config("100"), "NET002")
    assert f.extra["bpf_policy_map_max"] == 256


def test_two_policies_on_the_same_endpoints_add_up():
    one = cidr_policy(1100, PORTS_8)
    two = cidr_policy(1100, PORTS_8, first_octet=172).replace("egress-many", "egress-more")
    [f] = hits(one + "---" + two, "NET002")
    assert "egress-many" in f.message and "egress-more" in f.message
    assert f.extra["policy_map_entries"] == 17600


def test_fqdn_peers_make_the_estimate_a_floor():
    text = cidr_policy(1600, PORTS_8).replace(
        "    - toCIDR:", "    - toFQDNs: [{matchPattern: '*.example.com'}]\n    - toCIDR:"
    )
    [f] = hits(text, "NET002")
    assert "floor" in f.message and "toFQDNs" in f.message


def test_endpoint_selector_matching_workloads_groups_by_identity():
    workload = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: billing, namespace: billing}
spec:
  selector: {matchLabels: {app: billing}}
  template:
    metadata: {labels: {app: billing, tier: backend}}
    spec: {containers: [{name: b, image: registry.example.com/b:1.0.0}]}
"""
    second = (
        cidr_policy(1100, PORTS_8, first_octet=172)
        .replace("egress-many", "by-tier")
        .replace("{app: billing}}", "{tier: backend}}")
    )
    [f] = hits(cidr_policy(1100, PORTS_8) + workload + "---" + second, "NET002")
    assert f.extra["policy_map_entries"] == 17600


def test_endpoints_selected_by_a_subset_of_the_rules_are_not_reported_twice():
    workloads = "".join(
        f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: billing}}
spec:
  selector: {{matchLabels: {{app: billing, role: {name}}}}}
  template:
    metadata: {{labels: {{app: billing, role: {name}, tier: {tier}}}}}
    spec: {{containers: [{{name: c, image: registry.example.com/c:1.0.0}}]}}
"""
        for name, tier in (("api", "backend"), ("ui", "frontend"))
    )
    second = (
        cidr_policy(100, PORTS_8, first_octet=172)
        .replace("egress-many", "by-tier")
        .replace("{app: billing}}", "{tier: backend}}")
    )
    found = hits(cidr_policy(2100, PORTS_8) + workloads + "---" + second, "NET002")
    assert len(found) == 1
    assert found[0].extra["policy_map_entries"] == 2200 * 8


def test_net003_mixed_l7_types():
    both = policy(
        """
    - toPorts:
        - ports: [{port: "9092", protocol: TCP}]
          rules:
            kafka: [{topic: orders}]
            http: [{path: /metrics}]
"""
    )
    [f] = hits(both, "NET003")
    assert "http and kafka" in f.message
    kafka = """
    - fromEndpoints: [{matchLabels: {app: producer}}]
      toPorts:
        - ports: [{port: "9092", protocol: TCP}]
          rules:
            kafka: [{topic: orders}]
"""
    http_any_peer = """
    - toPorts:
        - ports: [{port: "9092", protocol: TCP}]
          rules:
            http: [{path: /metrics}]
"""
    [f] = hits(policy(kafka + http_any_peer), "NET003")
    assert f.path == "/spec/ingress/1/toPorts/0/rules"
    assert "/spec/ingress/0/toPorts/0/rules" in f.message
    other_peer = http_any_peer.replace(
        "    - toPorts:", "    - fromEndpoints: [{matchLabels: {app: prom}}]\n      toPorts:"
    )
    assert not hits(policy(kafka + other_peer), "NET003")
    assert not hits(policy(kafka + http_any_peer.replace("9092", "9404")), "NET003")
    assert not hits(policy(kafka + kafka.replace("orders", "payments")), "NET003")
