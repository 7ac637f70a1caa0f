"""Files of a kustomize tree named one by one (what a pre-commit hook passes: the files that changed)
are checked as the cluster receives them, through the builds of their repository that use them:

- a resource, patch or generator input that kustomizations consume: every top-level kustomization
  (included by none, not a component) whose build reads it, directly or through its bases;
- a ``kustomization.yaml`` named as a file: its own build when it is top-level, else the top-level
  builds that include it (a base is never deployed alone, a component cannot be built alone);
- a file in or below a kustomization's directory that no build uses (a patch left out of
  ``patches:``): not what the cluster receives, listed in the summary's skipped documents, as when
  its directory is walked.

Only a file with a kustomization in its directory or one above it makes premortem walk its
repository (the directory holding ``.git``, else the current directory when the file is below it) for
kustomizations: plain repositories pay nothing. A directory named on the command line stays what it
is (``premortem scan base`` builds the base, as ``kubectl kustomize base`` does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from premortem.load.reader import SKIPPED_DIRS
from premortem.render.discover import (
    KUSTOMIZATION_FILES,
    InputPlan,
    RenderUnit,
    is_chart,
    kustomization_file,
    kustomization_uses,
)


@dataclass
class _Tree:
    """The kustomizations of one repository (normalised absolute paths): what each consumes, which
    include which, and which are built on their own."""

    directories: set[str] = field(default_factory=set)
    consumers: dict[str, set[str]] = field(default_factory=dict)  # file -> kustomizations reading it
    includers: dict[str, set[str]] = field(default_factory=dict)  # kustomization -> those including it
    top: set[str] = field(default_factory=set)

    def builds_from(self, starts: Iterable[str]) -> list[str]:
        """The top-level kustomizations that are, or include (transitively), one of ``starts``."""
        found: set[str] = set()
        seen: set[str] = set()
        todo = list(starts)
        while todo:
            directory = todo.pop()
            if directory in seen:
                continue
            seen.add(directory)
            if directory in self.top:
                found.add(directory)
            todo.extend(self.includers.get(directory, ()))
        return sorted(found)

    def owner(self, file: str) -> str | None:
        """The kustomization directory ``file`` lies in or below, if any."""
        directory = os.path.dirname(file)
        while directory not in self.directories:
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent
        return directory


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _in_kustomize_tree(directory: str, known: dict[str, bool]) -> bool:
    """Whether ``directory`` or one above it (up to its repository) holds a kustomization."""
    if directory not in known:
        parent = os.path.dirname(directory)
        if kustomization_file(directory):
            known[directory] = True
        elif os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            known[directory] = False
        else:
            known[directory] = _in_kustomize_tree(parent, known)
    return known[directory]


def _root(file: str) -> str:
    """The repository of ``file`` (normalised): the nearest directory above holding ``.git``, else
    the current directory when ``file`` is below it, else the file's own directory."""
    directory = os.path.dirname(file)
    while not os.path.exists(os.path.join(directory, ".git")):
        parent = os.path.dirname(directory)
        if parent == directory:
            here = os.getcwd()
            return here if file.startswith(os.path.join(here, "")) else os.path.dirname(file)
        directory = parent
    return directory


def _tree(root: str) -> _Tree:
    tree = _Tree()
    for dirpath, dirnames, _ in os.walk(root):
        if is_chart(dirpath):
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        if kustomization_file(dirpath):
            tree.directories.add(_norm(dirpath))
    components: set[str] = set()
    for directory in tree.directories:
        uses = kustomization_uses(directory)
        if uses.is_component:
            components.add(directory)
        for file in uses.files:
            tree.consumers.setdefault(file, set()).add(directory)
        for used in uses.directories:
            tree.includers.setdefault(used, set()).add(directory)
    tree.top = {d for d in tree.directories if d not in tree.includers and d not in components}
    return tree


def builds_for_named_files(plan: InputPlan, targets: list[str]) -> None:
    """Rewrite ``plan`` (from ``plan_inputs(targets)``) so that the files of kustomize trees named in
    ``targets`` are checked through their builds (module docstring). Paths are spelled as the file
    was: absolute, or relative to the current directory."""
    trees: dict[str, _Tree] = {}
    known: dict[str, bool] = {}

    def tree_of(file: str) -> _Tree:
        root = _root(file)
        if root not in trees:
            trees[root] = _tree(root)
        return trees[root]

    def spelled(directory: str, like: str) -> str:
        return directory if os.path.isabs(like) else os.path.relpath(directory)

    units = {_norm(u.path): u for u in plan.units}
    named_directories = {_norm(t) for t in targets if os.path.isdir(t)}
    for target in targets:
        if not os.path.isfile(target) or os.path.basename(target) not in KUSTOMIZATION_FILES:
            continue
        directory = os.path.dirname(_norm(target))
        builds = tree_of(_norm(target)).builds_from([directory])
        if builds and directory not in builds and directory not in named_directories:
            units.pop(directory, None)
            for build in builds:
                units.setdefault(build, RenderUnit("kustomize", spelled(build, target), named=True))

    # Only files named themselves: a directory walked keeps its plain files (`scan k8s/` below a
    # repository-wide kustomization scans k8s/, not that whole build).
    named_files = {t for t in targets if os.path.isfile(t)}
    kept: list[str] = []
    for path in plan.files:
        file = _norm(path)
        if path not in named_files or not _in_kustomize_tree(os.path.dirname(file), known):
            kept.append(path)
            continue
        tree = tree_of(file)
        builds = tree.builds_from(tree.consumers.get(file, ()))
        owner = tree.owner(file)
        if builds:
            plan.consumed.append(path)
            for build in builds:
                units.setdefault(build, RenderUnit("kustomize", spelled(build, path), named=True))
        elif owner is not None and file not in tree.consumers:
            plan.unused.append((path, spelled(owner, path)))
        else:
            kept.append(path)
    plan.files = kept
    plan.units = list(units.values())
