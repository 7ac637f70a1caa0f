"""Full Cilium BPF maps, in cilium-agent's words (pkg/maps/policymap ``Failed to add PolicyMap key``,
pkg/service and pkg/maps/lbmap ``Error while inserting service in LB map``, pkg/bpf ``the map is full,
please consider resizing it. argument list too long`` (E2BIG) or ``no space left on device`` (ENOSPC),
and ``cilium monitor`` drop reasons ``CT: Map insertion failed`` and ``No mapping for NAT masquerade``).

Which map is full decides the advice, so the map is read from the line, never assumed: the
per-endpoint policy map (``cilium_policy_*``, ``PolicyMap``: bpf-policy-map-max, fewer identities
per endpoint), the service load-balancer maps (``cilium_lb4_services_v2``, ``cilium_lb4_backends_v2``,
``LB map``: bpf-lb-map-max, which breaks existing service connections when changed), the connection
tracking maps (``cilium_ct4_global``, ``CT: Map insertion failed``: bpf-ct-global-*-max or
bpf-map-dynamic-size-ratio) and the NAT map (``cilium_snat_v4_external``, ``No mapping for NAT
masquerade``: bpf-nat-global-max, or source ports exhausted towards one destination).

The drop reason ``CT: Map insertion failed`` alone does not prove a full map: an insert that races
the agent's CT garbage collection can fail (-EBUSY while the kernel holds the map's lock) while the
map is nearly empty (cilium/cilium issue 35010: drops correlated with GC runs at low CT map pressure;
pull request 47293 names the -EBUSY and -ENOMEM cases). Only a line
that names a ``cilium_ct*`` map as full says so; the drop reason says both causes and how to tell them
apart (cilium_bpf_map_pressure for the CT maps).
"""

from __future__ import annotations

import re

from premortem.diagnose.recognisers import Result, State, recogniser
from premortem.diagnose.recognisers.common import pod_objects
from premortem.diagnose.records import Record, Sighting

_FULL = re.compile(
    r"argument list too long|E2BIG|map (?:is )?full|no space left on device|Unable to update element for LB",
    re.I,
)
_MAP_NAME = re.compile(r"\b(cilium_[a-z0-9_]{1,64})\b")

_MAPS = {
    "POLICY": (
        "the endpoint's policy map is full: its policy is incomplete, so traffic the policy should allow is dropped",
        "Raise bpf-policy-map-max in cilium-config (default 16384), or cut the entries per endpoint: fewer "
        "distinct identities (limit identity-relevant labels), CIDR groups instead of many toCIDR rules, no broad "
        "selectors multiplied by many ports.",
        ("NET002",),
    ),
    "LB": (
        "the service load-balancer map is full: Services or their backends cannot be programmed, so traffic to "
        "those Service IPs fails or reaches stale backends",
        "Raise bpf-lb-map-max in cilium-config (default 65536) to cover every Service port and backend; changing it "
        "recreates the map and breaks existing connections to Services, so do it in a maintenance window.",
        (),
    ),
    "CT": (
        "the connection-tracking map is full: new connections are dropped (CT: Map insertion failed)",
        "Raise bpf-ct-global-tcp-max / bpf-ct-global-any-max, or bpf-map-dynamic-size-ratio, and look for a "
        "workload opening many short-lived connections.",
        (),
    ),
    "NAT": (
        "Cilium could not create a NAT (masquerade) mapping: the NAT map is full or the source ports towards one "
        "destination are exhausted, so new connections are dropped",
        "Raise bpf-nat-global-max (or bpf-map-dynamic-size-ratio); for port exhaustion towards one destination, "
        "spread the traffic (more egress IPs or fewer short-lived connections).",
        (),
    ),
}


# The CT drop reason without a full map named: a full map, or an insert that raced CT garbage collection.
_CT_INSERT = (
    "new connections were dropped because their connection-tracking entry could not be inserted (CT: Map "
    "insertion failed): either the CT map is full, or the insert raced the agent's CT garbage collection "
    "(-EBUSY, a transient kernel lock) while the map had room",
    "Check cilium_bpf_map_pressure for the cilium_ct* maps: near 1, raise bpf-ct-global-tcp-max / "
    "bpf-ct-global-any-max (or bpf-map-dynamic-size-ratio) and look for a workload opening many short-lived "
    "connections; low, with drops at each CT GC run, it is the GC race: a bigger map does not help (see "
    "cilium/cilium issue 35010).",
)


def _which(text: str) -> str | None:
    lower = text.lower()
    name = _MAP_NAME.search(lower)
    named = name.group(1) if name else ""
    if named.startswith("cilium_policy") or "policymap" in lower or "policy map" in lower:
        return "POLICY"
    if named.startswith(("cilium_lb", "cilium_lxc_lb")) or "lb map" in lower or "lb bpf map" in lower:
        return "LB"
    if named.startswith("cilium_ct") or "ct: map insertion failed" in lower or "conntrack" in lower:
        return "CT"
    if named.startswith(("cilium_snat", "cilium_nat")) or "nat masquerade" in lower or "nat map" in lower:
        return "NAT"
    return None


@recogniser(
    "argument list too long",
    "E2BIG",
    "map full",
    "Map full",
    "map is full",
    "no space left on device",
    "Unable to update element for LB",
    "CT: Map insertion failed",
    "No mapping for NAT masquerade",
)
def cilium_map_full(rec: Record, state: State) -> Result:
    text = rec.message
    drop = "CT: Map insertion failed" in text or "No mapping for NAT masquerade" in text
    if not drop and not _FULL.search(text):
        return None
    which = _which(text)
    if which is None:
        if "bpf" not in text.lower() and "map" not in text.lower():
            return None
        which = "POLICY" if "subsys=policymap" in text or "endpoint" in text.lower() else None
    if which is None:
        return None
    what, fix, prevented = _MAPS[which]
    if which == "CT" and drop and not _FULL.search(text):
        what, fix = _CT_INSERT
    objects = pod_objects(rec)
    objects.pop("container", None)
    for key in ("endpointID", "endpoint"):
        if rec.fields.get(key):
            objects["endpoint"] = str(rec.fields[key])
    if rec.fields.get("k8sSvcName"):
        ns = rec.fields.get("k8sNamespace")
        objects["service"] = f"{ns}/{rec.fields['k8sSvcName']}" if ns else str(rec.fields["k8sSvcName"])
    name = _MAP_NAME.search(text)
    if name:
        objects["map"] = name.group(1)
    subject = ""
    if objects.get("service"):
        subject = f" (Service {objects['service']})"
    elif objects.get("pod"):
        subject = (
            f" (pod {objects.get('namespace', '') + '/' if objects.get('namespace') else ''}{objects['pod']})"
        )
    elif objects.get("endpoint"):
        subject = f" (endpoint {objects['endpoint']})"
    in_map = f" in {objects['map']}" if objects.get("map") else ""
    return Sighting(
        f"DIAG-CILIUM-{which}-MAP",
        (rec.host or rec.file, objects.get("map") or objects.get("endpoint") or objects.get("service", "")),
        f"Cilium{in_map}{subject}: {what}.",
        fix,
        objects=objects,
        prevented_by=prevented,
    )
