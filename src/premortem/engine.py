"""The scan pipeline: loaded documents -> rules and analyses -> findings, objects and a summary."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import CATEGORIES, INTERNAL_ERROR, SEVERITIES, Finding, json_pointer, sort_findings
from premortem.fixtures import as_delivered
from premortem.fork import in_two_processes, worth_splitting
from premortem.load.document import Document, JsonRef, LoadProblem, LoadResult, NodeRef, Path
from premortem.load.lines import line_of as table_line_of
from premortem.model.index import ObjectIndex
from premortem.model.limitrange import apply_limit_ranges
from premortem.model.podspec import POD_SPEC_PATHS, pod_units, replicas_of
from premortem.model.resources import resources_of
from premortem.render.rendered import RenderedDocument, object_location, relocate
from premortem.rootcause import fold_root_causes
from premortem.rules import all_rules
from premortem.rules.registry import RULES, ClusterContext, Hit, Rule
from premortem.settings import Settings, use_settings
from premortem.settings import current as current_settings


@dataclass
class ScanResult:
    findings: list[Finding]
    objects: list[dict[str, Any]]
    summary: dict[str, Any]
    documents: list[Document] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [f.to_json() for f in self.findings],
            "objects": self.objects,
            "summary": self.summary,
        }


def select_rules(rules: Iterable[Rule], select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Keep rules whose id, name or category is in ``select`` (all when empty), minus ``ignore``."""
    wanted = {s.upper() for s in select}
    unwanted = {s.upper() for s in ignore}

    def keys(rule: Rule) -> set[str]:
        return {rule.id.upper(), rule.name.upper(), rule.category.upper()}

    return [r for r in rules if (not wanted or keys(r) & wanted) and not keys(r) & unwanted]


