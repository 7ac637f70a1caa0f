"""Drains blocked by PodDisruptionBudgets, in kubectl's and the eviction API's words (kubectl
pkg/drain: ``error when evicting pods/"%s" -n "%s" (will retry after 5s): %v``, older ``error when
evicting pod "%s"``; pkg/registry/core/pod/storage/eviction.go: ``Cannot evict pod as it would violate
the pod's disruption budget.`` with HTTP 429, and the 500 ``This pod has more than one
PodDisruptionBudget``). The OpenShift machine-config drain controller logs the same lines in klog."""

from __future__ import annotations

import re
from typing import Any

from premortem.diagnose.recognisers import KNOWN, Result, State, recogniser
from premortem.diagnose.recognisers.common import pod_key, pod_name, pod_objects
from premortem.diagnose.records import Record, Sighting

_PDB_NEEDS = re.compile(
    r"The disruption budget (\S{1,253}) needs (\d{1,9}) healthy pods and has (\d{1,9}) currently"
)
_NOT_ENOUGH = re.compile(
    r"not enough pod disruption budget to move ([a-z0-9][-a-z0-9]{0,62})/([a-z0-9][-a-z0-9.]{0,252})"
)
_EVICTION_429 = re.compile(
    r"/namespaces/([a-z0-9][-a-z0-9]{0,62})/pods/([a-z0-9][-a-z0-9.]{0,252})/eviction 429"
)


@recogniser(" cordoned")
def drain_started(rec: Record, state: State) -> Result:
    """``node/worker-2 cordoned``: the evictions that follow in this output are that node's drain."""
    m = re.match(r'\s*node[/ ]"?([^"\s]{1,253})"? (?:already )?cordoned$', rec.message)
    if not m:
        return None
    state["drain_node"] = m.group(1)
    return KNOWN


@recogniser("disruption budget", "more than one PodDisruptionBudget", "/eviction 429")
def pdb_blocked(rec: Record, state: State) -> Result:
    text = rec.message
    multiple = "more than one PodDisruptionBudget" in text
    too_many = _EVICTION_429.search(text) or _NOT_ENOUGH.search(text)
    if not (
        multiple or too_many or "Cannot evict pod" in text or "violate the pod's disruption budget" in text
    ):
        return None
    if too_many:
        objects = pod_objects(rec, pod=too_many.group(2), namespace=too_many.group(1))
    else:
        objects = pod_objects(rec)
    if state.get("drain_node"):
        objects.setdefault("node", state["drain_node"])
    needs = _PDB_NEEDS.search(text)
    detail = ""
    numbers: dict[str, Any] = {}
    if needs:
        objects["pdb"] = needs.group(1)
        numbers = {"pdb": needs.group(1), "needs": int(needs.group(2)), "has": int(needs.group(3))}
        detail = f" PodDisruptionBudget {needs.group(1)} needs {needs.group(2)} healthy pods and has {needs.group(3)}."
    if multiple:
        detail += " The pod is matched by more than one PodDisruptionBudget, which the eviction API refuses outright."
    if too_many and not detail:
        detail = (
            " The eviction API answered 429 Too Many Requests: the pod's disruption budget allows no eviction now."
            if "429" in too_many.group(0)
            else " The cluster autoscaler leaves the node: the pod's disruption budget allows no eviction now."
        )
    return Sighting(
        "DIAG-DRAIN-PDB",
        pod_key(objects),
        f"Evicting {pod_name(objects)} was refused by its disruption budget.{detail} kubectl drain retries every 5 "
        "seconds without end: the node cannot be drained, and node upgrades or autoscaler scale-downs hang.",
        "Allow at least one disruption: more replicas than minAvailable (or maxUnavailable >= 1), one PDB per pod, "
        "and unhealthyPodEvictionPolicy: AlwaysAllow so broken pods do not block drains.",
        objects=objects,
        prevented_by=("PDB001", "PDB003", "CAP003") if multiple else ("PDB001", "CAP003"),
        numbers=numbers,
    )
