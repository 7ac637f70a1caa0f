"""Input: documents that are not the Kubernetes objects they are meant to be."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.delivery import BUILTIN_GROUPS, FRAGMENT, TOOL, Delivery, delivery_of
from premortem.model.podspec import POD_BEARING_KINDS, pod_spec_path
from premortem.model.resources import resources_of
from premortem.rules.registry import Hit, load_rule, object_rule

_METADATA_FIELDS = ("name", "namespace", "labels", "annotations", "generateName")
_POD_SPEC_FIELDS = (
    "containers",
    "initContainers",
    "volumes",
    "nodeSelector",
    "tolerations",
    "serviceAccountName",
)
# Kinds that legitimately have no metadata.name (kubeconfig-like or component configs).
_NAMELESS_KINDS = frozenset(
    {
        "KubeletConfiguration",
        "KubeProxyConfiguration",
        "KubeSchedulerConfiguration",
        "Kustomization",
        "Component",
        "Config",
        "ClusterConfiguration",
        "InitConfiguration",
        "JoinConfiguration",
        "EncryptionConfiguration",
        "AdmissionConfiguration",
        "AuditPolicy",
        "Policy",
        "CredentialProviderConfig",
        "EgressSelectorConfiguration",
        "TracingConfiguration",
        "AuthenticationConfiguration",
        "AuthorizationConfiguration",
        "Cluster",
        "Simple",
        "StructuredAuthenticationConfiguration",
    }
)


@load_rule("INP001", "yaml-syntax", "input", Severity.HIGH, "File or document that cannot be parsed")
def yaml_syntax(_: Any) -> Iterator[Hit]:
    """
    ## What it checks
    YAML syntax errors and unreadable files. The scan reports the parser's line and goes on with the
    other documents of the file (split at `---`) and the other files. Also a Helm chart or a
    kustomization that fails to render (premortem runs `helm template` / `kubectl kustomize` itself):
    the finding quotes the renderer at the template or file it names.

    ## Why it breaks clusters
    `kubectl apply` rejects the whole file; in a GitOps pipeline the sync stops and every later change
    in the repository waits behind it, the fix for an outage included. A chart or kustomization that
    does not render stops `helm install` and `kubectl apply -k` the same way.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: broken
    data:
      key: "unterminated
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: fine
    data:
      key: "terminated"
    ```

    ## Fix
    Correct the YAML at the reported line (a Helm template is not YAML: scan its chart directory,
    premortem renders it). For a chart or kustomization that failed to render, fix what the renderer
    says (`helm template CHART` or `kubectl kustomize DIR` shows the same error).

    ## Source
    YAML 1.1 via libyaml (PyYAML's C loader), the parser `kubectl` also rejects on.
    """
    return iter(())


@load_rule(
    "INP005", "rule-failed", "input", Severity.HIGH, "A rule failed on this object: it was not checked"
)
def rule_failed(_: Any) -> Iterator[Hit]:
    """
    ## What it checks
    Raised by premortem itself when one of its rules fails on an object (a premortem bug, or input
    no rule expected). The finding names the rule, the object and the file. The other objects are
    still judged by every rule, cluster-wide rules included: a failing object is set aside and the
    rule runs again without it. `premortem scan` exits 2 when this finding is present (unless
    `--fail-on never`): part of the input was not checked, so a green result would be a lie.

    ## Why it breaks clusters
    A check that silently did not run looks exactly like a check that passed; the outage it would
    have caught ships.

    ## Failing example
    ```yaml
    # premortem raises this only when a rule fails; no manifest is known to make one fail.
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: fine
    ```

    ## Fix
    Report it with the manifest; `PREMORTEM_STRICT=1` prints the traceback; `--ignore RULE` skips
    the failing rule meanwhile.

    ## Source
    premortem's engine (src/premortem/engine.py).
    """
    return iter(())


@load_rule("INP004", "duplicate-key", "input", Severity.HIGH, "A key written twice in one mapping")
def duplicate_key(_: Any) -> Iterator[Hit]:
    """
    ## What it checks
    A mapping that writes the same key twice, such as two `resources:` keys in one container (a real
    CoreDNS manifest had exactly this), in YAML or in JSON (files, stdin, every item of a `kind:
    List`, at any depth). The finding gives both lines and both values.

    ## Why it breaks clusters
    Which value counts depends on the client that applies the file. `kubectl` 1.21 and later decode
    strictly and refuse the whole file ("mapping key "resources" already defined at line 12"), so a
    GitOps sync or a deploy script stops at it. Older `kubectl`, Helm's post-rendering and PyYAML-based
    tools keep the last value without a word, other tools the first: the resources, probes or image
    that run are not the ones a reviewer read. premortem judges the object with the last value.

    In JSON nothing refuses the file: most JSON decoders keep the last value without a word (RFC 8259
    says as much), and kubectl decodes a JSON manifest with Go's `encoding/json` into a map before
    it sends it, so the first value vanishes silently. The API server notices only in a request body
    sent as written: field validation (1.25+) answers `duplicate field "spec.replicas"`, a warning
    by default (`fieldValidation=Warn`), a refused request with `fieldValidation=Strict`. The
    finding is at the line of the last occurrence, the one that counts.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: coredns
    spec:
      containers:
        - name: coredns
          image: registry.k8s.io/coredns/coredns:v1.11.1
          resources:
            limits: {memory: 170Mi}
          resources:
            requests: {cpu: 100m, memory: 70Mi}
    ```

    ```json
    {
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "metadata": {"name": "api"},
      "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "api"}},
        "replicas": 1,
        "template": {"metadata": {"labels": {"app": "api"}},
                     "spec": {"containers": [{"name": "api", "image": "nginx:1.25.3"}]}}
      }
    }
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: coredns
    spec:
      containers:
        - name: coredns
          image: registry.k8s.io/coredns/coredns:v1.11.1
          resources:
            limits: {memory: 170Mi}
            requests: {cpu: 100m, memory: 70Mi}
    ```

    ## Fix
    Keep one key: merge the two values into it and delete the other.

    ## Source
    YAML 1.2 spec section 3.2.1.1 (mapping keys are unique); gopkg.in/yaml.v3 decode.go ("mapping key
    %#v already defined at line %d"), used by kubectl through sigs.k8s.io/yaml; kubectl issue reports
    of the error since 1.21. JSON: RFC 8259 section 4 (names SHOULD be unique; many implementations
    report the last pair only); k8s.io/apimachinery unstructured.go (kubectl decodes manifests with
    `json.Unmarshal` into a map); KEP-2885 server-side field validation and the API concepts page
    "Field validation" (duplicate fields: Warn by default, Strict refuses the request).
    """
    return iter(())


@object_rule(
    "INP002",
    "not-a-kubernetes-object",
    "input",
    Severity.HIGH,
    "Document that is not a well-formed Kubernetes object (missing kind, fields at the wrong level)",
)
def not_a_kubernetes_object(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Documents that look like Kubernetes objects but are not well formed: no `kind` or `apiVersion`,
    `metadata` empty while `name` sits at the top level, metadata fields or pod-spec fields at the
    wrong level. This is what a copy-paste that lost its indentation produces.

    Documents that never reach the API server as written are judged by who reads them (see
    model/delivery.py): the input of a tool (`istioctl install -f` reads an `IstioOperator`
    without a name, kubeadm, kind, kops, component configuration files) and fragments a program
    completes (an explicitly empty `metadata: {}`, a `name:` left empty to be filled in) are not
    reported for their metadata, only for pod fields at the wrong level; a static pod is refused
    by the kubelet, and the message says so.

    ## Why it breaks clusters
    The API server rejects the object, or worse, accepts it with the misplaced fields silently
    dropped (strict field validation is only a warning by default for `kubectl apply` before v1.27):
    a Deployment whose `containers` ended up beside `template` has no containers at all.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
    name: web
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources:
            limits: {cpu: 100m, memory: 128Mi}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources:
            limits: {cpu: 100m, memory: 128Mi}
    ```

    ## Fix
    Restore the indentation: `name`, `namespace`, `labels` and `annotations` belong under `metadata`;
    pod fields under the pod template's `spec`.

    ## Source
    kubernetes/api core/v1 and apps/v1 types (ObjectMeta, PodTemplateSpec); K8s docs
    reference/using-api/api-concepts.md (field validation).
    """
    obj = doc.obj
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        yield Hit(
            message="this document has no `kind`, so the API server will reject it; nothing in it was checked.",
            fix="Add the `kind:` (and `apiVersion:`) of the object this document is meant to be.",
        )
        return
    if not isinstance(api_version, str) or not api_version:
        yield Hit(
            message=f"this {kind} has no `apiVersion`; kubectl and the API server will reject it.",
            fix="Add `apiVersion:` (e.g. `apps/v1` for a Deployment, `v1` for a Pod).",
        )
    delivery = delivery_of(doc)
    if delivery.target in (TOOL, FRAGMENT):
        # Read by a tool that needs no name (istioctl), or completed by a program (kops, cilium-cli):
        # its metadata is not what an API server would see. Misplaced pod fields still matter.
        yield from _pod_fields_misplaced(doc, kind, delivery)
        return
    who = delivery.consumer
    meta = obj.get("metadata")
    builtin = doc.api_group in BUILTIN_GROUPS
    misplaced = [f for f in _METADATA_FIELDS if f in obj] if builtin or "metadata" in obj else []
    if misplaced and not isinstance(meta, dict):
        yield Hit(
            message=(
                f"`metadata` is empty while {', '.join(f'`{f}`' for f in misplaced)} sit at the top level: the "
                f"indentation was lost. {who[0].upper()}{who[1:]} will reject this object (no name)."
            ),
            fix=f"Indent {', '.join(misplaced)} under `metadata:`.",
            path=("metadata",) if "metadata" in obj else (misplaced[0],),
        )
    elif misplaced:
        yield Hit(
            message=(
                f"{', '.join(f'`{f}`' for f in misplaced)} at the top level of this {kind}: these belong under "
                "`metadata` and are dropped or rejected here."
            ),
            fix=f"Move {', '.join(misplaced)} under `metadata:`.",
            path=(misplaced[0],),
        )
    elif (not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName"))) and (
        kind not in _NAMELESS_KINDS and not kind.endswith(("Configuration", "Config")) and "metadata" in obj
    ):
        yield Hit(
            message=f"this {kind} has no metadata.name; {who} will reject it.",
            fix="Set metadata.name.",
            path=("metadata",),
        )
    yield from _pod_fields_misplaced(doc, kind, delivery)


def _pod_fields_misplaced(doc: Document, kind: str, delivery: Delivery) -> Iterator[Hit]:
    path = pod_spec_path(doc)
    if path is None:
        return
    where = ".".join(map(str, path))
    value: Any = doc.obj
    for depth, key in enumerate(path):
        if not isinstance(value, dict):
            return
        misplaced = [f for f in _POD_SPEC_FIELDS if f in value]
        if misplaced:
            here = ".".join(map(str, path[:depth])) or "the top level"
            yield Hit(
                message=(
                    f"`{misplaced[0]}` sits at {here} of this {kind}, but the pod spec is at {where}: "
                    "the indentation was lost and the pods will not get it."
                ),
                fix=f"Move {', '.join(misplaced)} under {where}.",
                path=(*path[:depth], misplaced[0]),
            )
            return
        value = value.get(key)
    if not isinstance(value, dict):
        yield Hit(
            message=f"this {kind} has no pod spec at {where}; {delivery.consumer} will reject it.",
            fix=f"Add the pod template (with its containers) at {where}.",
            path=path,
        )
    elif "containers" not in value:
        yield Hit(
            message=f"this {kind} has no containers at {where}; {delivery.consumer} will reject it.",
            fix=f"Add the containers list under {where}.",
            path=path,
        )


@object_rule(
    "INP003",
    "invalid-quantity",
    "input",
    Severity.HIGH,
    "Resource quantity the API server cannot parse",
    kinds=POD_BEARING_KINDS,
)
def invalid_quantity(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    cpu and memory requests, limits and overhead that are not valid Kubernetes quantities
    (`1.5GB`, `500 m`, `2 cores`).

    ## Why it breaks clusters
    The API server rejects the object; the rollout that carried it never starts.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources:
            limits: {cpu: 500m, memory: 1.5GB}
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources:
            limits: {cpu: 500m, memory: 1536Mi}
    ```

    ## Fix
    Use a number with a binary (Ki, Mi, Gi) or decimal (k, M, G, m) suffix, no space, no `B`.

    ## Source
    k8s.io/apimachinery pkg/api/resource/quantity.go (the quantity grammar).
    """
    res = resources_of(doc)
    if res is None:
        return
    for bad in res.bad_quantities:
        yield Hit(
            message=f"{bad.value!r} is not a valid quantity; the API server will reject this object.",
            fix="Write it as e.g. 500m (cpu) or 1536Mi / 2Gi (memory).",
            path=bad.path,
            container=bad.container,
        )