def scan(
    loaded: LoadResult,
    rules: Iterable[Rule] | None = None,
    options: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> ScanResult:
    """Run ``rules`` (default: all) over ``loaded``. With ``settings``, rules read their parameters
    from them; without, from the settings already in use (``premortem.settings.use_settings``)."""
    if settings is None:
        return _scan(loaded, rules, options)
    with use_settings(settings):
        return _scan(loaded, rules, options)


def _scan(
    loaded: LoadResult,
    rules: Iterable[Rule] | None,
    options: dict[str, Any] | None,
) -> ScanResult:
    active = list(rules) if rules is not None else all_rules()
    documents = loaded.documents
    apply_limit_ranges(documents)
    findings: list[Finding] = [problem_finding(p) for p in loaded.problems]
    active_ids = {r.id for r in active}
    findings = [f for f in findings if f.rule in active_ids or f.rule not in RULES]

    # Findings wait for their lines until every rule has run: then each document's YAML nodes are
    # composed once for all its findings and let go (see _fill_lines).
    pending: dict[int, tuple[Document, list[tuple[Finding, Path]]]] = {}
    work = _work(active, documents, options)
    if worth_splitting(len(documents), current_settings().jobs):
        # Two processes share out the items (each cluster rule, slices of the objects); the findings
        # are put back in the order one process makes them, so the report is the same byte for byte.
        # The cluster rules read every object: they stay here, so that the child, which judges
        # slices of the objects, copies only the memory of the objects it reads.
        if work.context is not None:
            _build_lookups(work)
        done = in_two_processes(
            work.items(_SLICES),
            lambda item: _judge(work, item, _SLICES),
            work.shared(),
            parent_only=len(work.whole),
        )
    else:
        done = [_judge(work, item, 1) for item in range(work.items(1))]
    events = _redo_failed_slices(work, [e for events, _ in done for e in events])
    made = [made for _, made in sorted(events, key=lambda e: e[0])]
    objects = [summary for _, summaries in done for summary in summaries]
    for batch in made:
        for finding, doc, path in batch:
            findings.append(finding)
            if doc is not None:
                pending.setdefault(id(doc), (doc, []))[1].append((finding, path))

    findings = fold_root_causes(findings, active)
    _fill_lines(pending)
    sort_findings(findings)
    return ScanResult(findings, objects, summarize(findings, loaded), documents)


@dataclass
class _Work:
    """What the rules of one scan judge: each object rule with its targets, and the cluster rules."""

    documents: list[Document]
    units: list[Document]  # what pod rules see: the documents, a custom resource's pod templates
    object_rules: list[tuple[Rule, list[Document]]]
    cluster_rules: list[Rule]
    context: ClusterContext | None
    # Positions in cluster_rules: rules judged whole, each an item of its own (in this process when
    # split: they read every object), and ``per_workload`` rules, judged slice by slice.
    whole: list[int] = field(default_factory=list)
    sliced: list[int] = field(default_factory=list)

    def shared(self) -> list[object]:
        """Everything a finding may point at that exists before the rules run (every object rule's
        targets are among these: listing the targets rule by rule repeats each object per rule), and
        their refs (every finding names its object: sent as a reference, not as four strings)."""
        return [*self.documents, *self.units, *(doc.ref for doc in self.documents)]

    def items(self, slices: int) -> int:
        """How many items ``_judge`` takes: each whole cluster rule, then ``slices`` slices of the
        objects (object rules and per-workload cluster rules)."""
        return len(self.whole) + slices


def _work(active: list[Rule], documents: list[Document], options: dict[str, Any] | None) -> _Work:
    by_kind: dict[str | None, list[Document]] = {}
    for doc in documents:
        by_kind.setdefault(doc.kind, []).append(doc)
    # Pod rules see each pod template of a custom resource as its own document (model/podspec.py).
    units_by_kind = {kind: [u for d in docs for u in pod_units(d)] for kind, docs in by_kind.items()}
    object_rules: list[tuple[Rule, list[Document]]] = []
    by_kinds: dict[frozenset[str], list[Document]] = {}  # rules of the same kinds share one list
    for rule in active:
        if rule.scope != "object":
            continue
        if rule.kinds is None:
            targets = documents
        elif (found := by_kinds.get(rule.kinds)) is not None:
            targets = found
        else:
            source = units_by_kind if rule.kinds & POD_SPEC_PATHS.keys() else by_kind
            # Kinds in the order they first appear (rule.kinds is a set: its order changes with
            # PYTHONHASHSEED), each kind's objects in document order.
            targets = by_kinds[rule.kinds] = [
                d for kind, docs in source.items() if kind in rule.kinds for d in docs
            ]
        object_rules.append((rule, targets))
    cluster_rules = [r for r in active if r.scope == "cluster"]
    context = ClusterContext(ObjectIndex.build(documents), dict(options or {})) if cluster_rules else None
    units = [unit for kind_units in units_by_kind.values() for unit in kind_units]
    whole = [number for number, rule in enumerate(cluster_rules) if not rule.per_workload]
    sliced = [number for number, rule in enumerate(cluster_rules) if rule.per_workload]
    return _Work(documents, units, object_rules, cluster_rules, context, whole, sliced)


# What judging makes, in the order one process makes it: (key, [(finding, document whose line it
# waits for or None, path)]), keys ascending.
_Made = list[tuple[Finding, Document | None, Path]]
_Events = list[tuple[tuple[int, int, int], _Made | None]]  # None: a slice of a cluster rule raised


def _judge(work: _Work, item: int, slices: int) -> tuple[_Events, list[dict[str, Any]]]:
    """What item ``item`` makes: one cluster rule's findings, or every object rule's findings on one
    slice (of ``slices``) of its targets, with the summaries of that slice of the objects."""
    events: _Events = []
    edges: dict[int, int] = {}  # load/lines.py's memo of edge counts, for the findings of this item
    if item < len(work.whole):
        number = work.whole[item]
        return [_whole_cluster_rule(work, number, edges)], []
    part = item - len(work.whole)
    for number, (rule, targets) in enumerate(work.object_rules):
        start, end = _slice(len(targets), part, slices)
        for position in range(start, end):
            doc = targets[position]
            try:
                hits = list(rule.check(doc))
            except Exception as exc:  # a rule must never take the scan down with it
                if os.environ.get("PREMORTEM_STRICT"):
                    raise
                events.append(((0, number, position), [(failure_finding(rule, doc, exc), None, ())]))
                continue
            if hits:
                events.append(
                    ((0, number, position), [_made(rule, hit.doc or doc, hit, edges) for hit in hits])
                )
    for number in work.sliced:
        rule = work.cluster_rules[number]
        if work.context is None:  # pragma: no cover - built whenever there are cluster rules
            break
        context = ClusterContext(work.context.index, work.context.options, part=(part, slices))
        try:
            hits = list(rule.check(context))
        except Exception:
            if os.environ.get("PREMORTEM_STRICT"):
                raise
            events.append(((1, number, part), None))  # judged whole afterwards (_redo_failed_slices)
            continue
        events.append(((1, number, part), [_cluster_made(rule, hit, edges) for hit in hits]))
    start, end = _slice(len(work.documents), part, slices)
    return events, [object_summary(doc) for doc in work.documents[start:end]]


def _build_lookups(work: _Work) -> None:
    """Build what the per-workload cluster rules look up in the index (``per_index``) before
    the work is shared out: both processes then read one copy, instead of each building its own."""
    assert work.context is not None
    index = work.context.index
    index.workload_list()
    for number in work.sliced:
        for lookup in work.cluster_rules[number].lookups:
            lookup(index)


def _whole_cluster_rule(
    work: _Work, number: int, edges: dict[int, int]
) -> tuple[tuple[int, int, int], _Made]:
    """The findings of cluster rule ``number`` judged over every object, fault-isolated."""
    rule = work.cluster_rules[number]
    assert work.context is not None  # built whenever there are cluster rules
    cluster_hits, failures = _cluster_hits(rule, work.context, work.documents)
    made: _Made = [(failure, None, ()) for failure in failures]
    made += [_cluster_made(rule, hit, edges) for hit in cluster_hits]
    return (1, number, 0), made


def _cluster_made(rule: Rule, hit: Hit, edges: dict[int, int]) -> tuple[Finding, Document | None, Path]:
    if hit.doc is None:
        raise ValueError(f"cluster rule {rule.id} returned a hit without a document")
    return _made(rule, hit.doc, hit, edges)


def _redo_failed_slices(work: _Work, events: _Events) -> list[tuple[tuple[int, int, int], _Made]]:
    """``events`` with every per-workload cluster rule that raised in a slice (its events None)
    judged again whole, with the fault isolation of _cluster_hits: a failure reads the same
    however the work was shared out."""
    failed = {key[1] for key, made in events if made is None}
    kept = [
        (key, made) for key, made in events if made is not None and not (key[0] == 1 and key[1] in failed)
    ]
    edges: dict[int, int] = {}
    return kept + [_whole_cluster_rule(work, number, edges) for number in sorted(failed)]


def _slice(count: int, part: int, parts: int) -> tuple[int, int]:
    """The bounds of slice ``part`` of ``parts`` nearly equal slices of ``count`` things, in order."""
    return count * part // parts, count * (part + 1) // parts


def _made(
    rule: Rule, doc: Document, hit: Hit, edges: dict[int, int]
) -> tuple[Finding, Document | None, Path]:
    """The finding of ``hit``, with the document it waits on for its line (or None); ``edges`` is
    the memo of edge counts shared by the findings of one item (emptied when it grows big)."""
    finding = _new_finding(rule, doc, hit)
    # A rendered document's findings all wait: they move to their template or origin file once
    # every rule has run (rules and root-cause folding see the rendered stream, as from a pipe).
    if isinstance(doc, RenderedDocument):
        return finding, doc, hit.path
    if not hit.path:
        return finding, None, hit.path
    node = doc.node
    if type(node) is NodeRef and node.table is not None:
        # The line recorded while reading, found here (in whichever process made the finding);
        # only a document that kept no table waits, to be composed once for all its findings.
        if len(edges) > _EDGES_MEMO_MAX:
            edges.clear()
        line = table_line_of(node.table, doc.obj, hit.path, doc.line, edges)
        if line is not None:
            finding.line = line
            return finding, None, hit.path
    return finding, doc, hit.path


# Slices of the objects that two processes share out (with every cluster rule as an item of its own):
# enough that the last ones to finish are small, few enough that each is worth sending.
_SLICES = 48
# Entries of an item's memo of edge counts before it is emptied (each some 100 bytes).
_EDGES_MEMO_MAX = 200_000


# A cluster rule that fails is re-run without the object that makes it fail, at most this many times.
MAX_FAILING_OBJECTS = 20


def _cluster_hits(
    rule: Rule, context: ClusterContext, documents: list[Document]
) -> tuple[list[Hit], list[Finding]]:
    """The hits of a cluster rule, fault-isolated per object: when the rule raises, the first object
    that makes it raise is found (bisection over the documents in order: the shortest prefix that
    fails ends with it), reported, and the rule runs again over the others. One malformed PDB or
    webhook costs its own finding, never the findings about every other object."""
    try:
        return list(rule.check(context)), []
    except Exception:
        if os.environ.get("PREMORTEM_STRICT"):
            raise
    failures: list[Finding] = []
    remaining = list(documents)
    for _ in range(MAX_FAILING_OBJECTS):
        culprit = _first_failing(rule, remaining, context.options)
        if culprit is None:
            break
        doc, exc = culprit
        failures.append(failure_finding(rule, doc, exc, cluster=True))
        remaining.remove(doc)
        try:
            return list(rule.check(ClusterContext(ObjectIndex.build(remaining), context.options))), failures
        except Exception:  # another object makes it fail too
            continue
    failures.append(failure_finding(rule, None, None, cluster=True))
    return [], failures


def _first_failing(
    rule: Rule, documents: list[Document], options: dict[str, Any]
) -> tuple[Document, BaseException] | None:
    def fails(count: int) -> BaseException | None:
        try:
            list(rule.check(ClusterContext(ObjectIndex.build(documents[:count]), options)))
        except Exception as exc:
            return exc
        return None

    if fails(0) is not None:
        return None  # the rule fails with no object at all
    low, high = 0, len(documents)  # fails(low) is None, fails(high) raises
    while high - low > 1:
        middle = (low + high) // 2
        if fails(middle) is None:
            low = middle
        else:
            high = middle
    exc = fails(high)
    return (documents[high - 1], exc) if exc is not None else None


def failure_finding(
    rule: Rule, doc: Document | None, exc: BaseException | None, cluster: bool = False
) -> Finding:
    """A rule failed on ``doc``: a malformed field (a typed model error) is an input finding on the
    object; anything else an internal-error finding naming the rule, the object and the file."""
    from premortem.model.selectors import SelectorError
    from premortem.redact import shorten

    others = " The rule judged every other object without this one." if cluster else ""
    if isinstance(exc, SelectorError) and doc is not None:
        return problem_finding(
            LoadProblem(
                file=doc.file,
                line=doc.line,
                rule="INP002",
                message=f"malformed label selector: {exc}; the API server rejects this object, so "
                f"{rule.id} could not judge it.{others}",
                fix="Write the selector as matchLabels (label: value) and matchExpressions "
                "(key, operator In/NotIn/Exists/DoesNotExist, values: a list of strings).",
                doc=doc,
            )
        )
    what = f"{type(exc).__name__}: {shorten(str(exc), 160)}" if exc is not None else "on every object"
    subject = f"on {doc.ref.display()} in {doc.file}" if doc is not None else ""
    return problem_finding(
        LoadProblem(
            file=doc.file if doc is not None else "",
            line=doc.line if doc is not None else 0,
            rule=INTERNAL_ERROR,
            message=f"rule {rule.id} ({rule.name}) failed {subject} ({what}), so this object was not "
            f"checked by it.{others} This is a premortem bug: please report it with the manifest.",
            fix="Run with PREMORTEM_STRICT=1 for the traceback; `--ignore "
            f"{rule.id}` skips the rule meanwhile.",
            doc=doc,
        )
    )


def make_finding(rule: Rule, doc: Document, hit: Hit) -> Finding:
    finding = _new_finding(rule, doc, hit)
    finding.line = doc.line_of(hit.path)
    relocate(finding, doc, hit.path)
    return finding


def _new_finding(rule: Rule, doc: Document, hit: Hit) -> Finding:
    """The finding of ``hit``; its line is the object's until ``_fill_lines`` sets the path's."""
    finding = Finding(
        rule=rule.id,
        category=rule.category,
        severity=hit.severity if hit.severity is not None else rule.severity,
        message=hit.message,
        fix=hit.fix,
        object=doc.ref,
        container=hit.container,
        file=doc.file,
        line=doc.line if not hit.path else None,
        path=json_pointer(hit.path),
        extra=hit.extra,
    )
    return as_delivered(finding, doc)


def _fill_lines(pending: dict[int, tuple[Document, list[tuple[Finding, Path]]]]) -> None:
    """Set the line of every pending finding, one document at a time: its nodes are composed once
    and released before the next, so memory holds one document's node tree, not all of them.
    Documents of one file go together, so the file is read once."""
    by_file: dict[int, list[tuple[Document, list[tuple[Finding, Path]]]]] = {}
    for doc, waiting in pending.values():
        key = id(doc.node.source) if isinstance(doc.node, NodeRef | JsonRef) else id(doc)
        by_file.setdefault(key, []).append((doc, waiting))
    for group in by_file.values():
        for doc, waiting in group:
            for finding, path in waiting:
                finding.line = doc.line_of(path)
                relocate(finding, doc, path)
            doc.release_nodes(keep_text=True)
        group[-1][0].release_nodes()


def problem_finding(problem: LoadProblem) -> Finding:
    rule = RULES.get(problem.rule)
    from premortem.findings import Severity

    return Finding(
        rule=problem.rule,
        category=rule.category if rule else "input",
        severity=rule.severity if rule else Severity.HIGH,
        message=problem.message,
        fix=problem.fix,
        object=problem.doc.ref if problem.doc else None,
        file=problem.file,
        line=problem.line,
        path="",
    )


def object_summary(doc: Document) -> dict[str, Any]:
    ref = doc.ref
    out: dict[str, Any] = {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
        "file": doc.file,
        "line": doc.line,
    }
    out.update(object_location(doc))  # a rendered object: its template or origin file
    res = resources_of(doc)
    if res is not None:
        out["qos"] = res.qos
        out["requests"] = {"cpu": res.requests.get("cpu", 0), "memory": res.requests.get("memory", 0)}
        out["limits"] = {"cpu": res.limits.get("cpu"), "memory": res.limits.get("memory")}
        replicas = replicas_of(doc)
        if replicas is not None:
            out["replicas"] = replicas
    return out


def summarize(findings: list[Finding], loaded: LoadResult) -> dict[str, Any]:
    by_severity = Counter(f.severity.label for f in findings)
    by_category = Counter(f.category for f in findings)
    return {
        "findings": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_category": {c: by_category.get(c, 0) for c in CATEGORIES},
        "files": loaded.files_read,
        "files_unreadable": loaded.files_failed,
        "objects": len(loaded.documents),
        "documents_skipped": len(loaded.skipped),
        "skipped": [{"file": f, "line": line, "reason": why} for f, line, why in loaded.skipped],
    }
