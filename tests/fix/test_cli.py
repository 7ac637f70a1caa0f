"""`premortem fix` as users run it: diff by default, --write, stdin, selection, unsafe fixes, errors.

The example outage is fixed on a temporary copy of examples/ (the repository's files are never touched).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fix.helpers import fix_run, rules_found
from premortem.cli.fix import fix as fix_command
from premortem.engine import scan
from premortem.fix.registry import all_fixers
from premortem.load.reader import load_text
from premortem.rules import all_rules

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: policy
webhooks:
  - name: pods.policy.example.com   # the pod policy
    clientConfig:
      service: {namespace: policy, name: policy}
    rules:
      - operations: [CREATE]
        apiGroups: [""]
        apiVersions: [v1]
        resources: [pods]
    namespaceSelector:
      matchExpressions: [{key: env, operator: NotIn, values: [dev]}]  # no dev namespaces
    timeoutSeconds: 20
    admissionReviewVersions: [v1]
    sideEffects: None
"""

BACKEND = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: policy, namespace: policy}
spec:
  replicas: 1
  selector: {matchLabels: {app: policy}}
  template:
    metadata: {labels: {app: policy}}
    spec:
      containers:
        - name: policy
          image: registry.example.com/policy:1.0.0@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
          resources: {limits: {cpu: 100m, memory: 128Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: policy, namespace: policy}
spec:
  selector: {app: policy}
  ports: [{port: 443}]
"""


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(fix_command, list(args), input=input)


def _scan_objects(path: Path) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for file in sorted(path.rglob("*.yaml")):
        for f in scan(load_text(file.read_text(), str(file)), all_rules()).findings:
            out.add((f.rule, f.object.display() if f.object else ""))
    return out


@pytest.fixture
def examples(tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    return copy


def test_example_outage_is_fixed_on_a_copy(examples):
    before = {p: p.read_bytes() for p in EXAMPLES.rglob("*") if p.is_file()}
    diff = run(str(examples), "--unsafe-fixes")
    assert diff.exit_code == 1  # a diff to apply
    assert diff.stdout.startswith("--- ")
    assert "+++ " in diff.stdout
    written = run(str(examples), "--write", "--unsafe-fixes")
    assert written.exit_code in (0, 1), written.output
    # (rule, "Kind namespace/name") of every fix: the object no longer has that finding (a rule may
    # still fire on another object whose fix is a note, e.g. RES005 on a Guaranteed pod)
    fixed = {
        (line.split()[1], " ".join(line.split()[3:5]))
        for line in written.stderr.splitlines()
        if line.startswith("fixed ") and len(line.split()) > 4
    }
    assert fixed, written.stderr
    remaining = _scan_objects(examples)
    assert not fixed & remaining, (fixed, remaining)
    again = run(str(examples), "--unsafe-fixes")
    assert again.exit_code == 0 and again.stdout == ""
    # the repository's examples are untouched
    assert before == {p: p.read_bytes() for p in EXAMPLES.rglob("*") if p.is_file()}


def test_diff_is_a_valid_patch(examples, tmp_path):
    if shutil.which("patch") is None:
        pytest.skip("patch is not installed")
    target = tmp_path / "patched"
    shutil.copytree(examples, target)
    diff = run(str(examples), "--unsafe-fixes").stdout
    run(str(examples), "--write", "--unsafe-fixes")
    # rewrite the headers to the copy and apply with patch(1)
    patch_text = diff.replace(str(examples), str(target))
    subprocess.run(["patch", "-p0", "-s"], input=patch_text.encode(), check=True, cwd="/")
    for file in examples.rglob("*.yaml"):
        assert (target / file.relative_to(examples)).read_bytes() == file.read_bytes()


def test_unsafe_fixes_are_held_back_and_said_so(tmp_path):
    path = tmp_path / "webhook.yaml"
    path.write_text(WEBHOOK)
    assert run(str(path), "--write").exit_code == 0
    text = path.read_text()
    assert "timeoutSeconds: 5" in text
    assert "failurePolicy" not in text
    # merged into the existing selector, in its flow style, comment kept
    assert (
        "      matchExpressions: [{key: env, operator: NotIn, values: [dev]}, {key: kubernetes.io/metadata.name, "
        "operator: NotIn, values: [kube-system, policy]}]  # no dev namespaces\n"
    ) in text
    assert "# the pod policy" in text
    # nothing fail-open here, so nothing is held back; a single-replica backend would be:
    path.write_text(WEBHOOK + BACKEND)
    held = run(str(path), "--rule", "ADM006")
    assert held.exit_code == 0
    assert "held back" in held.stderr and "--unsafe-fixes" in held.stderr
    assert held.stdout == ""
    unsafe = run(str(path), "--rule", "ADM006", "--unsafe-fixes", "--write")
    assert unsafe.exit_code == 0, unsafe.output
    assert "failurePolicy: Ignore" in path.read_text()
    assert "ADM006" not in rules_found(path.read_text())


def test_fail_open_covers_every_webhook_of_the_single_replica_backend(tmp_path):
    second = WEBHOOK.split("webhooks:\n", 1)[1].replace(
        "pods.policy.example.com", "deploys.policy.example.com"
    )
    text = WEBHOOK + second
    run_result = fix_run({"w.yaml": text}, ("ADM006",), unsafe=True)
    assert run_result.settled
    fixed = run_result.files[0].fixed
    assert fixed.count("failurePolicy: Ignore") == 0  # no backend read: ADM006 cannot fire
    backend = BACKEND
    run_result = fix_run({"w.yaml": text + backend}, ("ADM006",), unsafe=True)
    fixed = run_result.files[0].fixed
    assert fixed.count("failurePolicy: Ignore") == 2
    assert [o.status for o in run_result.outcomes] == ["fixed"]


def test_stdin_to_stdout_and_selection():
    text = WEBHOOK
    result = run("-", "--rule", "ADM003", input=text)
    assert result.exit_code == 0
    assert result.stdout == text.replace("timeoutSeconds: 20", "timeoutSeconds: 5")
    by_category = run("-", "--category", "resources", input=text)
    assert by_category.stdout == text


def test_write_through_a_symlink_keeps_the_link(tmp_path):
    target = tmp_path / "real.yaml"
    target.write_text(WEBHOOK)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert run(str(link), "--write").exit_code == 0
    assert link.is_symlink()
    assert "timeoutSeconds: 5" in target.read_text()


def test_write_keeps_file_mode(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WEBHOOK)
    os.chmod(path, 0o640)
    assert run(str(path), "--write").exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "NOPE123"], "unknown rule"),
        (["--rule", "RES003"], "has no fixer"),
        (["--category", "cooking"], "unknown rule or category"),
        (["/definitely/not/here.yaml"], "no such file"),
        (["-", "--write"], "--write has no meaning"),
        (["-", "x.yaml"], "cannot be combined"),
    ],
)
def test_usage_errors(args, message):
    result = run(*args, input="")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unreadable_file_is_an_error(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    result = run(str(path))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_every_fixer_answers_a_real_rule():
    from premortem.rules import all_rules

    ids = {r.id for r in all_rules()}
    assert set(all_fixers()) <= ids


def test_module_entry_point(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WEBHOOK)
    out = subprocess.run(
        [sys.executable, "-m", "premortem", "fix", str(path)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 1
    assert "-    timeoutSeconds: 20\n" in out.stdout and "+    timeoutSeconds: 5\n" in out.stdout
    assert "3 fix(es) to apply (use --write)" in out.stderr
