"""The key skeleton of Helm templates: key paths by indentation, list items, block scalars, values refs."""

from __future__ import annotations

import yaml

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


# --- the law: on plain YAML (a template without actions) the skeleton is the YAML's own key paths ---

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_keys = st.from_regex(r"[a-z][a-zA-Z0-9]{0,6}", fullmatch=True).filter(
    lambda k: k not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
)
_scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["a", "b c", "x:y", "- z"]), st.booleans())
_yaml = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3), st.dictionaries(_keys, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _expected(node, path=()):
    """(key path with sequence positions dropped, 1-based line) of every mapping key."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield (*path, key.value), key.start_mark.line + 1
            yield from _expected(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _expected(item, path)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _yaml, min_size=1, max_size=4), st.booleans())
def test_plain_yaml_skeleton_is_its_key_paths(document, indent_sequences):
    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False if indent_sequences else indentless)

    text = yaml.dump(document, Dumper=Dumper, default_flow_style=False, sort_keys=False, width=1000)
    (segment,) = index_template(text)
    found = sorted((k.keys, k.line) for k in segment.keys)
    assert found == sorted(_expected(yaml.compose(text, Loader=yaml.SafeLoader)))
