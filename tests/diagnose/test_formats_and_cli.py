"""Block formats (event tables, JSON/YAML event lists, describe), benign lines, unknown input,
the story on examples/incident, the JSON shape and the CLI's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from premortem.findings import Severity

from .helpers import rules

ROOT = Path(__file__).resolve().parents[2]
INCIDENT = ROOT / "examples" / "incident" / "incident.log"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", "diagnose", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


EVENTS_JSON = """{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "count": 7,
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop", "fieldPath": "spec.containers{web}"},
            "kind": "Event",
            "lastTimestamp": "2026-11-25T19:33:10Z",
            "message": "Liveness probe failed: HTTP probe failed with statuscode: 500",
            "metadata": {"name": "web-1.18a2b3c4d5e6f7a8", "namespace": "shop"},
            "reason": "Unhealthy",
            "source": {"component": "kubelet", "host": "worker-1"},
            "type": "Warning"
        },
        {
            "apiVersion": "v1",
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
            "kind": "Event",
            "lastTimestamp": "2026-11-25T19:20:00Z",
            "message": "Successfully assigned shop/web-1 to worker-1",
            "metadata": {"name": "web-1.18a2b3c4d5e6f7a9", "namespace": "shop"},
            "reason": "Scheduled",
            "type": "Normal"
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
"""

EVENTS_YAML = """apiVersion: events.k8s.io/v1
items:
- apiVersion: events.k8s.io/v1
  deprecatedCount: 3
  deprecatedLastTimestamp: "2026-11-25T19:30:05Z"
  kind: Event
  metadata:
    name: api-1.18a2b3c4d5e6f7b0
    namespace: payments
  note: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container app was using 900Mi, request is 0, has larger consumption of memory.'
  reason: Evicted
  regarding:
    kind: Pod
    name: api-1
    namespace: payments
  reportingController: kubelet
  type: Warning
kind: EventList
metadata: {}
"""

OLD_TABLE = """LAST SEEN   FIRST SEEN   COUNT   NAME                           KIND   SUBOBJECT   TYPE      REASON    SOURCE              MESSAGE
1m          10m          14      web-1.18a2b3c4d5e6f7a8         Pod                Warning   BackOff   kubelet, worker-1   Back-off restarting failed container
"""

DESCRIBE_NODE = """Name:               worker-2
Roles:              <none>
Conditions:
  Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
  ----             ------  -----------------                 ------------------                ------                       -------
  MemoryPressure   True    Wed, 25 Nov 2026 19:31:00 +0000   Wed, 25 Nov 2026 19:30:10 +0000   KubeletHasInsufficientMemory kubelet has insufficient memory available
  DiskPressure     False   Wed, 25 Nov 2026 19:31:00 +0000   Wed, 25 Nov 2026 18:00:00 +0000   KubeletHasNoDiskPressure     kubelet has no disk pressure
  Ready            Unknown Wed, 25 Nov 2026 19:31:00 +0000   Wed, 25 Nov 2026 19:31:40 +0000   NodeStatusUnknown            Kubelet stopped posting node status.
"""

BENIGN = """payments    20m   Normal   Scheduled          pod/api-1               Successfully assigned payments/api-1 to worker-2
{"level":"info","ts":"2026-11-25T19:35:00.004Z","caller":"mvcc/kvstore_compaction.go:57","msg":"finished scheduled compaction","compact-revision":918402,"took":"12.4ms"}
{"level":"info","ts":"2026-11-25T19:35:01.004Z","caller":"etcdserver/server.go:2045","msg":"published local member to cluster through raft","local-member-id":"3f1e"}
2026-11-25 19:30:00.123456 I | mvcc: finished scheduled compaction at 918402 (took 12.4ms)
2026-11-25 19:30:00.123456 I | etcdserver: compacted raft log at 95001
I1125 19:30:00.412873    1187 kubelet.go:2400] "SyncLoop ADD" source="api" pods=["payments/api-1"]
"""
BENIGN_TABLE = """NAMESPACE   LAST SEEN   TYPE     REASON             OBJECT                  MESSAGE
payments    20m         Normal   Scheduled          pod/api-1               Successfully assigned payments/api-1 to worker-2
payments    20m         Normal   Pulled             pod/api-1               Container image "registry.example.com/payments/api:1.14.2" already present on machine
payments    20m         Normal   Created            pod/api-1               Created container app
payments    20m         Normal   Started            pod/api-1               Started container app
payments    21m         Normal   SuccessfulCreate   replicaset/api-7d9f8c   Created pod: api-1
"""


def test_events_json_core_v1(run) -> None:
    result = run(EVENTS_JSON, name="events.json")
    (f,) = result.findings
    assert f.rule == "DIAG-PROBE-LIVENESS"
    assert f.extra["count"] == 7
    assert f.extra["objects"] == {"pod": "web-1", "namespace": "shop", "container": "web", "node": "worker-1"}
    assert f.extra["time"] == "2026-11-25T19:33:10Z"
    assert f.extra["evidence"][0]["line"] == 10  # the message line
    assert result.summary["lines_unknown"] == 0


def test_events_yaml_events_k8s_io_v1(run) -> None:
    (f,) = run(EVENTS_YAML, name="events.yaml").findings
    assert f.rule == "DIAG-EVICT-MEMORY"
    assert f.extra["prevented_by"] == ["RES001"]
    assert f.extra["count"] == 3


def test_old_table_layout(run) -> None:
    (f,) = run(OLD_TABLE).findings
    assert f.rule == "DIAG-CRASHLOOP"
    assert f.extra["count"] == 14
    assert f.extra["objects"]["pod"] == "web-1"


def test_describe_node_conditions(run) -> None:
    result = run(DESCRIBE_NODE)
    assert sorted(rules(result)) == ["DIAG-NODE-MEMORY-PRESSURE", "DIAG-NODE-NOT-READY"]
    assert all(f.extra["objects"]["node"] == "worker-2" for f in result.findings)


def test_describe_pod_oomkilled_from_example(run) -> None:
    text = INCIDENT.read_text()
    start = text.index("Name:             reports-worker")
    result = run(text[start : text.index("\n\n", start)] + "\n")
    assert "DIAG-OOMKILLED" in rules(result)
    f = next(f for f in result.findings if f.rule == "DIAG-OOMKILLED")
    assert f.extra["objects"] == {
        "pod": "reports-worker-6b7c9d8f5-m4n8p",
        "namespace": "batch",
        "container": "worker",
        "node": "worker-2",
    }


def test_benign_lines_raise_nothing_at_medium_or_above(run) -> None:
    for text in (BENIGN, BENIGN_TABLE):
        result = run(text)
        assert not [f for f in result.findings if f.severity >= Severity.MEDIUM], result.findings


def test_unknown_lines_are_counted_not_fatal(run) -> None:
    result = run(
        "hello\n\x01\x02 garbage \x7f\n"
        + "Memory cgroup out of memory: Killed process 1 (x) oom_score_adj:1000\n"
    )
    assert rules(result) == ["DIAG-OOM-CGROUP"]
    assert result.summary["lines_unknown"] == 2
    assert result.summary["unknown_samples"][0]["line"] == 1


def test_story_on_the_example_incident_is_in_order() -> None:
    from premortem.diagnose import diagnose
    from premortem.diagnose.timeparse import parse_rfc3339

    result = diagnose([str(INCIDENT)], now=parse_rfc3339("2026-11-25T19:40:00Z"))
    titles = [s.title for s in result.stories]
    assert titles[0].startswith("slow etcd disk -> leader elections -> API server")
    assert "memory pressure on node worker-2" in titles
    node = result.stories[titles.index("memory pressure on node worker-2")]
    order = [s.finding.rule if s.finding else "MOVED" for s in node.steps]
    assert order == [
        "DIAG-NODE-MEMORY-PRESSURE",
        "DIAG-OOM-CGROUP",
        "DIAG-OOMKILLED",
        "DIAG-EVICT-MEMORY",
        "DIAG-NODE-NOT-READY",
        "MOVED",
        "DIAG-DRAIN-PDB",  # kubectl drain output has no timestamps: it follows the timed steps
    ]
    times = [s.time for s in node.steps if s.time is not None]
    assert times == sorted(times) and len(times) == 6
    assert node.steps[5].moved is not None and node.steps[5].moved.node == "worker-3"
    etcd = [s.finding.rule for s in result.stories[0].steps if s.finding]
    assert (
        etcd.index("DIAG-ETCD-SLOW-FSYNC")
        < etcd.index("DIAG-ETCD-LEADER-ELECTION")
        < etcd.index("DIAG-WEBHOOK-FAILURE")
    )
    assert result.summary["lines_unknown"] == 0


def test_json_shape_and_exit_codes(tmp_path: Path) -> None:
    out = cli(str(INCIDENT), "--format", "json", "--now", "2026-11-25T19:40:00Z")
    assert out.returncode == 1, out.stderr
    payload = json.loads(out.stdout)
    assert set(payload) >= {"findings", "summary"}
    f = payload["findings"][0]
    for key in (
        "rule",
        "category",
        "severity",
        "message",
        "fix",
        "file",
        "line",
        "evidence",
        "objects",
        "prevented_by",
        "time",
    ):
        assert key in f
    assert not any(k.startswith("_") for k in f)
    assert payload["summary"]["findings"] == len(payload["findings"])
    assert cli(str(INCIDENT), "--fail-on", "never").returncode == 0
    benign = tmp_path / "benign.log"
    benign.write_text(BENIGN_TABLE)
    assert cli(str(benign)).returncode == 0
    assert cli("-", stdin=BENIGN_TABLE).returncode == 0


def test_bad_input_exits_2_with_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    for args, words in (
        ([str(tmp_path / "missing.log")], "No such file"),
        ([str(nothing)], "no readable file"),
        ([str(binary)], "binary"),
        ([str(empty)], "empty"),
        ([], "give the evidence"),
        ([str(INCIDENT), "--now", "yesterday"], "RFC 3339"),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert words in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


WIDE_TABLE = """LAST SEEN   TYPE      REASON      OBJECT      SUBOBJECT              SOURCE              MESSAGE                                                          FIRST SEEN   COUNT   NAME
2m          Warning   Unhealthy   pod/web-1   spec.containers{web}   kubelet, worker-1   Readiness probe failed: HTTP probe failed with statuscode: 503   30m          42      web-1.18a2b3c4d5e6f7a8
"""


def test_wide_table_layout(run) -> None:
    (f,) = run(WIDE_TABLE).findings
    assert f.rule == "DIAG-PROBE-READINESS"
    assert f.severity == Severity.MEDIUM
    assert f.extra["count"] == 42
    assert f.extra["objects"] == {"pod": "web-1", "container": "web", "node": "worker-1"}


def test_input_in_no_known_format_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("lunch at noon\nremember the milk\n")
    out = cli(str(junk))
    assert out.returncode == 2 and "no line of the input" in out.stderr
    out = cli("-", stdin="\x00\x01\x02 binary")
    assert out.returncode == 2 and "binary" in out.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(
            alphabet=st.characters(
                blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
            ),
            max_size=120,
        ),
        max_size=30,
    )
)
def test_any_text_is_read_without_crashing(run, lines: list[str]) -> None:
    """Whatever the input, every line is counted once and nothing raises."""
    result = run("".join(line + "\n" for line in lines))
    if any("\x00" in line for line in lines):  # binary data: the file is refused as a whole
        assert result.summary["files_unreadable"]
        return
    assert result.summary["lines"] == len(lines)
    assert result.summary["lines_unknown"] <= len(lines)


def test_gzipped_log_dmesg_boot_time_and_kubectl_prefix(tmp_path: Path) -> None:
    import gzip

    from premortem.diagnose import diagnose
    from premortem.diagnose.timeparse import parse_rfc3339

    log = tmp_path / "kern.log.1.gz"
    with gzip.open(log, "wt") as out:
        out.write(
            "[  120.500000] Out of memory: Killed process 9 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, "
            "shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0\n"
            '[pod/web-1/web] 2026-11-25T19:30:00Z level=warning msg="x" error="update map cilium_policy_00001: '
            'argument list too long"\n'
        )
    result = diagnose([str(log)], boot=parse_rfc3339("2026-11-25T19:00:00Z"))
    times = {f.rule: f.extra["time"] for f in result.findings}
    assert times == {
        "DIAG-OOM-SYSTEM": "2026-11-25T19:02:00.500000Z",
        "DIAG-CILIUM-POLICY-MAP": "2026-11-25T19:30:00Z",
    }
    assert result.summary["lines_unknown"] == 0


PODS_TABLE = """NAMESPACE   NAME                         READY   STATUS             RESTARTS        AGE   IP            NODE       NOMINATED NODE   READINESS GATES
payments    api-7d9f8c-x2k4q             0/1     CrashLoopBackOff   7 (2m ago)      31m   10.244.2.17   worker-2   <none>           <none>
payments    api-7d9f8c-p8m2n             1/1     Running            0               8m    10.244.3.18   worker-3   <none>           <none>
batch       reports-worker-6b7c9d8f5-m   0/1     OOMKilled          3 (30s ago)     98m   10.244.2.41   worker-2   <none>           <none>
shop        cart-6d5f7c8b9-k2j4h         0/1     ImagePullBackOff   0               6m    10.244.1.9    worker-1   <none>           <none>
shop        old-1                        0/1     Evicted            0               2d    <none>        worker-2   <none>           <none>
"""


def test_get_pods_table(run) -> None:
    result = run(PODS_TABLE)
    assert rules(result) == ["DIAG-CRASHLOOP", "DIAG-OOMKILLED", "DIAG-IMAGE-PULL", "DIAG-EVICT-UNKNOWN"]
    crash = result.findings[0]
    assert crash.extra["objects"] == {"pod": "api-7d9f8c-x2k4q", "namespace": "payments", "node": "worker-2"}
    assert "after 7 restarts" in crash.message
    assert result.summary["lines_unknown"] == 0


def test_every_diagnose_rule_is_documented() -> None:
    import re

    from premortem.diagnose.rules import DIAG_RULES

    doc = (ROOT / "docs" / "diagnose.md").read_text()
    table = {rule for row in re.findall(r"^\| (DIAG-[^|]+) \|", doc, re.M) for rule in row.split(" / ")}
    assert table == set(DIAG_RULES)


JOURNAL_JSON = (
    '{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795635000412873","_HOSTNAME":"worker-2",'
    '"SYSLOG_IDENTIFIER":"kubelet","_PID":"1187","MESSAGE":"I1125 19:30:00.412873    1187 eviction_manager.go:366] '
    '\\"Eviction manager: attempting to reclaim\\" resourceName=\\"memory\\""}\n'
    '{"__REALTIME_TIMESTAMP":"1795635002000000","_HOSTNAME":"worker-2","SYSLOG_IDENTIFIER":"kernel",'
    '"MESSAGE":"Memory cgroup out of memory: Killed process 48211 (java) total-vm:5843212kB, anon-rss:2087340kB, '
    'file-rss:21456kB, shmem-rss:0kB, UID:1000 pgtables:4516kB oom_score_adj:968"}\n'
)


def test_journald_json_export(run) -> None:
    """journalctl -o json: the journal's fields give time, host and process; MESSAGE is read as a line."""
    result = run(JOURNAL_JSON, name="journal.json")
    assert [(f.rule, f.extra["time"], f.extra["objects"]["node"]) for f in result.findings] == [
        ("DIAG-NODE-MEMORY-PRESSURE", "2026-11-25T19:30:00.412873Z", "worker-2"),
        ("DIAG-OOM-CGROUP", "2026-11-25T19:30:02Z", "worker-2"),
    ]
    assert result.findings[1].extra["numbers"]["qos"] == "Burstable"
    assert result.summary["lines_unknown"] == 0


