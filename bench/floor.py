"""The parse floor: PyYAML's C loader merely parsing every manifest below DIR, in one process.

Same file selection as ``premortem scan`` (*.yaml, *.yml, *.json; VCS and virtualenv directories
skipped), ``yaml.load_all(..., Loader=CSafeLoader)`` exhausted per file, errors counted and skipped.

    python bench/floor.py DIR
"""

from __future__ import annotations

import sys
import time

import yaml

from premortem.load.reader import iter_manifest_files


def main() -> None:
    start = time.perf_counter()
    files = documents = errors = 0
    for root in sys.argv[1:]:
        for path in iter_manifest_files(root):
            files += 1
            with open(path, "rb") as handle:
                raw = handle.read()
            try:
                for _doc in yaml.load_all(raw, Loader=yaml.CSafeLoader):
                    documents += 1
            except yaml.YAMLError:
                errors += 1
    elapsed = time.perf_counter() - start
    print(f"files={files} documents={documents} errors={errors} seconds={elapsed:.3f}")


if __name__ == "__main__":
    main()
