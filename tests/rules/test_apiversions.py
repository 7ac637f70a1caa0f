"""API001 (removed API versions) and --kubernetes-version: the release decides the verdict."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from conftest import scan_yaml
from fix.helpers import fix_run
from premortem.cli.capacity import capacity
from premortem.cli.fix import fix
from premortem.cli.scan import scan
from premortem.model.kubeversion import NEWEST_KNOWN, KubeVersion, target_version
from premortem.model.removed_apis import REMOVED_APIS, removed_api
from premortem.settings import Settings, use_settings

CRONJOB = """\
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/report:2.1.0
              resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 128Mi}}
"""


def api001(text: str, version: str | None = None):
    with use_settings(Settings(kubernetes_version=version)):
        return [f for f in scan_yaml(text).findings if f.rule == "API001"]


def test_default_target_is_the_newest_known_release_and_says_so():
    [f] = api001(CRONJOB)
    assert f.severity.label == "high"
    assert "v1.25" in f.message and str(NEWEST_KNOWN) in f.message and "--kubernetes-version" in f.message
    assert "batch/v1" in f.fix
    assert f.path == "/apiVersion" and f.line == 1
    assert f.extra == {"removed_in": "v1.25", "target_version": str(NEWEST_KNOWN), "replacement": "batch/v1"}


@pytest.mark.parametrize(
    ("version", "severity"), [("1.25", "high"), ("v1.25.3", "high"), ("1.24", "low"), ("1.30", "high")]
)
def test_the_target_release_decides(version, severity):
    [f] = api001(CRONJOB, version)
    assert f.severity.label == severity
    assert "--kubernetes-version" not in f.message


def test_before_the_replacement_exists_the_fix_says_upgrade_first():
    [f] = api001(CRONJOB, "1.20")
    assert f.severity.label == "low"
    assert f.fix.startswith("Upgrade to v1.21 or later first")


def test_served_versions_and_custom_resources_are_not_findings():
    text = CRONJOB.replace("batch/v1beta1", "batch/v1")
    assert not api001(text)
    assert not api001("apiVersion: example.com/v1beta1\nkind: CronJob\nmetadata: {name: x}\n")
    # the same group/version, another kind: storage.k8s.io/v1beta1 CSIStorageCapacity went in v1.27
    sc = "apiVersion: storage.k8s.io/v1beta1\nkind: StorageClass\nmetadata: {name: x}\nprovisioner: p\n"
    [f] = api001(sc, "1.24")
    assert "v1.22" in f.message and f.severity.label == "high"
    cap = "apiVersion: storage.k8s.io/v1beta1\nkind: CSIStorageCapacity\nmetadata: {name: x}\nstorageClassName: s\n"
    assert api001(cap, "1.26")[0].severity.label == "low"


def test_flowcontrol_replacement_follows_the_target():
    text = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: FlowSchema\nmetadata: {name: x}\nspec: {matchingPrecedence: 500}\n"
    assert "flowcontrol.apiserver.k8s.io/v1beta3" in api001(text, "1.27")[0].fix
    assert "flowcontrol.apiserver.k8s.io/v1 " in api001(text, "1.29")[0].fix


def test_podsecuritypolicy_has_no_replacement():
    [f] = api001("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: x}\nspec: {}\n")
    assert "Pod Security Admission" in f.fix and "extra" not in f.fix
    assert "replacement" not in f.extra


def test_table_is_consistent():
    for (api_version, kind), entry in REMOVED_APIS.items():
        assert (entry.api_version, entry.kind) == (api_version, kind)
        if entry.replacements:  # newest first; the oldest was served before the removal
            assert entry.replacements[-1].since < entry.removed_in, (api_version, kind)
            assert [r.since for r in entry.replacements] == sorted(
                (r.since for r in entry.replacements), reverse=True
            )
        for replacement in entry.replacements:
            assert removed_api(replacement.api_version, kind) is None or (
                removed_api(replacement.api_version, kind).removed_in > entry.removed_in  # type: ignore[union-attr]
            )
    # spot checks against the deprecation guide
    assert removed_api("extensions/v1beta1", "Ingress").removed_in == KubeVersion(1, 22)  # type: ignore[union-attr]
    assert removed_api("autoscaling/v2beta2", "HorizontalPodAutoscaler").removed_in == KubeVersion(1, 26)  # type: ignore[union-attr]
    assert removed_api("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema").removed_in == KubeVersion(1, 32)  # type: ignore[union-attr]
    assert removed_api("apps/v1", "Deployment") is None


@given(
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["", "v"]),
    st.sampled_from(["", ".7", ".0-eks-1"]),
)
def test_version_parse_round_trips_and_orders(minor, other, prefix, suffix):
    version = KubeVersion.parse(f"{prefix}1.{minor}{suffix}")
    assert version == KubeVersion(1, minor)
    assert KubeVersion.parse(str(version)) == version
    assert (version < KubeVersion(1, other)) == (minor < other)


@pytest.mark.parametrize("text", ["", "1", "2.0", "1.x", "one.two", "1.29.3.4"])
def test_version_parse_rejects(text):
    with pytest.raises(ValueError):
        KubeVersion.parse(text)


def test_target_version_outside_a_scan_is_the_newest():
    assert target_version() == NEWEST_KNOWN


# ------------------------------------------------------------------------------------------ fixer
def fixed(text: str, version: str | None = None):
    with use_settings(Settings(kubernetes_version=version)):
        run = fix_run({"t.yaml": text}, ("API001",))
    return run.files[0].fixed, [o for o in run.outcomes if o.finding.rule == "API001"]


def test_fix_renames_when_the_versions_mean_the_same():
    text, [outcome] = fixed(CRONJOB)
    assert outcome.status == "fixed"
    assert text == CRONJOB.replace("batch/v1beta1", "batch/v1")


def test_fix_uses_the_replacement_the_target_serves():
    text = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: FlowSchema\nmetadata: {name: x}\nspec: {matchingPrecedence: 500}\n"
    assert fixed(text, "1.27")[0].startswith("apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\n")
    assert fixed(text)[0].startswith("apiVersion: flowcontrol.apiserver.k8s.io/v1\n")


@pytest.mark.parametrize(
    "text",
    [
        # an empty selector selects nothing in v1beta1, everything in v1
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n"
        "spec: {maxUnavailable: 1, selector: {}}\n",
        # defaults change (maxSurge/maxUnavailable, progress deadline)
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: []}}}\n",
        # apps/v1 requires the selector v1beta2 left to defaulting
        "apiVersion: apps/v1beta2\nkind: ReplicaSet\nmetadata: {name: r}\n"
        "spec: {template: {metadata: {labels: {a: b}}, spec: {containers: []}}}\n",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: PriorityLevelConfiguration\nmetadata: {name: x}\n"
        "spec: {type: Limited, limited: {assuredConcurrencyShares: 10}}\n",
        "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n",
    ],
)
def test_fix_explains_instead_of_renaming_when_meaning_changes(text):
    after, outcomes = fixed(text)
    assert after == text
    assert outcomes and all(o.status == "not-fixable" for o in outcomes)


def test_fix_renames_pdb_with_a_selector_and_apps_v1beta2_with_one():
    pdb = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailable: 1, selector: {matchLabels: {a: b}}}\n"
    assert fixed(pdb)[0].startswith("apiVersion: policy/v1\n")
    sts = "apiVersion: apps/v1beta2\nkind: ReplicaSet\nmetadata: {name: r}\nspec: {selector: {matchLabels: {a: b}}}\n"
    assert fixed(sts)[0].startswith("apiVersion: apps/v1\n")


# ------------------------------------------------------------------------------------------- CLI
def test_cli_kubernetes_version_option(tmp_path):
    path = tmp_path / "cron.yaml"
    path.write_text(CRONJOB)
    runner = CliRunner()
    high = runner.invoke(scan, [str(path), "--format", "json", "--select", "API001"])
    assert high.exit_code == 1
    assert json.loads(high.output)["findings"][0]["severity"] == "high"
    low = runner.invoke(
        scan, [str(path), "--format", "json", "--select", "API001", "--kubernetes-version", "1.24"]
    )
    assert low.exit_code == 0
    assert json.loads(low.output)["findings"][0]["severity"] == "low"
    # the option does not leak into the next command run in this process
    again = runner.invoke(scan, [str(path), "--format", "json", "--select", "API001"])
    assert json.loads(again.output)["findings"][0]["severity"] == "high"


@pytest.mark.parametrize("verb", [scan, fix, capacity], ids=["scan", "fix", "capacity"])
def test_cli_rejects_a_malformed_version(tmp_path, verb):
    path = tmp_path / "cron.yaml"
    path.write_text(CRONJOB)
    result = CliRunner().invoke(verb, [str(path), "--kubernetes-version", "banana"])
    assert result.exit_code == 2
    assert "not a Kubernetes version" in result.output
    assert "Traceback" not in result.output


def test_cli_fix_follows_the_version(tmp_path):
    path = tmp_path / "fs.yaml"
    path.write_text(
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: FlowSchema\nmetadata: {name: x}\nspec: {matchingPrecedence: 500}\n"
    )
    result = CliRunner().invoke(fix, [str(path), "--kubernetes-version", "1.27", "--write"])
    assert result.exit_code == 0, result.output
    assert path.read_text().startswith("apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\n")


def test_metadata_only_patches_are_not_objects():
    patch = (
        "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: x.example.com\n  annotations: {cert-manager.io/inject-ca-from: ns/cert}\n"
    )
    assert not api001(patch)
    assert api001(patch + "spec: {group: example.com, names: {kind: X, plural: xs}}\n")


def test_crd_conversion_patches_are_not_objects():
    patch = (
        "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}\n"
        "spec: {conversion: {strategy: Webhook}}\n"
    )
    assert not api001(patch)
    assert api001(patch.replace("spec: {", "spec: {names: {kind: X, plural: xs}, "))


def test_alpha_cronjob_of_early_clusters_is_removed():
    """Zalando's flood (tests/postmortems/zalando-2018-cronjob-flood) was a batch/v2alpha1 CronJob."""
    text = CRONJOB.replace("batch/v1beta1", "batch/v2alpha1")
    [removed] = api001(text, "1.21")
    assert removed.severity.label == "high" and "v1.21" in removed.message
    assert "batch/v1" in removed.fix
    [served] = api001(text, "1.20")
    assert served.severity.label == "low"
    # v2alpha1 kept every finished Job: the rename alone would change that, so fix does not do it
    assert removed_api("batch/v2alpha1", "CronJob").rename_blocker({"spec": {}})
    limits = {"spec": {"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 1}}
    assert removed_api("batch/v2alpha1", "CronJob").rename_blocker(limits) is None
