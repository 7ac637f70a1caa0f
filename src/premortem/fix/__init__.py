"""``premortem fix``: rewrite manifests so the scan's fixable findings go away, keeping every other byte.

- ``yamltext``: the splice-based editing core (comments, quoting, flow style, CRLF all kept);
- ``registry``: fixers keyed by rule id; ``fixers/``: one module per rule family;
- ``pipeline``: scan -> fixes -> verified new text per file;
- ``oci``: the registry client behind ``--resolve-digests``.
"""
