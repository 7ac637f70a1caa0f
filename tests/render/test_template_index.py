"""The key skeleton of Helm templates: key paths by indentation, list items, block scalars, values refs."""

from __future__ import annotations

from premortem.render.template_index import index_template, values_refs

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  annotations:
    config: |
      spec: not a key
      containers: neither
spec:
  template:
    spec:
      containers:
        {{- if .Values.sidecar.enabled }}
        - name: sidecar
          image: {{ .Values.sidecar.image }}
        {{- end }}
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
"""


def test_key_paths_by_indentation_skip_template_actions_and_block_scalars():
    deployment, service = index_template(TEMPLATE)
    paths = {k.keys: k.line for k in deployment.keys}
    assert paths[("metadata", "annotations", "config")] == 6
    assert ("metadata", "annotations", "config", "spec") not in paths  # inside the block scalar
    assert paths[("spec", "template", "spec", "containers", "resources")] == 20
    assert service.start == 24 and service.kind_line("Service") == 25


def test_list_items_keep_their_position_and_first_line():
    deployment, _ = index_template(TEMPLATE)
    images = [k for k in deployment.keys if k.keys[-1] == "image"]
    assert [(k.line, k.items, k.item_lines) for k in images] == [(15, (0,), (14,)), (18, (1,), (17,))]


def test_values_refs_on_the_line_and_in_the_with_scope():
    deployment, _ = index_template(TEMPLATE)
    image = values_refs(deployment, 18, 10)
    assert image.on_line == ("image.repository", "image.tag")
    resources = values_refs(deployment, 20, 10)
    assert resources.scope == ("resources",) and resources.uses_dot
