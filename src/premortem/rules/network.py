"""Cilium network policy: L7 rules that cost a proxy hop for nothing, and per-endpoint policy maps.

Reads ``CiliumNetworkPolicy`` and ``CiliumClusterwideNetworkPolicy`` (cilium.io/v2, ``spec`` or a
``specs`` list) and the ``cilium-config`` ConfigMap. Semantics: docs/k8s-facts §10 (cilium/cilium
Documentation/security/policy/language.rst, Documentation/network/ebpf/maps.rst, pkg/defaults).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import Severity
from premortem.findings import json_pointer as json_path
from premortem.load.document import Document, Path
from premortem.model.index import ObjectIndex
from premortem.model.podspec import pod_spec_of, template_labels
from premortem.model.selectors import Selector, SelectorError, parse_selector
from premortem.rules.registry import ClusterContext, Hit, Param, cluster_rule, object_rule

CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
POLICY_KINDS = (CNP, CCNP)
CILIUM_GROUP = "cilium.io"
DEFAULT_POLICY_MAP_MAX = 16384  # cilium/cilium pkg/defaults PolicyMapEntries
POLICY_MAP_MIN, POLICY_MAP_MAX = 1 << 8, 1 << 16  # pkg/option PolicyMapMin, PolicyMapMax
NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
DIRECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")
# A path or method regex that every request matches (Envoy matches the whole value).
MATCH_ALL = frozenset({"", ".*", "^.*$", ".*$", "^.*", ".+", "^.+$", "/.*", "^/.*", "^/.*$", "/.*$", "/.+"})
_PEER_KEYS = {
    "ingress": (
        "fromEndpoints",
        "fromCIDR",
        "fromCIDRSet",
        "fromEntities",
        "fromGroups",
        "fromNodes",
    ),
    "egress": (
        "toEndpoints",
        "toCIDR",
        "toCIDRSet",
        "toEntities",
        "toServices",
        "toFQDNs",
        "toGroups",
        "toNodes",
    ),
}


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One Cilium rule (``spec`` or an item of ``specs``) and where it sits in its document."""

    doc: Document
    path: Path  # ("spec",) or ("specs", i)
    data: dict[str, Any]

    @property
    def clusterwide(self) -> bool:
        return self.doc.kind == CCNP

    @property
    def namespace(self) -> str | None:
        return None if self.clusterwide else (self.doc.ref.namespace or "")

    def sections(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(direction, index, section) for every ingress/egress (and deny) section."""
        for direction in DIRECTIONS:
            items = self.data.get(direction)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    yield direction, i, item


def policy_rules(doc: Document) -> list[PolicyRule]:
    if doc.kind not in POLICY_KINDS or doc.api_group != CILIUM_GROUP or not isinstance(doc.obj, dict):
        return []
    out: list[PolicyRule] = []
    spec = doc.obj.get("spec")
    if isinstance(spec, dict):
        out.append(PolicyRule(doc, ("spec",), spec))
    specs = doc.obj.get("specs")
    if isinstance(specs, list):
        out.extend(PolicyRule(doc, ("specs", i), s) for i, s in enumerate(specs) if isinstance(s, dict))
    return out


def _peer_key(direction: str, section: dict[str, Any]) -> str:
    """The peers of a section as comparable text; "*" when it names none (every peer)."""
    keys = _PEER_KEYS["ingress" if direction.startswith("ingress") else "egress"]
    peers = {k: section[k] for k in keys if section.get(k) not in (None, [])}
    if not peers or peers in ({"fromEntities": ["all"]}, {"toEntities": ["all"]}):
        return "*"
    return json.dumps(peers, sort_keys=True, default=str)


def _ports(port_rule: dict[str, Any]) -> list[tuple[str, str]]:
    """(port, protocol) of a toPorts item; port "0" = every port."""
    ports = port_rule.get("ports")
    if not isinstance(ports, list) or not ports:
        return [("0", "ANY")]
    out = []
    for p in ports:
        if not isinstance(p, dict):
            continue
        port = str(p.get("port", "0") or "0")
        proto = str(p.get("protocol") or "ANY").upper()
        end = p.get("endPort")
        out.append((f"{port}-{end}" if end else port, proto))
    return out


def _l7_kinds(port_rule: dict[str, Any]) -> list[str]:
    rules = port_rule.get("rules")
    if not isinstance(rules, dict):
        return []
    return [k for k in ("http", "kafka", "dns", "l7") if rules.get(k)]


# --- NET001 ---------------------------------------------------------------------------------------


def _http_rule_matches_all(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    if rule.get("headers"):
        return False
    matches = rule.get("headerMatches")
    # A headerMatch with a `mismatch` action (LOG, ADD, DELETE, REPLACE) lets the request through.
    if isinstance(matches, list) and any(isinstance(m, dict) and not m.get("mismatch") for m in matches):
        return False
    return all(str(rule.get(k) or "").strip() in MATCH_ALL for k in ("method", "path", "host"))


def _kafka_rule_matches_all(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    return not any(rule.get(k) for k in ("role", "apiKey", "apiVersion", "clientID", "topic"))


@object_rule(
    "NET001",
    "l7-rule-without-filtering",
    "network",
    Severity.LOW,
    "L7 rule that filters nothing: all traffic on the port goes through the Envoy proxy for no gain",
    kinds=POLICY_KINDS,
)
def l7_rule_without_filtering(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    `toPorts[].rules` in CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (`spec` or `specs`)
    whose L7 part allows everything:
    - an `http` rule whose `method`, `path` and `host` are absent or match-all regexes (`.*`,
      `/.*`) and that has no `headers` and no `headerMatches` without a `mismatch` action (a
      mismatch action logs or rewrites, it does not deny); one such rule makes the list allow-all;
    - a `kafka` rule with no `role`, `apiKey`, `apiVersion`, `clientID` or `topic`;
    - an `http`/`kafka` rule on a port where another rule of the same policy already allows the same
      peers (or every peer) on that port and protocol at L4 only: Cilium merges the two and the L7
      filter allows everything for those peers.

    `dns` rules are never reported: `matchPattern: "*"` is how DNS visibility is enabled, and
    `toFQDNs` policies need the DNS proxy to learn addresses.

    ## Why it breaks clusters
    L3/L4 policy is enforced in eBPF in the kernel. An L7 rule redirects every connection on that
    port, for the selected endpoints, to the node's Envoy proxy in user space: an extra hop, proxy CPU
    and latency on every request, and with Envoy embedded in the agent, a cilium-agent restart cuts
    those connections. When the L7 rule allows everything, you pay all of that and filter nothing.
    An allow-all `http: [{}]` is also how Hubble HTTP visibility is switched on; that is a
    legitimate trade, which is why this is low: keep it where you read those flows, drop it where
    it was left over.

    ## Failing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: api-from-frontend, namespace: shop}
    spec:
      endpointSelector: {matchLabels: {app: api}}
      ingress:
        - fromEndpoints: [{matchLabels: {app: frontend}}]
          toPorts:
            - ports: [{port: "8080", protocol: TCP}]
              rules:
                http:
                  - method: ".*"
                    path: "/.*"
    ```

    ## Passing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: api-from-frontend, namespace: shop}
    spec:
      endpointSelector: {matchLabels: {app: api}}
      ingress:
        - fromEndpoints: [{matchLabels: {app: frontend}}]
          toPorts:
            - ports: [{port: "8080", protocol: TCP}]
    ---
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: api-read-only, namespace: shop}
    spec:
      endpointSelector: {matchLabels: {app: api}}
      ingress:
        - fromEndpoints: [{matchLabels: {app: reporting}}]
          toPorts:
            - ports: [{port: "8080", protocol: TCP}]
              rules:
                http:
                  - {method: GET, path: "/api/v1/reports/.*"}
    ```

    ## Fix
    Drop the `rules:` block and keep the L4 rule (same allow, no proxy), or write L7 rules that
    restrict something (methods, paths, headers). For visibility alone, use Hubble flow logs at L3/L4.

    ## Source
    cilium/cilium Documentation/security/policy/language.rst and layer7.rst ("If no rules are
    specified, then all traffic is permitted"; "If a layer 4 rule is specified in the policy, and a
    similar layer 4 rule with layer 7 rules is also specified, then the layer 7 portions of the
    latter rule will have no effect"), Documentation/security/network/proxy/envoy.rst;
    docs/k8s-facts §10.
    """
    for rule in policy_rules(doc):
        l4_only: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (dir, port, proto) -> peers
        l7_sites: list[tuple[str, str, Path, dict[str, Any]]] = []
        for direction, i, section in rule.sections():
            port_rules = section.get("toPorts")
            if not isinstance(port_rules, list):
                continue
            peer = _peer_key(direction, section)
            for j, port_rule in enumerate(port_rules):
                if not isinstance(port_rule, dict):
                    continue
                where = (*rule.path, direction, i, "toPorts", j)
                kinds = _l7_kinds(port_rule)
                if not kinds:
                    for port, proto in _ports(port_rule):
                        l4_only[(direction, port, proto)].add(peer)
                    continue
                l7_sites.append((direction, peer, where, port_rule))
        for direction, peer, where, port_rule in l7_sites:
            yield from _void_l7(direction, peer, where, port_rule, l4_only)


def _void_l7(
    direction: str,
    peer: str,
    where: Path,
    port_rule: dict[str, Any],
    l4_only: dict[tuple[str, str, str], set[str]],
) -> Iterator[Hit]:
    rules = port_rule["rules"]
    ports = ", ".join(f"{p}/{proto}" for p, proto in _ports(port_rule))
    cost = (
        f"every connection on {ports} for the selected endpoints is redirected to the Envoy proxy (user space): "
        "an extra hop and proxy CPU per request"
    )
    for kind, matches_all in (("http", _http_rule_matches_all), ("kafka", _kafka_rule_matches_all)):
        items = rules.get(kind)
        if not isinstance(items, list):
            continue
        for k, item in enumerate(items):
            if matches_all(item):
                yield Hit(
                    message=(
                        f"{kind} rule {k} allows every request (no method, path, host or header restriction"
                        f"{'' if kind == 'http' else ', no topic or apiKey'}), so the L7 rules filter nothing, but "
                        f"{cost}."
                    ),
                    fix=(
                        f"If this is only for Hubble {kind} visibility, keep it knowingly; otherwise remove the "
                        f"rules.{kind} block (the L4 port rule alone allows the same) or restrict it to what the "
                        "peer needs."
                    ),
                    path=(*where, "rules", kind, k),
                )
                return
    for port, proto in _ports(port_rule):
        peers = set()
        for key_proto in {proto, "ANY"}:
            peers |= l4_only.get((direction, port, key_proto), set())
        if peer in peers or "*" in peers:
            who = "every peer" if "*" in peers else "the same peers"
            yield Hit(
                message=(
                    f"another {direction} rule of this policy already allows {who} on {port}/{proto} at L4 only; "
                    "Cilium merges the two, so the L7 rules here allow everything for those peers, yet "
                    f"{cost}."
                ),
                fix="Remove the L4-only rule for this port (let the L7 rules decide) or drop the L7 rules.",
                path=(*where, "rules"),
            )
            return


# --- NET003 ---------------------------------------------------------------------------------------


@object_rule(
    "NET003",
    "mixed-l7-types",
    "network",
    Severity.HIGH,
    "Different L7 rule types on the same port for the same peers: Cilium rejects the policy",
    kinds=POLICY_KINDS,
)
def mixed_l7_types(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    In one CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy rule (`spec` or an item of `specs`):
    a `toPorts[].rules` that sets more than one of `http`, `kafka`, `dns`, `l7`; or two sections of
    the same direction that allow the same peers (or every peer) on the same port and protocol with
    different L7 types (say `http` in one, `kafka` in the other).

    ## Why it breaks clusters
    L7 rules are a union: one parser per port. Cilium combines L7 rules of the same type that meet
    on a port, and rejects the policy when the types differ. A rejected policy is not enforced at
    all: none of its allows exist, so under a default-deny the traffic it was written for is
    dropped, and the error only shows in the agent log and the policy's status.

    ## Failing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: broker, namespace: data}
    spec:
      endpointSelector: {matchLabels: {app: broker}}
      ingress:
        - fromEndpoints: [{matchLabels: {app: producer}}]
          toPorts:
            - ports: [{port: "9092", protocol: TCP}]
              rules:
                kafka: [{role: produce, topic: orders}]
        - fromEndpoints: [{matchLabels: {app: producer}}]
          toPorts:
            - ports: [{port: "9092", protocol: TCP}]
              rules:
                http: [{method: GET, path: /metrics}]
    ```

    ## Passing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: broker, namespace: data}
    spec:
      endpointSelector: {matchLabels: {app: broker}}
      ingress:
        - fromEndpoints: [{matchLabels: {app: producer}}]
          toPorts:
            - ports: [{port: "9092", protocol: TCP}]
              rules:
                kafka: [{role: produce, topic: orders}]
        - fromEndpoints: [{matchLabels: {app: prometheus}}]
          toPorts:
            - ports: [{port: "9404", protocol: TCP}]
              rules:
                http: [{method: GET, path: /metrics}]
    ```

    ## Fix
    Use one L7 type per port (serve metrics on their own port), or split the peers so that each
    port/peer pair has one type.

    ## Source
    cilium/cilium Documentation/security/policy/layer7.rst ("Mixing of different port level rule
    types is disallowed"; "If the type differs, the policy is rejected").
    """
    for rule in policy_rules(doc):
        seen: dict[tuple[str, str, str], dict[str, tuple[str, Path]]] = defaultdict(dict)
        for direction, i, section in rule.sections():
            port_rules = section.get("toPorts")
            if not isinstance(port_rules, list):
                continue
            peer = _peer_key(direction, section)
            for j, port_rule in enumerate(port_rules):
                if not isinstance(port_rule, dict):
                    continue
                where: Path = (*rule.path, direction, i, "toPorts", j, "rules")
                kinds = _l7_kinds(port_rule)
                if len(kinds) > 1:
                    yield Hit(
                        message=(
                            f"this toPorts entry sets {' and '.join(kinds)} rules; L7 rule types cannot be mixed on "
                            "a port, so Cilium rejects the whole policy and none of its rules are enforced."
                        ),
                        fix="Keep one L7 type per port; move the other protocol to its own port rule.",
                        path=where,
                    )
                    continue
                if not kinds:
                    continue
                for port, proto in _ports(port_rule):
                    others = seen[(direction, port, proto)]
                    clash = next(
                        (
                            (other_kind, other_where)
                            for other_peer, (other_kind, other_where) in others.items()
                            if other_kind != kinds[0] and (other_peer == peer or "*" in (other_peer, peer))
                        ),
                        None,
                    )
                    if clash is not None:
                        yield Hit(
                            message=(
                                f"{kinds[0]} rules here and {clash[0]} rules at {json_path(clash[1])} apply to the "
                                f"same peers on {port}/{proto}; Cilium rejects a policy whose L7 types differ on a "
                                "port, so none of this policy's rules are enforced."
                            ),
                            fix="Use one L7 type per port (e.g. serve metrics on their own port).",
                            path=where,
                        )
                        break
                    others.setdefault(peer, (kinds[0], where))


# --- NET002 ---------------------------------------------------------------------------------------


@dataclass
class _Estimate:
    entries: set[tuple[str, str, str, str]] = field(default_factory=set)  # (direction, peer, port, proto)
    unknown: set[str] = field(default_factory=set)  # peers whose identities cannot be counted
    rules: list[PolicyRule] = field(default_factory=list)


def _port_blocks(port: str) -> list[str]:
    """A port range becomes the power-of-two aligned blocks the policy map stores (one entry each)."""
    if "-" not in port:
        return [port]
    start_text, end_text = port.split("-", 1)
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        return [port]
    blocks = []
    while start <= end:
        size = start & -start if start else 1 << 16
        while start + size - 1 > end:
            size //= 2
        blocks.append(f"{start}/{size}")
        start += size
    return blocks


def _cilium_selector(value: Any) -> Selector | None:
    """A Cilium endpoint selector with the "k8s:"/"any:" label source prefixes removed."""
    if not isinstance(value, dict):
        return None

    def strip(key: Any) -> str:
        text = str(key)
        for prefix in ("k8s:", "any:"):
            if text.startswith(prefix):
                return text[len(prefix) :]
        return text

    cleaned: dict[str, Any] = {}
    labels = value.get("matchLabels")
    if isinstance(labels, dict):
        cleaned["matchLabels"] = {strip(k): v for k, v in labels.items()}
    exprs = value.get("matchExpressions")
    if isinstance(exprs, list):
        cleaned["matchExpressions"] = [
            {**e, "key": strip(e.get("key"))} if isinstance(e, dict) else e for e in exprs
        ]
    try:
        return parse_selector(cleaned)
    except SelectorError:
        return None


def _identity_labels(doc: Document) -> dict[str, str]:
    labels = dict(template_labels(doc))
    labels[NAMESPACE_LABEL] = doc.ref.namespace or ""
    spec = pod_spec_of(doc)
    account = spec.spec.get("serviceAccountName") if spec else None
    labels["io.cilium.k8s.policy.serviceaccount"] = str(account or "default")
    return labels


def _identities(index: ObjectIndex) -> dict[str, dict[str, str]]:
    """Security identities of the workloads read: one per distinct label set (namespace included)."""
    out: dict[str, dict[str, str]] = {}
    for doc in index.workloads():
        labels = _identity_labels(doc)
        out.setdefault(json.dumps(labels, sort_keys=True), labels)
    return out


def _selected(selector: Selector, labels: dict[str, str], namespace: str | None) -> bool:
    # A namespaced policy's selectors only see its own namespace unless they name one.
    names_namespace = any(r.key == NAMESPACE_LABEL for r in selector.requirements)
    if namespace is not None and not names_namespace and labels.get(NAMESPACE_LABEL, "") != namespace:
        return False
    return selector.matches(labels)


def _peer_identities(
    direction: str, section: dict[str, Any], namespace: str | None, identities: dict[str, dict[str, str]]
) -> tuple[set[str], set[str]]:
    """(countable peer identities, peers of unknown size) of one ingress/egress section."""
    peers: set[str] = set()
    unknown: set[str] = set()
    ingress = direction.startswith("ingress")
    endpoints = section.get("fromEndpoints" if ingress else "toEndpoints")
    if isinstance(endpoints, list):
        for sel_value in endpoints:
            selector = _cilium_selector(sel_value)
            if selector is None:
                continue
            matched = {key for key, labels in identities.items() if _selected(selector, labels, namespace)}
            peers |= matched or {"sel:" + json.dumps(sel_value, sort_keys=True, default=str)}
    cidrs = section.get("fromCIDR" if ingress else "toCIDR")
    if isinstance(cidrs, list):
        peers |= {f"cidr:{c}" for c in cidrs}
    cidr_sets = section.get("fromCIDRSet" if ingress else "toCIDRSet")
    if isinstance(cidr_sets, list):
        for entry in cidr_sets:
            if isinstance(entry, dict):
                peers.add(f"cidr:{entry.get('cidr') or entry.get('cidrGroupRef')}")
                excepts = entry.get("except")
                if isinstance(excepts, list):
                    peers |= {f"cidr-except:{e}" for e in excepts}
    entities = section.get("fromEntities" if ingress else "toEntities")
    if isinstance(entities, list):
        for entity in entities:
            if entity == "cluster":
                peers |= set(identities) or {"entity:cluster"}
                unknown.add("the cluster entity (every identity in the cluster)")
            else:
                peers.add(f"entity:{entity}")
    for key in ("toFQDNs", "toServices", "toGroups") if not ingress else ("fromGroups",):
        if section.get(key):
            unknown.add(f"{key} (each resolved address gets its own identity)")
            peers.add(f"{key}:{json.dumps(section[key], sort_keys=True, default=str)}")
    nodes = section.get("fromNodes" if ingress else "toNodes")
    if isinstance(nodes, list) and nodes:
        peers.add(f"nodes:{json.dumps(nodes, sort_keys=True, default=str)}")
    if not peers and not unknown:
        peers.add("*")
    return peers, unknown


def _policy_map_max(index: ObjectIndex) -> tuple[int, Document | None, str | None]:
    """(bpf-policy-map-max, the cilium-config ConfigMap, its bpf-map-dynamic-size-ratio)."""
    for doc in index.of_kind("ConfigMap"):
        if doc.ref.name != "cilium-config" or not isinstance(doc.obj, dict):
            continue
        data = doc.obj.get("data")
        if not isinstance(data, dict):
            continue
        ratio = data.get("bpf-map-dynamic-size-ratio")
        value = data.get("bpf-policy-map-max")
        try:
            size = int(str(value)) if value is not None else DEFAULT_POLICY_MAP_MAX
        except ValueError:
            size = DEFAULT_POLICY_MAP_MAX
        # The agent clamps the value to [256, 65536] (option.PolicyMapMin/PolicyMapMax).
        return min(max(size, POLICY_MAP_MIN), POLICY_MAP_MAX), doc, None if ratio is None else str(ratio)
    return policy_map_pressure.param("policy_map_max"), None, None


@cluster_rule(
    "NET002",
    "policy-map-pressure",
    "network",
    Severity.MEDIUM,
    "Policy rules selecting the same endpoints approach bpf-policy-map-max",
    params={
        "pressure_ratio": Param(0.75, "report when the estimated entries reach this fraction of the map"),
        "policy_map_max": Param(
            DEFAULT_POLICY_MAP_MAX, "bpf-policy-map-max assumed when no cilium-config ConfigMap is scanned"
        ),
    },
)
def policy_map_pressure(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    For the endpoints selected by CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy rules, a rough
    count of the per-endpoint policy map entries all rules selecting them need: peer identities x
    ports (a port range counts one entry per aligned power-of-two block) x direction, deduplicated.
    Peers are counted from what was read: each CIDR (and each `except`) is an identity, each
    distinct workload label set an endpoint selector matches is one, an unmatched selector counts
    as one. `toFQDNs`, `toServices` and the `cluster` entity add identities that cannot be counted
    from files: the message says so, and the estimate is a floor. Medium from 75% of
    `bpf-policy-map-max` (read from the `cilium-config` ConfigMap, default 16384), high at 100%.

    ## Why it breaks clusters
    Each endpoint has one BPF policy map of fixed size. When the policy needs more entries than it
    holds, inserting fails with E2BIG ("argument list too long"), endpoint regeneration fails and
    the new policy is never realised: pods keep the old policy or lose connectivity to new peers.
    `bpf-map-dynamic-size-ratio` does NOT size the policy map (it sizes the connection-tracking, NAT,
    neighbour and load-balancer reverse maps); teams raise it and the failure stays.

    ## Failing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: egress-partners, namespace: billing}
    spec:
      endpointSelector: {matchLabels: {app: billing}}
      egress:
        - toCIDR: [10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24, 10.0.5.0/24, 10.0.6.0/24,
                   10.0.7.0/24, 10.0.8.0/24, 10.0.9.0/24, 10.0.10.0/24, 10.0.11.0/24, 10.0.12.0/24,
                   10.0.13.0/24, 10.0.14.0/24, 10.0.15.0/24, 10.0.16.0/24, 10.0.17.0/24]
          toPorts:
            - ports: [{port: "1", endPort: 65535, protocol: TCP}]
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: cilium-config, namespace: kube-system}
    data:
      bpf-policy-map-max: "256"
      bpf-map-dynamic-size-ratio: "0.005"
    ```

    ## Passing example
    ```yaml
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: egress-partners, namespace: billing}
    spec:
      endpointSelector: {matchLabels: {app: billing}}
      egress:
        - toCIDR: [192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24]
          toPorts:
            - ports: [{port: "443", protocol: TCP}]
    ```

    ## Fix
    Collapse CIDR lists into fewer, larger prefixes (or a CiliumCIDRGroup), list only the ports
    needed, and use L3-only rules where every port is allowed anyway. If the entries are really
    needed, raise `bpf-policy-map-max` (Helm `bpf.policyMapMax`), not `bpf-map-dynamic-size-ratio`;
    watch `cilium_bpf_map_pressure{map_name=~"cilium_policy.*"}`.

    ## Source
    cilium/cilium Documentation/network/ebpf/maps.rst ("Policy endpoint 16k", dynamic sizing list),
    pkg/defaults PolicyMapEntries = 16384, Documentation/observability/metrics.rst
    (cilium_bpf_map_pressure); cilium/cilium issues #8060, #9117 (E2BIG on full policy maps);
    docs/k8s-facts §10.
    """
    index = context.index
    rules = [r for doc in index.of_kind(*POLICY_KINDS) for r in policy_rules(doc)]
    if not rules:
        return
    limit, config, ratio = _policy_map_max(index)
    identities = _identities(index)
    # Endpoints are grouped by the set of rules selecting them: one policy map each.
    members: dict[str, list[int]] = defaultdict(list)
    kept: list[tuple[PolicyRule, _Estimate]] = []
    for rule in rules:
        selector = _cilium_selector(rule.data.get("endpointSelector"))
        if selector is None:
            continue  # nodeSelector (host policy) or malformed: not an endpoint's map
        selected = [k for k, labels in identities.items() if _selected(selector, labels, rule.namespace)]
        group_keys = selected or [
            f"{rule.namespace}|" + json.dumps(rule.data.get("endpointSelector"), sort_keys=True, default=str)
        ]
        for key in group_keys:
            members[key].append(len(kept))
        kept.append((rule, _rule_entries(rule, identities)))
    threshold = policy_map_pressure.param("pressure_ratio") * limit
    estimates: list[tuple[frozenset[int], _Estimate]] = []
    for rule_set in {frozenset(v) for v in members.values()}:
        if sum(len(kept[i][1].entries) for i in rule_set) < threshold:
            continue  # even without overlaps it stays below the threshold
        estimate = _Estimate()
        for i in sorted(rule_set):
            rule, contribution = kept[i]
            estimate.entries |= contribution.entries
            estimate.unknown |= contribution.unknown
            estimate.rules.append(rule)
        if len(estimate.entries) >= threshold:
            estimates.append((rule_set, estimate))
    reported: list[frozenset[int]] = []
    for combo, estimate in sorted(estimates, key=lambda e: (-len(e[1].entries), sorted(e[0]))):
        if any(combo <= done for done in reported):
            continue  # the same rules were already reported for a larger group of endpoints
        reported.append(combo)
        yield _pressure_hit(estimate, len(estimate.entries), limit, config, ratio)


def _rule_entries(rule: PolicyRule, identities: dict[str, dict[str, str]]) -> _Estimate:
    out = _Estimate()
    for direction, _i, section in rule.sections():
        peers, unknown = _peer_identities(direction, section, rule.namespace, identities)
        out.unknown |= unknown
        port_rules = section.get("toPorts")
        ports: list[tuple[str, str]] = []
        if isinstance(port_rules, list) and port_rules:
            for port_rule in port_rules:
                if isinstance(port_rule, dict):
                    ports.extend(
                        (block, proto) for port, proto in _ports(port_rule) for block in _port_blocks(port)
                    )
        else:
            ports = [("0", "ANY")]
        for peer in peers:
            for port, proto in ports:
                out.entries.add((direction, peer, port, proto))
    return out


def _pressure_hit(
    estimate: _Estimate, count: int, limit: int, config: Document | None, ratio: str | None
) -> Hit:
    first = estimate.rules[0]
    names = sorted({f"{r.doc.kind} {r.doc.ref.name}" for r in estimate.rules})
    full = count >= limit
    floor = ""
    if estimate.unknown:
        floor = (
            f" This is a floor: {', '.join(sorted(estimate.unknown))} add identities that files cannot show."
        )
    knob = ""
    if ratio is not None:
        knob = (
            f" cilium-config sets bpf-map-dynamic-size-ratio={ratio}: that does NOT size the policy map (it "
            "sizes conntrack, NAT, neighbour and LB reverse maps), so raising it will not help."
        )
    state = (
        "more than the map holds: inserting fails with E2BIG, endpoint regeneration fails and the policy "
        "is never applied, so these pods keep stale rules or lose connectivity to new peers."
        if full
        else "close to full: the next CIDR, port or peer workload tips it into E2BIG and failed endpoint "
        "regeneration."
    )
    return Hit(
        message=(
            f"About {count} policy-map entries (peer identities x ports x direction) for the endpoints "
            f"selected by {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}, against "
            f"bpf-policy-map-max {limit}: {state}{floor}{knob}"
        ),
        fix=(
            "Merge CIDRs into fewer prefixes, list only needed ports, or raise bpf-policy-map-max "
            "(Helm bpf.policyMapMax) in cilium-config."
        ),
        path=first.path,
        doc=first.doc,
        severity=Severity.HIGH if full else None,
        extra={"policy_map_entries": count, "bpf_policy_map_max": limit},
    )
