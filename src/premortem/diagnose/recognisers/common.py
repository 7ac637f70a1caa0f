"""What every family needs: the objects a record names (pod, namespace, container, node), read from
the record's columns and fields or, failing that, from the line itself; and how to say who they are
in a sentence without inventing what the evidence does not say ("a pod", never ``?/?``)."""

from __future__ import annotations

import re

from premortem.diagnose.records import Record

# Where lines name a pod, most specific first. Every pattern is anchored on a literal and uses
# bounded, non-overlapping character classes, so each runs in time linear in the line.
_POD_PATTERNS = (
    re.compile(r'pods?/"?(?P<pod>[a-z0-9][-a-z0-9.]*)"? -n "?(?P<ns>[a-z0-9][-a-z0-9]*)"?'),
    re.compile(r'\bpod[= ]"?(?P<ns>[a-z0-9][-a-z0-9]*)/(?P<pod>[a-z0-9][-a-z0-9.]*)"?'),
    re.compile(r"\bpod[= ](?P<pod>[a-z0-9][-a-z0-9.]*)_(?P<ns>[a-z0-9][-a-z0-9]*)\("),
    re.compile(r"/namespaces/(?P<ns>[a-z0-9][-a-z0-9]*)/pods/(?P<pod>[a-z0-9][-a-z0-9.]*)"),
    re.compile(r'\bpod "(?P<pod>[a-z0-9][-a-z0-9.]*)"'),
    re.compile(r'"(?P<pod>[a-z0-9][-a-z0-9.]*)_(?P<ns>[a-z0-9][-a-z0-9]*)\([0-9a-f-]+\)'),
    re.compile(r"\bk8sPodName=(?P<ns>[a-z0-9][-a-z0-9]*)/(?P<pod>[a-z0-9][-a-z0-9.]*)"),
    re.compile(r"^Pod (?P<pod>[a-z0-9][-a-z0-9.]{0,252}): "),  # an operator re-emitting a pod's event
)


def pod_from_text(text: str) -> tuple[str | None, str | None]:
    """(namespace, pod) as the line names them, or (None, None)."""
    for pattern in _POD_PATTERNS:
        m = pattern.search(text)
        if m:
            return m.groupdict().get("ns"), m.group("pod")
    return None, None


def pod_objects(rec: Record, pod: str | None = None, namespace: str | None = None) -> dict[str, str]:
    """The pod, namespace, container and node a record names."""
    objects: dict[str, str] = {}
    ns = namespace or rec.namespace
    name = pod or (rec.name if rec.kind in (None, "Pod") else None)
    if pod is None and rec.fields.get("pod"):
        ns_field, _, name_field = str(rec.fields["pod"]).rpartition("/")
        name, ns = name_field, ns_field or ns
    if name is None:
        found_ns, found = pod_from_text(rec.message)
        if found:
            name, ns = found, ns or found_ns
    if name:
        objects["pod"] = name
    if ns:
        objects["namespace"] = ns
    container = rec.container or rec.fields.get("containerName") or rec.fields.get("container")
    if container:
        objects["container"] = str(container)
    node = rec.node or (rec.name if rec.kind == "Node" else None) or rec.host
    if node:
        objects["node"] = node
    return objects


def pod_name(objects: dict[str, str]) -> str:
    """``payments/api-1``, ``api-1``, or ``a pod`` when the evidence names none."""
    if objects.get("pod"):
        return f"{objects['namespace']}/{objects['pod']}" if objects.get("namespace") else objects["pod"]
    return "a pod"


def who(objects: dict[str, str]) -> str:
    """``Container app of payments/api-1``, ``A container of api-1``, ``A container``."""
    pod = pod_name(objects)
    owner = f" of {pod}" if objects.get("pod") else ""
    if objects.get("container"):
        return f"Container {objects['container']}{owner}"
    return f"A container{owner}"


def pod_key(objects: dict[str, str]) -> tuple[str, str]:
    return objects.get("namespace", ""), objects.get("pod", "")


def on_node(objects: dict[str, str]) -> str:
    return f" on {objects['node']}" if objects.get("node") else ""


# The eviction signals a resource name can stand for (kubelet pkg/kubelet/eviction/api/types.go):
# memory.available, nodefs/imagefs (.available, .inodesFree), ephemeral-storage, pid.available.
def resource_family(name: str | None) -> str | None:
    """memory, disk or pid for an eviction resource or signal as written; None when it is neither."""
    if not name:
        return None
    text = name.lower()
    if "memory" in text:
        return "memory"
    if "pid" in text:
        return "pid"
    if any(w in text for w in ("ephemeral", "nodefs", "imagefs", "disk", "inode", "storage", "containerfs")):
        return "disk"
    return None
