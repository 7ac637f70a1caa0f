"""Bounds on hostile input: alias bombs, recursive aliases, duplicate keys, oversized and odd files.

**Aliases.** A YAML alias (``*a``) repeats the node its anchor (``&a``) names. Nine anchors of nine
aliases each describe 9**9 values in a few hundred bytes ("billion laughs"); the loader keeps them
shared, but anything that walks the object (a rule, a message, a fix) would walk every copy. The
Kubernetes toolchain refuses such documents: Go's YAML decoder (gopkg.in/yaml.v3 decode.go, the one
kubectl and the API server use through sigs.k8s.io/yaml) fails with "document contains excessive
aliasing" when, while decoding, more than 100 values came from alias expansion, more than 1000 values
were decoded in all, and the share of alias-driven values exceeds an allowed ratio: 0.99 up to 400,000
decoded values, 0.10 from 4,000,000, linear in between. premortem does the same arithmetic on the
document's events (each value, key and alias counts one; an alias adds the size of what it repeats)
and refuses the same documents, as ``INP001`` at the alias that crosses the line. An alias inside the
node it names (``&a [*a]``) is refused as Go refuses it ("anchor 'a' value contains itself").

**Duplicate keys.** ``kubectl`` (1.21+, strict decoding) refuses a mapping that repeats a key
("mapping key "resources" already defined at line 12"); older clients and PyYAML-based tools keep the
last value silently, others the first. premortem reports every repeated key (``INP004``) with both
values and lines, and judges the object with the last value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from premortem.redact import shorten

# gopkg.in/yaml.v3 decode.go: alias_ratio_range_low / _high and allowedAliasRatio.
ALIAS_RATIO_RANGE_LOW = 400_000
ALIAS_RATIO_RANGE_HIGH = 4_000_000
MIN_ALIAS_COUNT = 100
MIN_DECODE_COUNT = 1000


def allowed_alias_ratio(decode_count: int) -> float:
    """The share of alias-driven values Go's decoder allows after ``decode_count`` values."""
    if decode_count <= ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decode_count >= ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    span = ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW
    return 0.99 - 0.89 * ((decode_count - ALIAS_RATIO_RANGE_LOW) / span)


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Something in one document that makes it unusable or ambiguous (becomes a LoadProblem)."""

    rule: str
    line: int  # 1-based
    message: str
    fix: str


def alias_problem(events: Any) -> InputProblem | None:
    """Go's "excessive aliasing" and "value contains itself" checks over one document's events."""
    decode_count = 1  # the document node
    alias_count = 0
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    open_frames: list[list[Any]] = []  # [anchor, size] of collections being read
    for event in events:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            decode_count += 1
            if event.anchor:
                sizes[event.anchor] = 1
            if open_frames:
                open_frames[-1][1] += 1
        elif kind in (yaml.SequenceStartEvent, yaml.MappingStartEvent):
            decode_count += 1
            open_frames.append([event.anchor, 1])
        elif kind in (yaml.SequenceEndEvent, yaml.MappingEndEvent):
            anchor, size = open_frames.pop()
            if anchor:
                sizes[anchor] = size
            if open_frames:
                open_frames[-1][1] += size
        elif kind is yaml.AliasEvent:
            name = event.anchor
            line = event.start_mark.line + 1
            if any(frame[0] == name for frame in open_frames):
                return InputProblem(
                    "INP001",
                    line,
                    f"recursive alias: *{shorten(name, 40)} is inside the node &{shorten(name, 40)} it "
                    "names, so the value would contain itself forever. kubectl and the API server refuse "
                    'it ("anchor value contains itself"); this document was not checked.',
                    "Replace the alias by the value it should repeat, without the loop.",
                )
            size = sizes.get(name, 1)
            decode_count += 1 + size
            alias_count += size
            if open_frames:
                open_frames[-1][1] += 1 + size
            if (
                alias_count > MIN_ALIAS_COUNT
                and decode_count > MIN_DECODE_COUNT
                and alias_count / decode_count > allowed_alias_ratio(decode_count)
            ):
                return InputProblem(
                    "INP001",
                    line,
                    f"excessive aliasing: at this alias (*{shorten(name, 40)}) {alias_count:,} of the "
                    f"{decode_count:,} values read so far are copies made by aliases, more than Go's YAML "
                    f"decoder allows ({allowed_alias_ratio(decode_count):.0%}); kubectl and the API server "
                    'refuse the document ("document contains excessive aliasing"), and premortem did '
                    "not expand or check it.",
                    "Write the values out instead of nesting aliases of aliases (an alias bomb).",
                )
    return None


def document_events(text: str, start: int, end: int, line: int, column: int) -> list[Any]:
    """The events of the document at ``text[start:end]``, padded so marks are those of ``text``."""
    from premortem.load.reader import event_loader

    loader = event_loader("\n" * line + " " * column + text[start:end])
    events: list[Any] = []
    try:
        while loader.check_event():
            events.append(loader.get_event())
    finally:
        loader.dispose()
    return events


def duplicate_key_problems(mappings: list[Any], line_offset: int = 0, root: Any = None) -> list[InputProblem]:
    """One INP004 per key written twice in any of ``mappings`` (composed mapping nodes); lines are
    the nodes' lines plus ``line_offset`` (a chunk recovered after a syntax error starts there).
    Values are shown unless the key names a secret or the mapping is inside a Secret of ``root``."""
    from premortem.redact import MASK, names_secret

    in_secrets = secret_mappings(root)
    problems: list[InputProblem] = []
    seen: set[int] = set()
    for mapping in mappings:
        if id(mapping) in seen:
            continue
        seen.add(id(mapping))
        entries: dict[str, list[tuple[Any, Any]]] = {}
        for key_node, value_node in mapping.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                entries.setdefault(key_node.value, []).append((key_node, value_node))
        for key, pairs in entries.items():
            if len(pairs) < 2:
                continue
            (first_key, first_value), (last_key, last_value) = pairs[0], pairs[-1]
            first_line = first_key.start_mark.line + 1 + line_offset
            last_line = last_key.start_mark.line + 1 + line_offset
            hide = id(mapping) in in_secrets or names_secret(key)
            first_shown, last_shown = (MASK, MASK) if hide else (preview(first_value), preview(last_value))
            problems.append(
                duplicate_key_problem(key, len(pairs), (first_line, first_shown), (last_line, last_shown))
            )
    return problems


# What the clients do with a key written twice in YAML (the JSON reader has its own: load/jsondupes.py).
YAML_DUPLICATE_OUTCOME = (
    'kubectl 1.21+ refuses the file ("mapping key already defined"); older kubectl, Helm and '
    "PyYAML-based tools silently keep the last value, some tools the first, so what runs depends on "
    "who applies it."
)


def duplicate_key_problem(
    key: str,
    times: int,
    first: tuple[int, str],
    last: tuple[int, str],
    container: str = "mapping",
    outcome: str = YAML_DUPLICATE_OUTCOME,
) -> InputProblem:
    """The INP004 for ``key`` written ``times`` times in one ``container``; ``first`` and ``last`` are
    the (line, shown value) of its first and last occurrence, ``outcome`` what clients do with it."""
    written = "twice" if times == 2 else f"{times} times"
    return InputProblem(
        "INP004",
        last[0],
        f"duplicate key {shorten(key, 60)!r}, written {written} in one {container}, at line "
        f"{first[0]} ({first[1]}) and line {last[0]} ({last[1]}). {outcome} premortem judged the "
        "object with the last value.",
        f"Keep one {shorten(key, 60)!r} key: merge the two values into it and delete the other.",
    )


def secret_mappings(root: Any) -> set[int]:
    """The ids of the mapping nodes inside Secrets: the document's, or its List items' (each object
    on its own, so a List read in batches gives the same answer)."""
    if isinstance(root, yaml.SequenceNode):  # a batch of a List's items (load/split.py)
        objects = list(root.value)
    elif isinstance(root, yaml.MappingNode):
        objects = [root]
        for key_node, value_node in root.value:
            if key_node.value == "items" and isinstance(value_node, yaml.SequenceNode):
                objects.extend(value_node.value)
    else:
        return set()
    found: set[int] = set()
    for node in objects:
        if isinstance(node, yaml.MappingNode) and any(
            k.value == "kind" and isinstance(v, yaml.ScalarNode) and v.value == "Secret"
            for k, v in node.value
        ):
            stack = [node]
            while stack:
                inner = stack.pop()
                if isinstance(inner, yaml.MappingNode) and id(inner) not in found:
                    found.add(id(inner))
                    stack.extend(v for _, v in inner.value)
                elif isinstance(inner, yaml.SequenceNode):
                    stack.extend(inner.value)
    return found


def duplicate_mappings(root: Any) -> list[Any]:
    """Every mapping node reachable from ``root`` that repeats a key (each node visited once)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value != "<<"]
            if len(keys) != len(set(keys)):
                found.append(node)
            for key_node, value_node in node.value:
                stack.append(key_node)
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return found


