"""The parse floor: merely parsing every manifest below DIR, in one process, with the fastest
well-known parser of its format: PyYAML's C loader for YAML, ``json.loads`` for JSON.

Same file selection as ``premortem scan`` (*.yaml, *.yml, *.json; VCS and virtualenv directories
skipped). A file is JSON when it starts (after whitespace) with ``{`` or ``[`` and ``json.loads``
reads it, as premortem and kubectl decide; otherwise ``yaml.load_all(..., Loader=CSafeLoader)`` is
exhausted. Errors are counted and skipped.

    python bench/floor.py DIR
"""

from __future__ import annotations

import json
import sys
import time

import yaml

from premortem.load.reader import iter_manifest_files


def main() -> None:
    start = time.perf_counter()
    files = documents = errors = json_files = 0
    for root in sys.argv[1:]:
        for path in iter_manifest_files(root):
            files += 1
            with open(path, "rb") as handle:
                raw = handle.read()
            if raw.lstrip()[:1] in (b"{", b"["):
                try:
                    json.loads(raw)
                    documents += 1
                    json_files += 1
                    continue
                except ValueError:
                    pass
            try:
                for _doc in yaml.load_all(raw, Loader=yaml.CSafeLoader):
                    documents += 1
            except yaml.YAMLError:
                errors += 1
    elapsed = time.perf_counter() - start
    print(f"files={files} json={json_files} documents={documents} errors={errors} seconds={elapsed:.3f}")


if __name__ == "__main__":
    main()
