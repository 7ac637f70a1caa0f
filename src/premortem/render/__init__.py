"""Render: Helm charts and Kustomize trees met in the input -> documents that know the template,
values line, origin file or patch behind every field (docs/render.md).

discover.py finds the units while expanding paths, helm.py and kustomize.py run the renderers,
stage.py loads their output and scans each unit on its own, rendered.py moves findings to the file to
edit; template_index.py, values.py, patches.py and chartfiles.py do the locating.
"""