def preview(node: Any, limit: int = 60) -> str:
    """A short rendering of a composed node (``{limits: {memory: 1Gi}}``), never longer than ``limit``."""
    parts: list[str] = []
    budget = [limit + 1]

    def emit(text: str) -> bool:
        parts.append(text)
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(item: Any, depth: int) -> bool:
        if isinstance(item, yaml.ScalarNode):
            return emit(item.value[: budget[0]] if item.value else "''")
        if depth > 8:
            return emit("…")
        if isinstance(item, yaml.MappingNode):
            if not emit("{"):
                return False
            for i, (key_node, value_node) in enumerate(item.value):
                if (i and not emit(", ")) or not walk(key_node, depth + 1) or not emit(": "):
                    return False
                if not walk(value_node, depth + 1):
                    return False
            return emit("}")
        if isinstance(item, yaml.SequenceNode):
            if not emit("["):
                return False
            for i, sub in enumerate(item.value):
                if (i and not emit(", ")) or not walk(sub, depth + 1):
                    return False
            return emit("]")
        return emit("?")

    walk(node, 0)
    text = "".join(parts)
    return text if len(text) <= limit else text[:limit] + "…"


class AliasingError(yaml.MarkedYAMLError):
    """A YAML text Go's decoder refuses for its aliasing (a ``yaml.YAMLError``: callers that already
    report YAML errors report this one the same way, with its line)."""

    def __init__(self, problem: InputProblem) -> None:
        mark = yaml.Mark("<input>", 0, problem.line - 1, 0, None, 0)
        super().__init__(problem=problem.message, problem_mark=mark)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` for the small YAML files premortem reads besides manifests (its config file,
    a ``--nodes`` inventory, Chart.yaml, kustomizations, patches), bounded like the manifests: excessive
    or recursive aliasing raises ``AliasingError`` instead of building a value that expands without end
    when walked. Texts without anchors pay one substring test."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if "&" in text and "*" in text:
        problem = alias_problem(yaml.parse(text, Loader=loader_class))
        if problem is not None:
            raise AliasingError(problem)
    return yaml.load(text, Loader=loader_class)