def test_a_describe_prompt_names_the_output_without_its_name_line(run) -> None:
    """``$ kubectl describe node worker-5`` then its Conditions and Events, the Name line left out."""
    result = run(
        "$ kubectl describe node worker-5\n"
        "Conditions:\n"
        "  Type             Status  Reason                 Message\n"
        "  ----             ------  ------                 -------\n"
        "  PIDPressure      True    KubeletHasInsufficientPID  kubelet has insufficient PID available\n"
        "\n"
        "Events:\n"
        "  Type     Reason   Age   From     Message\n"
        "  ----     ------   ----  ----     -------\n"
        "  Warning  Evicted  10s   kubelet  The node was low on resource: pids.\n"
    )
    assert {(f.rule, f.extra["objects"].get("node")) for f in result.findings} == {
        ("DIAG-NODE-PID-PRESSURE", "worker-5"),
        ("DIAG-EVICT-PID", "worker-5"),
    }
    assert [s.title for s in result.stories] == ["PID pressure on node worker-5"]
    # another command ends what the prompt named
    other = run(
        "$ kubectl describe node worker-5\n$ kubectl get pods\n"
        "  PIDPressure      True    KubeletHasInsufficientPID  kubelet has insufficient PID available\n",
        name="other.log",
    )
    assert all(f.extra["objects"].get("node") != "worker-5" for f in other.findings)


