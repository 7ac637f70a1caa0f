"""Which kustomize patch sets a field: strategic merge (file or inline), JSON 6902, and what does not count."""

from __future__ import annotations

from premortem.load.reader import load_text
from premortem.render.patches import find_patch, translate_path

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: prod-api}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: sidecar
          image: proxy:1
        - name: api
          image: api:2
          resources: {requests: {memory: 1Gi}}
"""
KUSTOMIZATION = """\
resources: [deployment.yaml]
patches:
  - path: patch.yaml
  - target: {kind: Deployment, name: api}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
"""
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          resources:
            requests:
              memory: 1Gi
        - name: sidecar
"""


def _setup(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION)
    (tmp_path / "patch.yaml").write_text(PATCH)
    (doc,) = load_text(DEPLOYMENT, "built").documents
    return str(tmp_path / "kustomization.yaml"), doc


def test_strategic_merge_patch_by_container_name(tmp_path):
    kustomization, doc = _setup(tmp_path)
    path = ("spec", "template", "spec", "containers", 1, "resources", "requests", "memory")
    assert find_patch(kustomization, doc, "api", path) == (str(tmp_path / "patch.yaml"), 12, True)


def test_inline_json6902_operation_line_in_the_kustomization(tmp_path):
    kustomization, doc = _setup(tmp_path)
    assert find_patch(kustomization, doc, "api", ("spec", "replicas")) == (kustomization, 6, True)


def test_what_a_patch_does_not_set(tmp_path):
    kustomization, doc = _setup(tmp_path)
    # metadata.name only names the target; a list item given by name only is not set by the patch.
    assert find_patch(kustomization, doc, "api", ("metadata", "name")) is None
    assert find_patch(kustomization, doc, "api", ("spec", "template", "spec", "containers", 0)) is None
    # another object's patch
    assert (
        find_patch(kustomization, doc, "web", ("spec", "template", "spec", "containers", 1, "resources"))
        is None
    )


def test_translate_path_follows_merge_keys():
    (built,) = load_text(DEPLOYMENT, "built").documents
    source = {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "api:1"}]}}}}
    path = ("spec", "template", "spec", "containers", 1, "image")
    assert translate_path(built.obj, source, path) == (
        ("spec", "template", "spec", "containers", 0, "image"),
        True,
    )
    assert translate_path(built.obj, source, ("spec", "replicas")) == (("spec",), False)
