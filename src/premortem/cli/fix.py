"""``premortem fix``: rewrite manifests so that fixable findings go away, keeping every other byte."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from premortem.fix.pipeline import FileFix, FixRun

from premortem.cli.options import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    config_option,
    exclude_option,
    ignore_option,
    kubernetes_version_option,
    load_settings,
    max_input_option,
    no_config_option,
    split_commas,
    text_or_json_option,
    usage_error,
)
from premortem.redact import MASK, clean, redact

_LABELS = {"fixed": "fixed", "held": "held back", "not-fixable": "not fixable", "failed": "FAILED"}


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--write", is_flag=True, help="Apply the fixes in place (default: print a unified diff).")
@click.option(
    "--select",
    "--rule",
    "--category",
    "select",
    multiple=True,
    callback=split_commas,
    metavar="RULE,...",
    help="Fix only these rules (ids, names or categories; comma-separated or repeated). "
    "--rule and --category are aliases.",
)
@ignore_option
@exclude_option
@config_option
@no_config_option
@text_or_json_option(
    "Output format; json prints {files, outcomes, introduced, summary} with each file's diff."
)
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply fixes that trade a guarantee away (e.g. a webhook failing open).",
)
@click.option(
    "--resolve-digests",
    is_flag=True,
    help="Pin image tags to the digest the registry serves now (network access).",
)
@click.option(
    "--insecure-registry",
    "insecure",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Talk plain http to this registry (localhost and 127.0.0.1 always may).",
)
@kubernetes_version_option
@max_input_option
def fix(
    paths: tuple[str, ...],
    write: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    config_file: str | None,
    no_config: bool,
    fmt: str,
    unsafe_fixes: bool,
    resolve_digests: bool,
    insecure: tuple[str, ...],
    kubernetes_version: str | None,
    max_input_bytes: int | None,
) -> None:
    """Fix what can be fixed in manifests (files, directories, - for stdin to stdout).

    Prints a unified diff on stdout and what was fixed, held back or cannot be fixed on stderr.
    Exit codes: 0 nothing (left) to change, 1 the diff is not empty (without --write), a fix could
    not be applied, or the fixes cause a new high finding (e.g. CAP001), 2 usage errors or unreadable
    input.
    """
    from premortem.configfile.exclude import without_excluded
    from premortem.engine import select_rules
    from premortem.fix.pipeline import STDIN_NAME, fixable_rules, read_source, run_fix
    from premortem.fix.registry import FixContext, all_fixers
    from premortem.load.files import InputError
    from premortem.render.discover import plan_inputs, unfixable_note
    from premortem.report.fix_report import fix_json
    from premortem.rules import all_rules
    from premortem.rules.registry import lookup
    from premortem.settings import use_settings

    settings = load_settings(
        paths,
        {
            "select": select,
            "ignore": ignore,
            "exclude": exclude,
            "kubernetes_version": kubernetes_version,
            "max_input_bytes": max_input_bytes,
            "config_file": config_file,
            "no_config": no_config,
        },
    )
    click.get_current_context().with_resource(use_settings(settings))
    targets = list(paths) or ["."]
    stdin_mode = "-" in targets
    if stdin_mode and len(targets) > 1:
        usage_error("'-' (stdin) cannot be combined with other paths")
    if stdin_mode and write:
        usage_error("--write has no meaning with '-': the fixed YAML is written to stdout")

    all_rules()
    fixers = all_fixers()
    for key in select:  # names given on the command line must have a fixer (the config's may not)
        rule = lookup(key)
        if rule is not None and rule.id not in fixers:
            usage_error(f"{rule.id} has no fixer; fixable rules: {', '.join(sorted(fixers))}")
    selected = select_rules(fixable_rules(), settings.select, settings.ignore)

    plan = plan_inputs(targets)
    files, missing = plan.files, plan.missing
    for path in missing:
        click.echo(f"premortem: error: {path}: no such file or directory", err=True)
    if missing:
        raise SystemExit(EXIT_USAGE)
    files, _ = without_excluded(files, settings)
    units = [u for u in plan.units if without_excluded([u.path], settings)[0]]
    for unit in units:  # charts and kustomizations: not edited (docs/render.md says why)
        click.echo(f"premortem: not fixed: {unfixable_note(unit)}", err=True)
    if plan.unused:
        click.echo(
            f"premortem: not fixed: {len(plan.unused)} file(s) under kustomizations that no build uses "
            f"(e.g. {plan.unused[0][0]}); name a file to fix it anyway",
            err=True,
        )
    if not files and units:
        raise SystemExit(EXIT_USAGE)
    if not files:
        usage_error(f"no *.yaml, *.yml or *.json files found in {', '.join(targets)} (or all are excluded)")

    sources: dict[str, str] = {}
    unreadable = 0
    for path in files:
        name = STDIN_NAME if path == "-" else path
        try:
            sources[name] = read_source(path)
        except (OSError, UnicodeDecodeError, InputError) as exc:
            unreadable += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"premortem: error: {path}: cannot read: {reason}; not fixed", err=True)
    if not sources:
        raise SystemExit(EXIT_USAGE)

    ctx = FixContext(unsafe=unsafe_fixes, resolve_digests=resolve_digests)
    if resolve_digests:
        from premortem.fix.oci import DigestResolver

        ctx.resolver = DigestResolver(insecure=frozenset(insecure))
    run = run_fix(sources, selected, ctx)
    interrupted = False

    changed = [f for f in run.files if f.changed]
    if fmt == "json":
        interrupted = _write_all(run) if write else False
        from premortem.report.json_report import write_json

        write_json(fix_json(run, written=write, diff=_diff))
    elif stdin_mode:
        sys.stdout.write(run.files[0].fixed)
        sys.stdout.flush()
    elif write:
        interrupted = _write_all(run)
        changed = [f for f in run.files if f.changed]
    else:
        masked = 0
        for file_fix in changed:
            lines = _diff(file_fix.name, file_fix.original, file_fix.fixed)
            safe = [redact(line) for line in lines]
            masked += sum(1 for a, b in zip(lines, safe, strict=True) if a != b)
            sys.stdout.writelines(safe)
        sys.stdout.flush()
        if masked:
            click.echo(
                f"premortem: {masked} diff line(s) carry credentials and were printed masked ({MASK}); "
                "such a diff does not apply as is: use --write to apply the fixes",
                err=True,
            )

    if fmt != "json":
        _report(run, write or stdin_mode)
    from premortem.findings import Severity

    failed = any(o.status == "failed" for o in run.outcomes) or unreadable or run.problems
    failed = failed or any(f.severity >= Severity.HIGH for f in run.introduced)
    if write and interrupted:
        raise SystemExit(130)
    if failed or (changed and not write and (not stdin_mode or fmt == "json")):
        raise SystemExit(EXIT_FINDINGS)
    raise SystemExit(EXIT_OK)


def _write_all(run: FixRun) -> bool:
    """Write every changed file (fix/write.py: atomic, checked, nothing lost). A file that cannot be
    written keeps its text and its fixes are reported FAILED with the reason; on an interrupt the
    files not reached are named. Returns whether the run was interrupted."""
    from premortem.fix.write import write_fixed

    pending = [f for f in run.files if f.changed]
    done = 0
    try:
        for file_fix in pending:
            outcome = write_fixed(file_fix.name, file_fix.original, file_fix.fixed)
            done += 1
            if not outcome.written:
                _not_written(file_fix, f"not written: {outcome.message}")
    except KeyboardInterrupt:
        for file_fix in pending[done:]:
            _not_written(file_fix, "not written: interrupted before this file was reached")
        return True
    return False


def _not_written(file_fix: FileFix, reason: str) -> None:
    file_fix.error = reason
    file_fix.fixed = file_fix.original
    for outcome in file_fix.outcomes:
        if outcome.status == "fixed":
            outcome.status = "failed"
            outcome.message = f"{reason} (the fix would have: {outcome.message})"


def _diff(name: str, before: str, after: str) -> list[str]:
    from premortem.fix.diff import unified_diff

    lines = list(
        unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=name if os.path.isabs(name) else f"a/{name}",
            tofile=name if os.path.isabs(name) else f"b/{name}",
        )
    )
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return out


def _report(run: FixRun, written: bool) -> None:
    outcomes = list(run.outcomes)
    outcomes.sort(key=lambda o: (o.finding.file or "", o.finding.line or 0, o.finding.rule))
    err = sys.stderr
    for o in outcomes:
        f = o.finding
        where = f"{f.file}:{f.line}"
        subject = f.object.display() if f.object else ""
        if f.container:
            subject += f" (container {f.container})"
        label = _LABELS[o.status] if written or o.status != "fixed" else "fixable"
        err.write(f"{label:<12}{f.rule}  {clean(where)}  {subject}\n")
        err.write(f"            {clean(o.message)}\n")
    for file_fix in run.files:
        if file_fix.error and not file_fix.outcomes:
            err.write(f"FAILED      {clean(file_fix.name)}: {clean(file_fix.error)}\n")
    for f in run.problems:
        subject = f.object.display() if f.object else ""
        err.write(f"{'INPUT':<12}{f.rule}  {clean(f.file or '')}:{f.line}  {subject}\n")
        err.write(f"            {f.message}\n")
    for f in run.introduced:
        subject = f.object.display() if f.object else ""
        err.write(f"{'NEW':<12}{f.rule}  {f.file}:{f.line}  {subject}\n")
        err.write(f"            after these fixes: {f.message}\n")
    if not run.settled:
        err.write(
            "warning: the fixes had not settled after several scan-fix rounds; run `premortem fix` again "
            "and please report it with the manifest.\n"
        )
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in _LABELS}
    verb = "applied" if written else "to apply (use --write)"
    parts = [f"{counts['fixed']} fix(es) {verb}"]
    if counts["held"]:
        parts.append(f"{counts['held']} held back (need --unsafe-fixes)")
    if counts["not-fixable"]:
        parts.append(f"{counts['not-fixable']} not fixable in YAML")
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if run.problems:
        parts.append(f"{len(run.problems)} input problem(s) (INPUT above)")
    if run.introduced:
        parts.append(f"{len(run.introduced)} new finding(s) caused by the fixes (NEW above)")
    files = sum(1 for f in run.files if f.changed)
    err.write(f"{', '.join(parts)}; {files} file(s) {'changed' if written else 'would change'}.\n")
