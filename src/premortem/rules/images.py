"""Images: which bytes a container runs, and whether the next restart runs the same ones."""

from __future__ import annotations

import os
from collections.abc import Iterator

from premortem.findings import Severity
from premortem.load.document import Document
from premortem.model.idle import is_idle
from premortem.model.image import (
    BuiltImage,
    ImageOverride,
    ImageRef,
    built_by,
    kustomize_overrides,
    parse_image,
    skaffold_builds,
)
from premortem.model.index import ObjectIndex, per_index
from premortem.model.podspec import (
    CONTAINER,
    EPHEMERAL,
    INIT,
    POD_BEARING_KINDS,
    SIDECAR,
    ContainerView,
    is_one_shot,
    pod_spec_of,
)
from premortem.rules.registry import ClusterContext, Hit, cluster_rule, object_rule

_ROLE_WORDS = {INIT: "init container", SIDECAR: "sidecar", EPHEMERAL: "ephemeral container"}


def images_of(doc: Document) -> list[tuple[ContainerView, ImageRef]]:
    """Every container of the pod spec (init, sidecar and ephemeral included) with its parsed image.

    Containers whose ``image`` is absent or not a string are left out: such a pod spec is either a
    fragment (a kustomize strategic-merge patch takes the image from its base) or refused by the API
    server outright ("Required value"), so there is no reference to judge.
    """
    cached = doc.cache.get("images")
    if cached is None:
        cached = []
        spec = pod_spec_of(doc)
        if spec is not None:
            for container in spec.containers(include_ephemeral=True):
                raw = container.data.get("image")
                if isinstance(raw, str):
                    cached.append((container, parse_image(raw)))
        doc.cache["images"] = cached
    return list(cached)


def _who(container: ContainerView) -> str:
    return f"{_ROLE_WORDS.get(container.role, 'container')} {container.name!r}"


def _hit(container: ContainerView, ref: ImageRef, message: str, fix: str, **extra: str) -> Hit:
    """A finding on the container's ``image`` field."""
    return Hit(
        message=f"{_who(container)}: {message}",
        fix=fix,
        path=(*container.path, "image"),
        container=container.name,
        extra={"image": ref.raw, **extra},
    )


Variant = tuple[ImageRef, ImageOverride | None]


@per_index
def _image_sources(index: ObjectIndex) -> tuple[dict[str, list[ImageOverride]], list[BuiltImage]]:
    """(kustomize ``images:`` overrides by manifest path, skaffold builds) of the scan, worked out
    once per index: IMG001 and IMG002 both ask."""
    kustomizations = [
        (d.file, d.line, d.obj) for d in index.of_kind("Kustomization") if isinstance(d.obj, dict)
    ]
    overrides = kustomize_overrides(kustomizations) if kustomizations else {}
    builds = skaffold_builds(
        [
            (d.file, d.line, d.obj)
            for d in index.of_kind("Config")
            if (d.ref.api_version or "").startswith("skaffold/") and isinstance(d.obj, dict)
        ]
    )
    return overrides, builds


def resolved_images(
    context: ClusterContext,
) -> Iterator[tuple[Document, ContainerView, ImageRef, list[Variant]]]:
    """Every valid image of every workload, with what `kustomize build` turns it into.

    A Kustomization in the scan whose ``images:`` entry names the image, and whose ``resources``
    (followed through directories, bases and components) include the manifest, rewrites it: each
    such rewrite is one variant; without one the image itself is the only variant. Images a skaffold
    configuration above the manifest builds (skaffold writes the tag it built) and values an
    admission webhook fills in (Istio's ``image: auto``) are not images the manifest chooses: they
    are left out.
    """
    overrides, builds = _image_sources(context.index)
    for doc in context.workloads():
        applicable = overrides.get(os.path.normpath(doc.file), [])
        for container, ref in images_of(doc):
            if not ref.valid or ref.is_injected or (builds and built_by(builds, doc.file, ref)):
                continue
            matches = [o for o in applicable if o.name == ref.name]
            variants: list[Variant] = [(o.apply(ref), o) for o in matches] if matches else [(ref, None)]
            yield doc, container, ref, variants


def _rewritten(ref: ImageRef, override: ImageOverride | None, effective: ImageRef) -> str:
    if override is None:
        return f"image {ref.raw!r}"
    if effective.raw == ref.raw:
        return f"image {ref.raw!r} (kept as is by {override.describe()})"
    return f"image {ref.raw!r}, rewritten to {effective.raw!r} by {override.describe()},"


