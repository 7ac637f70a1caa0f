"""The scan pipeline: loaded documents -> rules and analyses -> findings, objects and a summary."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import CATEGORIES, SEVERITIES, Finding, json_pointer
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
            targets = [d for kind in rule.kinds for d in source.get(kind, ())]
        for doc in targets:
            for hit in _run(rule, doc):
                findings.append(_finding(rule, hit.doc or doc, hit, pending))

    cluster_rules = [r for r in active if r.scope == "cluster"]
    if cluster_rules:
        context = ClusterContext(ObjectIndex.build(documents), dict(options or {}))
        for rule in cluster_rules:
            for hit in _run(rule, context):
                if hit.doc is None:
                    raise ValueError(f"cluster rule {rule.id} returned a hit without a document")
                findings.append(_finding(rule, hit.doc, hit, pending))

    findings = fold_root_causes(findings, active)
    _fill_lines(pending)
    findings.sort(key=Finding.sort_key)
    objects = [object_summary(doc) for doc in documents]
    return ScanResult(findings, objects, summarize(findings, loaded), documents)


def _run(rule: Rule, arg: Any) -> list[Hit]:
    try:
        return list(rule.check(arg))
    except Exception as exc:  # a rule must never take the scan down with it
        if os.environ.get("PREMORTEM_STRICT"):
            raise
        doc = arg if isinstance(arg, Document) else None
        return (
            [
                Hit(
                    message=f"internal error in rule {rule.id} ({type(exc).__name__}: {exc}); "
                    "this object was not fully checked by it. Please report it with the manifest.",
                    fix="Run with PREMORTEM_STRICT=1 for the traceback.",
                    severity=None,
                    doc=doc,
                )
            ]
            if doc is not None
            else []
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