@pytest.mark.parametrize(
    ("prompt", "described"),
    [
        ("$ kubectl describe node worker-5", ("Node", "worker-5", None)),
        (
            "root@cp-1:~# kubectl -n payments describe pod api-7d9f8c-x2k4q",
            ("Pod", "api-7d9f8c-x2k4q", "payments"),
        ),
        ("$ oc describe pods/ledger-0 --namespace=payments", ("Pod", "ledger-0", "payments")),
        ("$ kubectl describe nodes", None),
        ("$ kubectl describe pod a b", None),
        ("$ kubectl get pods", None),
    ],
)
def test_described_objects(prompt: str, described: tuple[str, str, str | None] | None) -> None:
    from premortem.diagnose.reader import _PROMPT_CMD, _described

    m = _PROMPT_CMD.match(prompt)
    assert m is not None
    assert _described(m.group(1).split()) == described


def test_durations_are_shown_as_written_with_their_rounding() -> None:
    from premortem.diagnose.figures import duration

    assert str(duration("142.12ms")) == "142.12 ms"
    assert str(duration("7.645129468s")) == "7.645129468 s (7.65 s)"
    assert str(duration("146.553126ms")) == "146.553126 ms (147 ms)"
    assert str(duration("1m11.162122634s")) == "1m11.162122634s (71.16 s)"
    assert str(duration(1.873402)) == "1.87 s"
