"""The scan pipeline: loaded documents -> rules and analyses -> findings, objects and a summary."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import CATEGORIES, INTERNAL_ERROR, SEVERITIES, Finding, json_pointer
from premortem.fixtures import as_delivered
from premortem.load.document import Document, JsonRef, LoadProblem, LoadResult, NodeRef, Path
from premortem.model.index import ObjectIndex
from premortem.model.limitrange import apply_limit_ranges
from premortem.model.podspec import POD_SPEC_PATHS, pod_units, replicas_of
from premortem.model.resources import resources_of
from premortem.render.rendered import RenderedDocument, object_location, relocate
from premortem.rootcause import fold_root_causes
from premortem.rules import all_rules
from premortem.rules.registry import RULES, ClusterContext, Hit, Rule
from premortem.settings import Settings, use_settings


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
    by_kind: dict[str | None, list[Document]] = {}
    for doc in documents:
        by_kind.setdefault(doc.kind, []).append(doc)
    # Pod rules see each pod template of a custom resource as its own document (model/podspec.py).
    units_by_kind = {kind: [u for d in docs for u in pod_units(d)] for kind, docs in by_kind.items()}

    for rule in active:
        if rule.scope != "object":
            continue
        targets: Iterable[Document]
        if rule.kinds is None:
            targets = documents
        else:
            source = units_by_kind if rule.kinds & POD_SPEC_PATHS.keys() else by_kind
            # In document order: rule.kinds is a set, whose order changes with PYTHONHASHSEED.
            targets = [d for kind, docs in source.items() if kind in rule.kinds for d in docs]
        for doc in targets:
            try:
                hits = list(rule.check(doc))
            except Exception as exc:  # a rule must never take the scan down with it
                if os.environ.get("PREMORTEM_STRICT"):
                    raise
                findings.append(failure_finding(rule, doc, exc))
                continue
            for hit in hits:
                findings.append(_finding(rule, hit.doc or doc, hit, pending))

    cluster_rules = [r for r in active if r.scope == "cluster"]
    if cluster_rules:
        context = ClusterContext(ObjectIndex.build(documents), dict(options or {}))
        for rule in cluster_rules:
            hits, failures = _cluster_hits(rule, context, documents)
            findings.extend(failures)
            for hit in hits:
                if hit.doc is None:
                    raise ValueError(f"cluster rule {rule.id} returned a hit without a document")
                findings.append(_finding(rule, hit.doc, hit, pending))

    findings = fold_root_causes(findings, active)
    _fill_lines(pending)
    findings.sort(key=Finding.sort_key)
    objects = [object_summary(doc) for doc in documents]
    return ScanResult(findings, objects, summarize(findings, loaded), documents)


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
    finding = _finding(rule, doc, hit, None)
    finding.line = doc.line_of(hit.path)
    relocate(finding, doc, hit.path)
    return finding


def _finding(
    rule: Rule,
    doc: Document,
    hit: Hit,
    pending: dict[int, tuple[Document, list[tuple[Finding, Path]]]] | None,
) -> Finding:
    """The finding of ``hit``; its line is left to ``_fill_lines`` when ``pending`` is given."""
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
    if pending is not None and (hit.path or isinstance(doc, RenderedDocument)):
        # A rendered document's findings all wait: they move to their template or origin file once
        # every rule has run (rules and root-cause folding see the rendered stream, as from a pipe).
        pending.setdefault(id(doc), (doc, []))[1].append((finding, hit.path))
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