def _pull_policy(container: ContainerView, ref: ImageRef) -> tuple[str, bool]:
    """(effective imagePullPolicy, whether it was written) after API defaulting."""
    written = container.data.get("imagePullPolicy")
    if isinstance(written, str) and written in ("Always", "IfNotPresent", "Never"):
        return written, True
    return ref.default_pull_policy, False


@cluster_rule(
    "IMG001",
    "mutable-image-tag",
    "images",
    Severity.HIGH,
    "Image uses :latest, a branch or channel tag (:master, :stable...) or no tag, without a digest",
    per_workload=True,
    lookups=(_image_sources,),
)
def mutable_image_tag(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Every container, init container, sidecar and ephemeral container (CronJob job templates
    included) whose image has the tag `latest` or no tag at all, and no digest. A registry port is
    not a tag: `registry:5000/app` has no tag and the runtime pulls `registry:5000/app:latest`. A
    digest pins the image whatever the tag says, so `app@sha256:...` and `app:latest@sha256:...`
    are not findings (but see the pull-policy note below). Ephemeral (debug) containers are
    reported at `low`: they are started once by hand and never restarted or replicated.

    Tags that name a branch or a release channel rather than a build are as mutable as `latest`:
    `master`, `main`, `head`, `trunk`, `nightly`, `edge`, `stable`, `dev`, `develop`, `canary`,
    `snapshot`, `unstable`, `testing`, `rolling`, `current`, `mainline`, alone or with a variant
    that carries no version (`master-head`, `stable-alpine`). Unlike `latest` they default to
    `imagePullPolicy: IfNotPresent`, and the message says what that does.

    Severity: `high` for serving workloads and bare pods; `medium` for Jobs and CronJobs, whose run
    on a bad build fails and is retried (delayed work, no dropped requests), and for bare Pods that
    run to completion (`restartPolicy: Never` or `OnFailure`); `low` for ephemeral containers and
    for app containers that only idle (`pause`, `sleep infinity`: model/idle.py), whose build does
    not change what the pod does. Names that are not the manifest's choice are not judged: an image a skaffold
    configuration in the same directory tree builds (skaffold writes the tag it built into the
    manifests it deploys), and Istio's `image: auto`, which its injection webhook replaces.

    When the scan holds a Kustomization whose `images:` entry names the image and whose
    `resources` (followed through directories, bases and components) include the manifest, the
    reference is judged as `kustomize build` rewrites it (`newName`, `newTag`, `digest`), and the
    message names the Kustomization: a base's `controller:latest` pinned by its overlay's `digest`
    is not a finding.

    ## Why it breaks clusters
    `latest` is a pointer the registry moves on every push. What a replica runs is decided when its
    container starts, not when the manifest is applied:
    - The API server defaults `imagePullPolicy` to `Always` for `:latest` and for an image with no
      tag. Every container start (a crash restart, an eviction, a node drain, a scale-up) asks the
      registry what `latest` means now: replicas of one Deployment end up on different builds, a
      bad push reaches running services without any rollout, re-applying the old manifest rolls
      nothing back, and when the registry is down or rate-limits the node (Docker Hub), restarts
      stop at `ImagePullBackOff`.
    - With `imagePullPolicy: IfNotPresent`, each node keeps whichever build it pulled first: nodes
      run different code under one tag and a fix reaches only new nodes.
    - Edge case: `app:latest@sha256:...` runs the digest, but the defaulting code looks only at the
      tag and sets `Always`, so every start still needs the registry (KEP-6083 proposes a
      digest-aware default). Set `imagePullPolicy: IfNotPresent` or drop `:latest` from it.

    ## Failing example
    ```yaml
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: report}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: report
                  image: registry.example.com:5000/reports/nightly
    ```

    ## Passing example
    ```yaml
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: report}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers:
                - name: report
                  image: registry.example.com:5000/reports/nightly:2.3.1@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    ```

    ## Fix
    Deploy an immutable reference: a version tag and its digest (`repo:1.4.2@sha256:...`), written
    by CI when it pushes the image. A version tag alone still moves when someone re-pushes it
    (IMG002). `premortem fix --resolve-digests` asks the registry what the tag names today and
    writes `repo:tag@sha256:...`.

    ## Source
    kubernetes/kubernetes pkg/apis/core/v1/defaults.go `SetDefaults_Container` (pull policy
    defaulting), pkg/util/parsers/parsers.go `ParseImageName`; distribution/reference
    normalize.go `splitDockerDomain` (when the first component is a registry); K8s docs
    concepts/containers/images.md (imagePullPolicy defaulting, "avoid :latest"); kubernetes/
    enhancements KEP-6083 (digest-aware pull policy defaulting).
    """
    for doc, container, original, variants in resolved_images(context):
        latest = [(ref, o) for ref, o in variants if ref.valid and ref.is_floating]
        if not latest:
            continue
        ref, override = latest[0]
        policy, written = _pull_policy(container, ref)
        subject = _rewritten(original, override, ref)
        tag_words = (
            f"{subject} has no tag, so the runtime pulls {ref.name}:latest"
            if ref.tag is None
            else f"{subject} uses the tag latest"
            if ref.tag == "latest"
            else f"{subject} uses the tag {ref.tag}, which names a branch or channel, not a build: every push "
            "to it moves it, as with :latest"
        )
        if ref.tag is None and ref.registry and ":" in ref.registry:
            tag_words += f" ({ref.registry.rsplit(':', 1)[1]} is the registry port, not a tag)"
        if policy == "Always":
            how = (
                "imagePullPolicy: Always"
                if written
                else "imagePullPolicy defaults to Always for :latest / no tag"
            )
            effect = (
                f"{how}, so every container start (crash restart, eviction, drain, scale-up) runs whatever "
                "the tag points to at that moment: replicas drift onto different builds, a bad push reaches "
                "running pods without a rollout, re-applying the old manifest rolls nothing back, and a "
                "registry outage or rate limit stops restarts at ImagePullBackOff."
            )
        elif policy == "IfNotPresent":
            effect = (
                "with imagePullPolicy: IfNotPresent each node keeps whichever build it pulled first: nodes run "
                "different code under one tag, and a new push reaches only nodes that never pulled it."
            )
        else:
            effect = (
                "with imagePullPolicy: Never it runs whatever image a node happens to have under that name, and "
                "fails with ErrImageNeverPull where there is none."
            )
        where = f" (in {override.kustomization}: images digest/newTag)" if override else ""
        fix = (
            f"Pin the image{where}: {ref.name}:<version>@sha256:<digest> (CI can write both when it pushes)."
        )
        if container.role == EPHEMERAL:
            # A debugging container: started once by hand, never restarted or replicated.
            effect = "it is started once and never restarted, so only what you debug with is uncertain."
        idle = container.role == CONTAINER and is_idle(container)
        if idle:
            effect += (
                " The container only idles (pause, sleep), so another build changes little; a failed pull still "
                "keeps the pod from starting."
            )
        if container.role != EPHEMERAL and is_one_shot(doc):
            effect += (
                f" This {doc.kind} runs to completion: a run that gets a bad build fails (a Job retries it): work "
                "is delayed or lost, not a serving outage."
            )
        hit = _hit(container, original, f"{tag_words}; {effect}", fix, pull_policy=policy)
        hit.doc = doc
        if container.role == EPHEMERAL or idle:
            hit.severity = Severity.LOW
        elif is_one_shot(doc):
            hit.severity = Severity.MEDIUM
        yield hit


@cluster_rule(
    "IMG002",
    "image-tag-not-pinned",
    "images",
    Severity.INFO,
    "Image has a version tag but no digest",
    per_workload=True,
    lookups=(_image_sources,),
)
def image_tag_not_pinned(context: ClusterContext) -> Iterator[Hit]:
    """
    ## What it checks
    Containers of every kind (init, sidecar, ephemeral, CronJob job templates) whose image has a
    tag that names a build (not `latest` or a branch or channel tag: those are IMG001) and no
    digest. It is `info` by default, because many teams treat version tags as immutable by
    convention (and some registries enforce it); teams that want digests everywhere run it as a
    gate: `premortem scan --select IMG002 --fail-on info`.

    ## Why it breaks clusters
    A tag is a name the registry lets anyone with push rights move. With the default
    `IfNotPresent`, nodes that already pulled `1.4.2` keep the old bytes while new nodes pull the
    re-pushed ones, so one Deployment runs two builds and nothing in the cluster shows it; with
    `imagePullPolicy: Always` every container start re-resolves the tag. A digest names exactly one
    image: the same bytes on every node, and a rollback that really rolls back.

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: localhost:5000/team/api:1.4.2
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: localhost:5000/team/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    ```

    ## Fix
    Append the digest CI pushed: `repo:1.4.2@sha256:...` (the tag stays for humans, the digest
    wins). `premortem fix --resolve-digests` asks the registry for it.

    ## Source
    K8s docs concepts/containers/images.md ("Image names", pulling by digest); kubernetes/kubernetes
    pkg/apis/core/v1/defaults.go `SetDefaults_Container`; distribution/reference reference.go
    (grammar: `name:tag@digest`).
    """
    for doc, container, original, variants in resolved_images(context):
        if any(ref.valid and ref.is_floating for ref, _ in variants):
            continue  # IMG001
        tagged = [(ref, o) for ref, o in variants if ref.valid and not ref.is_pinned]
        if not tagged:
            continue
        ref, override = tagged[0]
        policy, _ = _pull_policy(container, ref)
        if policy == "Always":
            effect = (
                "with imagePullPolicy: Always every container start re-resolves the tag, so a re-push "
                "reaches running pods at their next restart, without a rollout"
            )
        else:
            effect = (
                "if the tag is re-pushed, nodes that already pulled it keep the old bytes and new nodes get the "
                "new ones: one workload, two builds"
            )
        message = f"{_rewritten(original, override, ref)} is pinned by tag only; {effect}."
        where = f" (in {override.kustomization}: images digest)" if override else ""
        hit = _hit(
            container,
            original,
            message,
            f"Add the digest{where}: {ref.raw}@sha256:<digest>.",
            pull_policy=policy,
        )
        hit.doc = doc
        yield hit


@object_rule(
    "IMG003",
    "invalid-image-reference",
    "images",
    Severity.HIGH,
    "Image reference the container runtime cannot parse",
    kinds=POD_BEARING_KINDS,
)
def invalid_image_reference(doc: Document) -> Iterator[Hit]:
    """
    ## What it checks
    Image references that do not follow the reference grammar: whitespace, an uppercase
    repository path (only the registry host may have capitals), a malformed tag or digest, a
    sha256 digest without 64 hex digits, an empty string. References that still hold template
    syntax (`${IMAGE}`, `{{ .Values.image }}`, `<REPO>`, `PROJECT_ID`) are reported at `low`: the
    file is a template, and premortem can only check what will really be applied (render it first:
    `helm template`, `kustomize build`, `envsubst`).

    ## Why it breaks clusters
    The API server accepts almost any string as an image: it refuses an empty one, and surrounding
    whitespace only in a Pod (a Deployment is accepted, then its ReplicaSet cannot create pods). The kubelet parses it when the pod lands on a node and refuses it:
    the container stays `Waiting` with reason `InvalidImageName`, the pod never becomes Ready, and
    a rolling update stalls with the new ReplicaSet's pods stuck (or, with `maxUnavailable` > 0,
    old pods already gone).

    ## Failing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/Team/API:1.4.2
    ```

    ## Passing example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: api}
    spec:
      containers:
        - name: api
          image: Registry.Example.com/team/api:1.4.2
    ```

    ## Fix
    Write the reference as `[registry[:port]/]lowercase/path[:tag][@sha256:<64 hex>]`.

    ## Source
    distribution/reference regexp.go and normalize.go (grammar, "repository name must be
    lowercase"); kubernetes/kubernetes pkg/util/parsers/parsers.go `ParseImageName`,
    pkg/kubelet/images/image_manager.go (`ErrInvalidImageName`); pkg/apis/core/validation
    (only empty or whitespace-padded images are refused by the API server).
    """
    for container, ref in images_of(doc):
        if ref.valid:
            continue
        if ref.is_placeholder:
            hit = _hit(
                container,
                ref,
                f"image {ref.raw!r} is an unrendered template placeholder; applied as is, the kubelet refuses "
                "it (InvalidImageName) and the pod never starts. Its tag was not checked.",
                "Scan the rendered output (helm template / kustomize build / envsubst) instead of the template.",
            )
            hit.severity = Severity.LOW
            yield hit
            continue
        if not ref.raw:
            effect = "The API server refuses the object (image: Required value): kubectl apply fails."
        elif ref.raw != ref.raw.strip():
            effect = (
                "The API server refuses a Pod with it (must not have leading or trailing whitespace), so the "
                "controller cannot create any pod (FailedCreate)."
            )
        else:
            effect = (
                "The API server accepts it, then the kubelet refuses it with InvalidImageName and the pod "
                "never starts."
            )
        yield _hit(
            container,
            ref,
            f"image {ref.raw!r} is not a valid reference: {ref.error}. {effect}",
            "Write it as [registry[:port]/]lowercase/path[:tag][@sha256:<64 hex digits>].",
        )
