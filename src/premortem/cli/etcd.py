"""``premortem etcd``: judge etcd members from their metrics, or a disk with a WAL-like benchmark."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import click

from premortem.cli.options import exit_code, load_settings, settings_options, text_or_json_option, usage_error
from premortem.findings import CATEGORIES, SEVERITIES, Finding


@click.command()
@click.option(
    "--metrics",
    "sources",
    multiple=True,
    metavar="URL|FILE",
    help="An etcd member's /metrics (http(s) URL, file, or - for stdin); repeat once per member.",
)
@click.option(
    "--disk",
    "disk_dir",
    default=None,
    metavar="DIR",
    help="Benchmark DIR like etcd's WAL: 2300-byte writes, each followed by fdatasync.",
)
@click.option(
    "--size",
    "size_text",
    default="22m",
    show_default=True,
    metavar="SIZE",
    help="Bytes to write with --disk (k, m, g suffixes; fio's recipe uses 22m).",
)
@click.option("--cacert", default=None, metavar="FILE", help="CA bundle to verify an https member.")
@click.option(
    "--cert", default=None, metavar="FILE", help="Client certificate for https (etcd's client port)."
)
@click.option("--key", default=None, metavar="FILE", help="Key of the client certificate.")
@click.option("--insecure", is_flag=True, help="Do not verify the server certificate.")
@click.option("--timeout", default=10.0, show_default=True, metavar="SECONDS", help="Per-scrape timeout.")
@text_or_json_option("Output format; JSON is {findings, summary} as for scan.")
@settings_options
def etcd(
    sources: tuple[str, ...],
    disk_dir: str | None,
    size_text: str,
    cacert: str | None,
    cert: str | None,
    key: str | None,
    insecure: bool,
    timeout: float,
    fmt: str,
    **options: Any,
) -> None:
    """Judge etcd against its own guidance: --metrics from members, --disk for a data directory.

    \b
    premortem etcd --metrics http://127.0.0.1:2381/metrics        # kubeadm: plain http on 2381
    premortem etcd --metrics https://10.0.0.1:2379 --cacert ca.crt --cert c.crt --key c.key
    premortem etcd --disk /var/lib/etcd                           # ~22 MiB, p99 fdatasync
    """
    from premortem.etcd import verdict
    from premortem.etcd.disk import DiskError, benchmark, parse_size
    from premortem.etcd.scrape import ScrapeError, TLSOptions, scrape
    from premortem.triage import selected, triage

    settings = load_settings((), options)

    if not sources and not disk_dir:
        usage_error("nothing to judge: give --metrics URL|FILE (once per member) and/or --disk DIR")
    if key and not cert:
        usage_error("--key needs --cert")
    try:
        size = parse_size(size_text)
    except ValueError as exc:
        usage_error(str(exc))
    if timeout <= 0:
        usage_error("--timeout must be positive")

    findings: list[Finding] = []
    members: list[dict[str, Any]] = []
    tls = TLSOptions(cacert=cacert, cert=cert, key=key, insecure=insecure)
    errors: list[str] = []
    for source in sources:
        try:
            member = scrape(source, tls, timeout)
        except ScrapeError as exc:
            errors.append(str(exc))
            continue
        members.append(verdict.member_stats(member))
        findings += verdict.judge_member(member)
    if errors:
        for message in errors:
            click.echo(f"premortem: error: {message}", err=True)
        raise SystemExit(2)

    member_findings = list(findings)
    disk: dict[str, Any] | None = None
    if disk_dir:
        if fmt == "text":
            click.echo(
                f"writing {size} bytes in 2300-byte blocks to {disk_dir}, fdatasync after each...", err=True
            )
        progress = _progress if fmt == "text" and sys.stderr.isatty() else None
        try:
            result = benchmark(disk_dir, size, progress=progress)
        except DiskError as exc:
            usage_error(str(exc))
        except KeyboardInterrupt:
            click.echo("premortem: interrupted; the benchmark file was removed", err=True)
            raise SystemExit(130) from None
        finally:
            if progress is not None:
                click.echo("\r\033[K", nl=False, err=True)
        disk = result.to_json()
        disk_findings = verdict.judge_disk(result)
        disk["verdict"] = "slow" if any(f.rule == "ETM010" for f in disk_findings) else "fast"
        findings += disk_findings

    member_verdict = verdict.verdict(member_findings)
    findings = triage(selected(findings, settings), settings).findings
    summary = _summary(findings, members, disk, member_verdict)
    if fmt == "json":
        from premortem.report.json_report import write_json

        write_json({"findings": [f.to_json() for f in findings], "summary": summary})
    else:
        _render_text(findings, members, disk, summary)
    sys.exit(exit_code(findings, settings.fail_on))


def _progress(written: int, size: int) -> None:
    click.echo(f"\r  {written / 1024**2:.1f} of {size / 1024**2:.1f} MiB", nl=False, err=True)


def _summary(
    findings: list[Finding], members: list[dict[str, Any]], disk: dict[str, Any] | None, member_verdict: str
) -> dict[str, Any]:
    by_severity = Counter(f.severity.label for f in findings)
    by_category = Counter(f.category for f in findings)
    summary: dict[str, Any] = {
        "findings": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_category": {c: by_category[c] for c in CATEGORIES if by_category.get(c)},
        "members": members,
    }
    if members:
        summary["verdict"] = member_verdict
    if disk is not None:
        summary["disk"] = disk
    return summary


def _quantile_text(value: float | None, bucket: tuple[float, float] | None) -> str:
    """A quantile in etcd's lowest bucket is only known to be under its bound: say so."""
    from premortem.etcd.verdict import ms

    if value is not None and bucket is not None and bucket[0] == 0.0:
        return f"< {ms(bucket[1])}"
    return ms(value)


