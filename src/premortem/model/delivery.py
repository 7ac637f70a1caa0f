"""Where a document goes: the API server, the kubelet's manifest directory, a tool, or a program.

Not every YAML document shaped like a Kubernetes object is sent to an API server as written, and a
rule must not say "the API server will reject it" about one that never reaches it. ``delivery_of``
tells, for every document:

- ``API_SERVER``: applied as is (``kubectl apply``, GitOps, Helm): the default;
- ``KUBELET``: a static pod the kubelet reads from its manifest directory (model/criticality.py);
  the kubelet validates it and publishes a mirror pod;
- ``TOOL``: the input of a command-line tool or the configuration file of a component, which reads
  it itself: ``istioctl install -f`` (IstioOperator), kubeadm, kind, kops, kustomize, skaffold,
  the kyverno CLI, component configs (``*.config.k8s.io``: kubelet, kube-proxy, scheduler,
  API server), kubeconfig files;
- ``FIXTURE``: an object a policy engine's tests evaluate, never deployed as written: kyverno CLI
  tests (``.kyverno-test/``), chainsaw tests (``.chainsaw-test/``, applied only to a throwaway test
  cluster), the ``test/<case>/input/`` layout of OPA/Rego rule libraries (kubescape's
  regolibrary), and ``testdata/`` directories (Go's convention for the inputs of a program's tests,
  which ``go build`` ignores), and the files of a test suite kept under ``test/`` or ``tests/``
  (``test/bats/``, ``test/e2e/``, ``tests/integration/``: objects an end-to-end suite applies to a
  throwaway cluster, or the expected output a program's test compares with). Their findings are
  facts, not alarms (premortem/fixtures.py reports them as info);
- ``TEST_RUN``: a Helm test hook (``helm.sh/hook: test``, or Helm 2's ``test-success`` /
  ``test-failure``): created only when someone runs ``helm test``, never by install or upgrade, and
  deleted or left Completed after one run. It reaches the API server, but nothing serves from it:
  its findings are facts too;
- ``FRAGMENT``: a piece a program completes before use, so fields it omits are not final: an
  explicitly empty ``metadata: {}`` (what Go writes for an empty ObjectMeta; kops copies the
  containers of such a Pod into its kube-apiserver static pod, where ``hostNetwork`` is true), or a
  ``metadata.name:`` key left empty for the program to fill (cilium-cli's connectivity manifests).

A tool's input or a fragment in a fixture directory keeps its target (TOOL, FRAGMENT: rules still
know who reads it) and carries the fixture reason in ``fixture`` (nodeadm's end-to-end cases keep
the KubeletConfiguration each case expects under ``test/e2e/cases/``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from premortem.load.document import Document
from premortem.model.criticality import is_static_pod

API_SERVER = "api-server"
KUBELET = "kubelet"
TOOL = "tool"
FRAGMENT = "fragment"
FIXTURE = "fixture"
TEST_RUN = "test-run"

# Directories in which policy engines keep the objects their tests evaluate.
FIXTURE_DIRS = {
    ".kyverno-test": "a kyverno CLI test input",
    ".chainsaw-test": "a chainsaw test step",
    "testdata": "a program's test data (testdata/)",
}
# Test suites kept under test/ or tests/: bats (gatekeeper's end-to-end suite), e2e, integration.
TEST_SUITE_DIRS = frozenset({"bats", "e2e", "integration"})
TEST_ROOTS = frozenset({"test", "tests"})
# helm.sh/hook values that make an object part of `helm test` only (Helm 2 spelled them test-success
# and test-failure; Helm 3 accepts test-success as an alias of test).
HELM_TEST_HOOKS = frozenset({"test", "test-success", "test-failure"})

# API groups served by every Kubernetes API server: their objects must have metadata.name. Objects of
# other groups (CRDs, tool configs such as kind's Cluster) may legitimately carry `name` at the top.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "admissionregistration.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "events.k8s.io",
        "extensions",
        "resource.k8s.io",
    }
)

# API group -> the tool or component that reads documents of that group itself.
TOOL_GROUPS = {
    "install.istio.io": "istioctl (istioctl install -f)",
    "kubeadm.k8s.io": "kubeadm",
    "kind.x-k8s.io": "kind (kind create cluster --config)",
    "kops.k8s.io": "kops (kops create -f)",
    "kustomize.config.k8s.io": "kustomize",
    "cli.kyverno.io": "the kyverno CLI (kyverno test / apply)",
    "k3d.io": "k3d",
    "eksctl.io": "eksctl",
    "ctlptl.dev": "ctlptl",
    "audit.k8s.io": "kube-apiserver (--audit-policy-file)",
    "apiserver.k8s.io": "kube-apiserver (a configuration file)",
    "clientauthentication.k8s.io": "kubectl (a credential plugin)",
}


@dataclass(frozen=True, slots=True)
class Delivery:
    target: str  # API_SERVER, KUBELET, TOOL, FRAGMENT, FIXTURE or TEST_RUN
    consumer: str  # who reads it, in words ("the API server", "istioctl (istioctl install -f)")
    reason: str = ""  # why premortem thinks so ('' for the API server default)
    fixture: str = ""  # why a tool's input or a fragment is a test fixture ('' when it is not)

    @property
    def reaches_api_server(self) -> bool:
        return self.target in (API_SERVER, TEST_RUN)

    @property
    def facts_only(self) -> str:
        """Why findings on this document are facts, not alarms ('' when they are alarms)."""
        if self.target == FIXTURE or self.fixture:
            return f"{self.fixture or self.reason}, never deployed as written"
        if self.target == TEST_RUN:
            return self.reason
        return ""

    @property
    def complete(self) -> bool:
        """False for fragments: pod-level and metadata fields they omit are set by someone else."""
        return self.target != FRAGMENT


_API_SERVER = Delivery(API_SERVER, "the API server")


def delivery_of(doc: Document) -> Delivery:
    """Where ``doc`` goes (computed once per document)."""
    cached = doc.cache.get("delivery")
    if isinstance(cached, Delivery):
        return cached
    result = _delivery(doc)
    doc.cache["delivery"] = result
    return result


def _delivery(doc: Document) -> Delivery:
    fixture = _fixture(doc.file)
    consumer = _tool_or_fragment(doc)
    if consumer is not None:
        # A tool's input can be a test fixture too (a program's expected kubelet configuration).
        return replace(consumer, fixture=fixture) if fixture else consumer
    if fixture is not None:
        return Delivery(FIXTURE, "a policy engine's tests", fixture)
    obj = doc.obj if isinstance(doc.obj, dict) else {}
    if _is_helm_test(obj.get("metadata")):
        return Delivery(
            TEST_RUN,
            "helm test",
            "a Helm test hook, created only by `helm test`, never by install or upgrade",
        )
    if is_static_pod(doc):
        return Delivery(KUBELET, "the kubelet", "a static pod manifest")
    return _API_SERVER


def _tool_or_fragment(doc: Document) -> Delivery | None:
    """The delivery of a tool's input or a program's fragment, None for anything else."""
    obj = doc.obj if isinstance(doc.obj, dict) else {}
    group = doc.api_group
    api_version = doc.ref.api_version or ""
    kind = doc.kind or ""
    if group in TOOL_GROUPS:
        return Delivery(TOOL, TOOL_GROUPS[group], f"{api_version} is read by {TOOL_GROUPS[group]}")
    if ".config." in f".{group}." and not group.startswith("config."):
        return Delivery(
            TOOL, "the component it configures", f"{api_version} is a component configuration file"
        )
    if api_version.startswith("skaffold/"):
        return Delivery(TOOL, "skaffold", "a skaffold configuration")
    if api_version == "v1" and kind == "Config":
        return Delivery(TOOL, "kubectl (a kubeconfig)", "a kubeconfig file")
    meta = obj.get("metadata")
    if meta == {} and "metadata" in obj:
        return Delivery(
            FRAGMENT,
            "the program that completes it",
            "its metadata is an explicitly empty mapping, as a program writes an object it completes later",
        )
    if isinstance(meta, dict) and "name" in meta and meta["name"] is None and not meta.get("generateName"):
        return Delivery(
            FRAGMENT, "the program that fills it in", "metadata.name is left empty to be filled in"
        )
    return None


def _fixture(file: str) -> str | None:
    """Why ``file`` holds policy-test objects (see the module documentation), or None."""
    folder, slash, _ = file.replace("\\", "/").rpartition("/")
    return _fixture_folder(folder if slash else None)


@lru_cache(maxsize=1 << 14)
def _fixture_folder(folder: str | None) -> str | None:
    """``_fixture`` of every file in ``folder`` (None: a bare file name): asked once per folder."""
    parts = folder.split("/") if folder is not None else []
    for part in parts:
        if part in FIXTURE_DIRS:
            return FIXTURE_DIRS[part]
    for i, part in enumerate(parts):
        if part in ("input", "inputs") and i >= 2 and parts[i - 2] in TEST_ROOTS:
            return "a policy rule's test input"
        if part in TEST_SUITE_DIRS and i >= 1 and parts[i - 1] in TEST_ROOTS:
            return f"a test suite's file ({parts[i - 1]}/{part}/)"
    return None


def _is_helm_test(meta: object) -> bool:
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    hook = annotations.get("helm.sh/hook") if isinstance(annotations, dict) else None
    if not isinstance(hook, str):
        return False
    hooks = {h.strip() for h in hook.split(",") if h.strip()}
    return bool(hooks) and hooks <= HELM_TEST_HOOKS
