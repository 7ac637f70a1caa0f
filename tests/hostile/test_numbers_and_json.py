"""Numbers and JSON written to hurt: JSON nested past Python's stack, integers past Python's 4,300-digit
conversion limit, quantity exponents that expand to megabytes (``1e10000000``), lone surrogates from
a ``\\ud800`` escape in a name. Each is read, judged or reported; never a traceback."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from premortem.engine import scan
from premortem.load.reader import load_text
from premortem.model.quantity import LIMIT, format_bytes, format_millicores, parse_quantity, to_bytes

from .helpers import no_traceback, run

DEEP_JSON = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": %s}'


@pytest.mark.parametrize("depth", [990, 100_000])
def test_json_nested_past_the_stack_is_a_finding(depth):
    loaded = load_text(DEEP_JSON % ("[" * depth + "]" * depth), "deep.json")
    findings = scan(loaded).findings  # no RecursionError
    if depth > 1000:
        assert any(f.rule == "INP001" and "nested too deeply" in f.message for f in findings)


def test_integers_past_the_conversion_limit_are_text_as_in_go():
    loaded = load_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: " + "9" * 5000 + "\n",
        "a.yaml",
    )
    assert loaded.documents[0].obj["spec"]["replicas"] == "9" * 5000
    number = "9" * 100_000
    spec = '{"containers": [{"name": "c", "image": "nginx", "resources": {"limits": {"memory": NUMBER}}}]}'
    loaded = load_text(DEEP_JSON % spec.replace("NUMBER", number), "n.json")
    scan(loaded)  # no ValueError from int()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5Gi", Fraction(3 * 2**29)),
        ("500m", Fraction(1, 2)),
        ("12e-2", Fraction(12, 100)),
        ("0001.2500m", Fraction(125, 100_000)),
        ("1e" + str(LIMIT), Fraction(10) ** LIMIT),
        ("1e10000000", Fraction(10) ** LIMIT),  # took 6 s to expand
        ("1e" + "9" * 5000, Fraction(10) ** LIMIT),  # int() refused the exponent
        ("9" * 5000, Fraction(10) ** LIMIT),
        ("1e-10000000", Fraction(10) ** -LIMIT),  # still above zero: rounds up to 1n as the API does
        ("0." + "0" * 5000 + "1", Fraction(10) ** -LIMIT),
        ("0." + "0" * 5000, Fraction(0)),
    ],
)
def test_quantities_are_exact_within_the_limit_and_saturate_past_it(text, value):
    assert parse_quantity(text) == value


def test_a_fraction_with_many_digits_rounds_up_not_down():
    assert to_bytes("1." + "0" * 3000 + "1") == 2


def test_absurd_amounts_print_by_their_order_of_magnitude():
    assert format_bytes(10**1000) == "~1e1000B"
    assert format_millicores(10**1003) == "~1e1000"
    assert format_bytes(1536 * 2**20) == "1.5Gi"


def test_capacity_with_an_absurd_request_simulates(tmp_path):
    manifest = tmp_path / "q.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 2\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
        "      containers: [{name: c, image: nginx, resources: {requests: {cpu: 1e1000, memory: 1e1000}}}]\n"
    )
    out = run("capacity", str(manifest), "--nodes", "3x4cpu/16Gi")
    no_traceback(out)
    assert out.returncode == 1 and "DOES NOT FIT" in out.stdout
    out = run("scan", str(manifest), "--nodes", "3x4cpu/16Gi", "--no-config")
    no_traceback(out)
    assert "INP005" not in out.stdout  # was OverflowError in CAP001-CAP005


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github", "markdown"])
def test_a_lone_surrogate_in_a_name_is_written_in_every_format(tmp_path, fmt):
    manifest = tmp_path / "s.json"
    manifest.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "\\ud800x"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}')  # fmt: skip
    out = run("scan", str(manifest), "--format", fmt, "--no-config")
    no_traceback(out)
    assert out.returncode == 1
    if fmt in ("json", "sarif"):
        json.loads(out.stdout)


@pytest.mark.parametrize("items", ["5", "{a: 1}", "'text'"])
def test_a_list_whose_items_are_not_a_list_is_reported(items):
    loaded = load_text(f"apiVersion: v1\nkind: List\nitems: {items}\n", "l.yaml")
    assert not loaded.documents  # was one unchecked "List" object, 0 findings
    assert [p.rule for p in loaded.problems] == ["INP002"] and "not a list of objects" in loaded.problems[
        0
    ].message


@pytest.mark.parametrize(
    "line",
    [
        '{"level": "error", "msg": ' + "[" * 100_000 + "]" * 100_000 + "}",  # a JSON log line
        '{"MESSAGE": ' + "[" * 100_000 + "]" * 100_000 + "}",  # a journald export line
    ],
)
def test_diagnose_reads_past_json_nested_beyond_the_stack(tmp_path, line):
    log = tmp_path / "incident.log"
    log.write_text(line + "\nE1130 10:00:00.000000       1 x.go:1] etcdserver: request timed out\n")
    out = run("diagnose", str(log))
    no_traceback(out)  # was RecursionError
    assert out.returncode in (0, 1)


N = "9" * 5000


@pytest.mark.parametrize(
    "text",
    [
        # found by the fuzzer: a describe block's exit code of 5,000 digits (int() refuses past 4,300)
        f"State:          Terminated\n  Reason:       OOMKilled\n  Exit Code:    {N}\n  Started: x\n",
        f"Name: web-1\nNamespace: default\nContainers:\n  app:\n    State:          Waiting\n"
        f"      Reason:       CrashLoopBackOff\n    Restart Count:  {N}\n",
        f"[12345.678] Memory cgroup out of memory: Killed process {N} (java) total-vm:1kB, anon-rss:{N}kB, "
        f"file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:{N}\n",
    ],
)
def test_diagnose_takes_numbers_too_long_to_convert_as_text(tmp_path, text):
    from premortem.diagnose import diagnose

    log = tmp_path / "incident.log"
    log.write_text(text)
    diagnose([str(log)])  # was ValueError from int()


CRONJOB = (
    "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: c}}\nspec:\n  schedule: '{}'\n"
    "  jobTemplate: {{spec: {{template: {{spec: {{containers: [{{name: c, image: nginx}}]}}}}}}}}\n"
)
POD_PORT = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: c, image: nginx, livenessProbe: {{httpGet: {{port: '{}'}}}}}}]\n"  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        CRONJOB.format(f"*/{N} * * * *"),  # int() refused the step
        CRONJOB.format(f"@every {N}s"),  # an infinite duration: OverflowError
        CRONJOB.format("*/\u00b2 \u00b2 * * *"),  # '²' is a digit to str.isdigit, not to int()
        POD_PORT.format(N),
        POD_PORT.format("\u00b2"),
    ],
)
def test_rules_read_odd_digits_without_failing(text):
    findings = scan(load_text(text, "x.yaml")).findings
    assert not [f.message for f in findings if f.rule == "INP005"]  # no rule failed
    assert all(len(f.message) < 2000 for f in findings)  # the 5,000-digit port is shortened


# Found by the final fuzz run: a NEL (U+0085, a line break to YAML 1.1) opening a line made the one
# document not parse on its own when fix re-read it to edit: ParserError instead of "not applied".
NEL_KUBELET = "# kubelet configuration of the CDP cluster's worker nodes (Kubernetes v1.14): Ƿhe API rate limit is\n# left at the kubelet's default of the time.\n\x85apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  webhook: {enabled: true}\nauthorization: {mode: Webhook}\nclusterDNS: [10.0.1.100]\nclusterDomain: cluster.local\nmaxPods: 110\nsystemReserved: {cpu: 100m, memory: 164Mi}\nkubeReserved: {cpu: 100m, memory: 282Mi}\nevictionHard:\n  memory.available: 500Mi\n  nodefs.available: 10%\n  nodefs.inodesFree: 5%\n  imagefs.available: 15%\n"


def test_fix_reports_a_document_it_cannot_re_read_instead_of_raising():
    from premortem.fix.pipeline import fixable_rules, run_fix
    from premortem.fix.registry import FixContext

    run = run_fix({"k.yaml": NEL_KUBELET}, fixable_rules(), FixContext())  # raised yaml.ParserError
    assert not [o for o in run.outcomes if "internal error" in o.message]