def _render_text(
    findings: list[Finding],
    members: list[dict[str, Any]],
    disk: dict[str, Any] | None,
    summary: dict[str, Any],
) -> None:
    from rich.markup import escape

    from premortem.etcd.verdict import ms, size
    from premortem.report.text import make_console, render_findings

    console = make_console(sys.stdout, None)
    for m in members:
        version = f" (etcd {m['version']})" if m.get("version") else ""
        if m.get("uptime_seconds") is not None:
            version += f", up {m['uptime_seconds'] / 3600:.1f} h"
        console.print(f"[bold]{escape(m['source'])}[/]{version}")
        for key, label in (("wal_fsync", "WAL fsync"), ("backend_commit", "backend commit")):
            p50 = _quantile_text(m[f"{key}_p50_seconds"], m[f"{key}_p50_bucket_seconds"])
            p99 = _quantile_text(m[f"{key}_p99_seconds"], m[f"{key}_p99_bucket_seconds"])
            count = m[f"{key}_count"] if m[f"{key}_count"] is not None else "no"
            console.print(f"  {label:15} p50 {p50:>10}  p99 {p99:>10}  ({count} observations)")
        leader = {None: "unknown", 0: "NO LEADER", 1: "yes"}.get(m["has_leader"], str(m["has_leader"]))
        role = " (this member leads)" if m.get("is_leader") else ""
        console.print(
            f"  leader {leader}{role}, {m['leader_changes'] or 0} leader change(s), "
            f"{m['heartbeat_send_failures'] or 0} heartbeat failure(s), {m['slow_applies'] or 0} slow apply(s)"
        )
        ratio = m["db_quota_ratio"]
        console.print(
            f"  database {size(m['db_size_bytes'])} of {size(m['quota_bytes'])} quota"
            + (f" ({ratio:.0%})" if ratio is not None else "")
        )
    if disk is not None:
        fs = f" ({disk['filesystem']})" if disk.get("filesystem") else ""
        console.print(f"[bold]disk {escape(disk['directory'])}[/]{fs}")
        console.print(
            f"  fdatasync after {disk['writes']} x {disk['block_size']}-byte writes: "
            f"p50 {ms(disk['fdatasync_p50_seconds'])}, p99 {ms(disk['fdatasync_p99_seconds'])}, "
            f"max {ms(disk['fdatasync_max_seconds'])}"
        )
        if disk["verdict"] == "fast":
            console.print("  [green]fast enough for etcd's WAL[/] (p99 under 10 ms)")
        else:
            console.print("  [bold red]too slow for etcd's WAL[/] (p99 must be under 10 ms)")
    console.print()
    if findings:
        render_findings(findings, console)
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n) or "no findings"
    what = []
    if members:
        what.append(f"{len(members)} member(s): {summary['verdict']}")
    if disk is not None:
        what.append(f"disk: {disk['verdict']}")
    console.print(f"[bold]etcd {'; '.join(what)} ({counts})[/]")
