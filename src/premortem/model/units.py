"""Input units: which of the documents read are deployed together.

premortem is often given many unrelated things at once (a monorepo of examples, a corpus, a chart
rendered beside a kustomize tree). Cross-object reasoning (a webhook's backend, the LimitRange of a
namespace, a PDB's pods) must not pair objects that will never meet in one cluster, so it only pairs
objects of the same **input unit**:

- the same file (a rendered chart, a ``kubectl get -o yaml`` dump, a kustomize build output are one
  file each, or one stream on stdin), or
- files of one directory tree: the same directory, or one directory inside the other
  (``deploy/webhook.yaml`` and ``deploy/base/deployment.yaml``), which is how a project lays out
  the manifests it applies together (``kubectl apply -R -f deploy/``).

Two sibling directories (``provider/aws`` and ``provider/kind``, or two repositories side by side)
are different units: they are alternatives or different projects, not one deployment. Within a
unit, objects are also matched by namespace as the API server would (objects without a namespace
go together, wherever ``kubectl apply -n`` puts them).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable


def same_unit(a: str, b: str) -> bool:
    """True when files ``a`` and ``b`` belong to one input unit (see the module documentation)."""
    if a == b:
        return True
    da, db = os.path.dirname(a), os.path.dirname(b)
    if da == db:
        return True
    return da.startswith(db + os.sep) or db.startswith(da + os.sep) or not da or not db


def proximity(a: str, b: str) -> int:
    """0 same file, 1 same directory, 2 one directory inside the other, 3 another unit."""
    if a == b:
        return 0
    if os.path.dirname(a) == os.path.dirname(b):
        return 1
    return 2 if same_unit(a, b) else 3


class UnitMembers:
    """Answers "does the input unit of this file hold any of these files?" without pairing every file
    with every other: the members' directories, sorted, are searched for an ancestor, the same
    directory or a descendant of the asking file's directory."""

    def __init__(self, files: Iterable[str]) -> None:
        self._dirs = sorted({os.path.dirname(f) for f in files})
        self._set = set(self._dirs)

    def any_in_unit_of(self, file: str) -> bool:
        if not self._dirs:
            return False
        directory = os.path.dirname(file)
        if "" in self._set or not directory:
            return True
        probe = directory
        while probe:
            if probe in self._set:
                return True
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        i = bisect.bisect_left(self._dirs, directory + os.sep)
        return i < len(self._dirs) and self._dirs[i].startswith(directory + os.sep)
