"""Each recogniser on realistic lines, in every format that reports the failure. The wording follows
the components' source (kubelet eviction/prober, apiserver webhook dispatcher, etcd 3.4/3.5 raft.go,
util.go, wal.go, kernel mm/oom_kill.c, kubectl drain, cilium policymap); the values are made up."""

from __future__ import annotations

import pytest

from premortem.findings import Severity

from .helpers import rules

CASES = [
    # kernel: dmesg with and without timestamps, journald, dmesg -T, system OOM
    (
        "[812345.678901] Memory cgroup out of memory: Killed process 4242 (java) total-vm:3145728kB, anon-rss:1048000kB, file-rss:2048kB, shmem-rss:0kB, UID:1000 pgtables:2100kB oom_score_adj:1000",
        "DIAG-OOM-CGROUP",
    ),
    (
        "Memory cgroup out of memory: Killed process 4242 (node) total-vm:1145728kB, anon-rss:512000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:900kB oom_score_adj:994",
        "DIAG-OOM-CGROUP",
    ),
    (
        "Nov 25 19:30:02 worker-1 kernel: Memory cgroup out of memory: Killed process 77 (python3) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:-997",
        "DIAG-OOM-CGROUP",
    ),
    (
        "[Wed Nov 25 19:30:02 2026] Out of memory: Killed process 1187 (kubelet) total-vm:2000000kB, anon-rss:300000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:800kB oom_score_adj:-999",
        "DIAG-OOM-SYSTEM",
    ),
    (
        "2026-11-25T19:30:02+0000 worker-1 kernel: Out of memory: Killed process 9 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0",
        "DIAG-OOM-SYSTEM",
    ),
    # kubelet (klog structured and unstructured, journald envelope, CRI envelope)
    (
        'I1125 19:30:00.412873    1187 eviction_manager.go:366] "Eviction manager: attempting to reclaim" resourceName="memory"',
        "DIAG-NODE-MEMORY-PRESSURE",
    ),
    (
        "I1125 19:30:00.412873    1187 eviction_manager.go:344] eviction manager: attempting to reclaim nodefs",
        "DIAG-NODE-DISK-PRESSURE",
    ),
    (
        'Nov 25 19:30:00 worker-1 kubelet[1187]: I1125 19:30:00.412950    1187 eviction_manager.go:377] "Eviction manager: must evict pod(s) to reclaim" resourceName="pids"',
        "DIAG-NODE-PID-PRESSURE",
    ),
    (
        'I1125 19:30:05.118345    1187 eviction_manager.go:616] "Eviction manager: pod is evicted successfully" pod="shop/web-5d8f-abcde"',
        "DIAG-EVICT-UNKNOWN",  # the line does not name the resource: no "attempting to reclaim" before it
    ),
    (
        'I1125 19:31:40.003118    1187 setters.go:552] "Node became not ready" node="worker-1" condition={"type":"Ready","status":"False"}',
        "DIAG-NODE-NOT-READY",
    ),
    (
        'I1125 19:33:10.551201    1022 prober.go:107] "Probe failed" probeType="Liveness" pod="shop/web-5d8f-abcde" podUID="0d2b9a61" containerName="web" probeResult="failure" output="HTTP probe failed with statuscode: 500"',
        "DIAG-PROBE-LIVENESS",
    ),
    (
        'I1125 19:33:10.551201    1022 prober.go:107] "Probe failed" probeType="Readiness" pod="shop/web-5d8f-abcde" podUID="0d2b9a61" containerName="web" probeResult="failure" output="dial tcp 10.0.0.9:8080: connect: connection refused"',
        "DIAG-PROBE-READINESS",
    ),
    (
        'I1125 19:33:10.551201    1022 prober.go:117] Startup probe for "web-5d8f-abcde_shop(0d2b9a61):web" failed (failure): HTTP probe failed with statuscode: 503',
        "DIAG-PROBE-STARTUP",
    ),
    (
        '2026-11-25T19:36:02.100417Z stderr F E1125 19:36:02.100417    1022 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"web\\" with CrashLoopBackOff: \\"back-off 1m20s restarting failed container=web pod=web-5d8f-abcde_shop(0d2b9a61)\\"" pod="shop/web-5d8f-abcde"',
        "DIAG-CRASHLOOP",
    ),
    # kube-apiserver
    (
        'W1125 19:28:19.412300       1 dispatcher.go:210] Failed calling webhook, failing closed v.kyverno.svc: failed calling webhook "v.kyverno.svc": failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/validate?timeout=10s": dial tcp 10.96.12.7:443: connect: connection refused',
        "DIAG-WEBHOOK-FAILURE",
    ),
    (
        'E1125 19:28:12.870112       1 status.go:71] apiserver received an error that is not an metav1.Status: &errors.errorString{s:"etcdserver: request timed out"}: etcdserver: request timed out',
        "DIAG-APISERVER-TIMEOUT",
    ),
    (
        'E1125 19:28:12.870112       1 wrap.go:54] "Timeout: request did not complete within requested timeout - context deadline exceeded"',
        "DIAG-APISERVER-TIMEOUT",
    ),
    # etcd 3.5 / 3.4 zap JSON
    (
        '{"level":"warn","ts":"2026-11-25T19:28:10.241Z","caller":"wal/wal.go:805","msg":"slow fdatasync","took":"1.873s","expected-duration":"1s"}',
        "DIAG-ETCD-SLOW-FSYNC",
    ),
    (
        '{"level":"warn","ts":"2026-11-25T19:28:10.388Z","caller":"etcdserver/raft.go:369","msg":"leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk","to":"a7c3","heartbeat-interval":"100ms","expected-duration":"200ms","exceeded-duration":"1.52s"}',
        "DIAG-ETCD-HEARTBEAT",
    ),
    (
        '{"level":"warn","ts":"2026-11-25T19:28:11.002Z","caller":"etcdserver/util.go:166","msg":"apply request took too long","took":"1.61s","expected-duration":"100ms","prefix":"read-only range ","request":"key:\\"/registry/pods/\\" range_end:\\"/registry/pods0\\" ","response":"range_response_count:5000 size:9000000"}',
        "DIAG-ETCD-SLOW-APPLY",
    ),
    (
        '{"level":"info","ts":"2026-11-25T19:28:12.515Z","caller":"raft/node.go:325","msg":"raft.node: 3f1e lost leader a7c3 at term 8"}',
        "DIAG-ETCD-LEADER-ELECTION",
    ),
    (
        '{"level":"warn","ts":1764099000.123,"caller":"etcdserver/server.go:2320","msg":"alarm raised","alarm":"NOSPACE","from":"3f1e"}',
        "DIAG-ETCD-NOSPACE",
    ),
    # etcd capnslog text (3.4 default, older)
    (
        "2026-11-25 19:30:00.123456 W | wal: sync duration of 1.2s, expected less than 1s",
        "DIAG-ETCD-SLOW-FSYNC",
    ),
    (
        "2026-11-25 19:30:00.123456 W | etcdserver: failed to send out heartbeat on time (exceeded the 100ms timeout for 1.22s, to 8e9e05c52164694d)",
        "DIAG-ETCD-HEARTBEAT",
    ),
    (
        "2026-11-25 19:30:00.123456 W | etcdserver: apply entries took too long [221.680793ms for 1 entries]",
        "DIAG-ETCD-SLOW-APPLY",
    ),
    (
        '2026-11-25 19:30:00.123456 W | etcdserver: read-only range request "key:\\"/registry/leases\\" " with result "range_response_count:0 size:8" took too long (189.874669ms) to execute',
        "DIAG-ETCD-SLOW-APPLY",
    ),
    (
        "2026-11-25 19:30:00.123456 I | raft: raft.node: 8e9e05c52164694d lost leader 91bc3c398fb3c146 at term 5",
        "DIAG-ETCD-LEADER-ELECTION",
    ),
    (
        "Nov 25 19:30:00 cp-1 etcd[812]: failed to send out heartbeat on time (exceeded the 100ms timeout for 218.166193ms)",
        "DIAG-ETCD-HEARTBEAT",
    ),
    ("2026-11-25 19:30:00.123456 E | etcdserver: mvcc: database space exceeded", "DIAG-ETCD-NOSPACE"),
    # kubectl drain
    (
        'error when evicting pods/"ledger-0" -n "payments" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
        "DIAG-DRAIN-PDB",
    ),
    # cilium-agent logfmt
    (
        'level=warning msg="Failed to add PolicyMap key" endpointID=1834 error="update map cilium_policy_01834: argument list too long" subsys=endpoint',
        "DIAG-CILIUM-POLICY-MAP",
    ),
    (
        'time="2026-11-25T19:32:15Z" level=error msg="Map full" error="BPF map is full" subsys=policymap',
        "DIAG-CILIUM-POLICY-MAP",
    ),
    # the node's agents: systemd's word on their death, a client that cannot reach the runtime
    (
        "Nov 25 19:30:03 worker-1 systemd[1]: kubelet.service: Main process exited, code=killed, status=9/KILL",
        "DIAG-NODE-AGENT-DOWN",
    ),
    (
        "Nov 25 19:30:03 worker-1 systemd[1]: containerd.service: A process of this unit has been killed by the OOM killer.",
        "DIAG-NODE-AGENT-DOWN",
    ),
    (
        'Nov 25 19:30:04 worker-1 kubelet[1187]: E1125 19:30:04.1 1187 remote_runtime.go:193] "RunPodSandbox from runtime service failed" err="rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing dial unix /run/containerd/containerd.sock: connect: connection refused\\""',
        "DIAG-NODE-AGENT-DOWN",
    ),
    # containerd's own OOM event
    (
        'Nov 25 19:30:05 worker-1 containerd[800]: time="2026-11-25T19:30:05.1Z" level=info msg="TaskOOM event &TaskOOM{ContainerID:4bcba7fc4369fee4d7d2e6263b58fce52cfc928c6a31cfac4d43c838708991ce,XXX_unrecognized:[],}"',
        "DIAG-OOM-CGROUP",
    ),
]


@pytest.mark.parametrize(("line", "rule"), CASES, ids=[f"{i}-{r}" for i, (_, r) in enumerate(CASES)])
def test_recognises(run, line: str, rule: str) -> None:
    result = run(line + "\n")
    assert rules(result) == [rule], result.findings
    finding = result.findings[0]
    assert finding.extra["evidence"][0]["line"] == 1
    assert finding.extra["evidence"][0]["text"] == line
    assert result.summary["lines_unknown"] == 0


def test_oom_figures_and_qos(run) -> None:
    result = run(
        "Nov 25 19:30:02 worker-2 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x.scope,"
        "mems_allowed=0,oom_memcg=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3b1f6a52_9c1e_4d0b_8f7a_2e6c9d4b1a70.slice,"
        "task_memcg=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3b1f6a52_9c1e_4d0b_8f7a_2e6c9d4b1a70.slice/x.scope,"
        "task=java,pid=48211,uid=1000\n"
        "Nov 25 19:30:02 worker-2 kernel: Memory cgroup out of memory: Killed process 48211 (java) total-vm:5843212kB, "
        "anon-rss:2087340kB, file-rss:21456kB, shmem-rss:0kB, UID:1000 pgtables:4516kB oom_score_adj:1000\n"
    )
    (f,) = result.findings
    assert f.rule == "DIAG-OOM-CGROUP"
    assert f.extra["objects"] == {
        "process": "java",
        "node": "worker-2",
        "pod_uid": "3b1f6a52-9c1e-4d0b-8f7a-2e6c9d4b1a70",
    }
    assert f.extra["numbers"]["qos"] == "BestEffort"
    assert f.extra["prevented_by"] == ["RES001"]
    assert len(f.extra["evidence"]) == 2  # the Killed process line and the constraint line


def test_a_killed_node_agent_is_critical(run) -> None:
    line = (
        "[  147.377885] Memory cgroup out of memory: Killed process {pid} ({comm}) total-vm:856872kB, "
        "anon-rss:49600kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:464kB oom_score_adj:-999\n"
    )
    kubelet = run(line.format(pid=989, comm="kubelet")).findings[0]
    runtime = run(line.format(pid=990, comm="containerd"), name="c.log").findings[0]
    daemon = run(line.format(pid=991, comm="journald"), name="j.log").findings[0]
    assert kubelet.rule == runtime.rule == daemon.rule == "DIAG-OOM-RESERVED"
    assert kubelet.severity == runtime.severity == Severity.CRITICAL
    assert daemon.severity == Severity.HIGH
    assert "NotReady" in kubelet.message and "container runtime (containerd)" in runtime.message


def test_agent_down_says_which_agent_and_how(run) -> None:
    kubelet = run(
        "Nov 25 19:30:03 worker-1 systemd[1]: kubelet.service: Main process exited, code=killed, status=9/KILL\n"
    ).findings[0]
    assert kubelet.severity == Severity.CRITICAL
    assert kubelet.extra["objects"] == {"node": "worker-1", "agent": "kubelet"}
    assert (
        "The kubelet on worker-1 was killed (signal 9/KILL)" in kubelet.message
        and "NotReady" in kubelet.message
    )
    refused = run(
        "Nov 25 19:30:04 worker-1 dockerd[16642]: error dialing: dial unix /run/containerd/containerd.sock: "
        "connect: no such file or directory\n",
        name="d.log",
    ).findings[0]
    assert refused.severity == Severity.HIGH
    assert (
        "dockerd could not connect to /run/containerd/containerd.sock (no such file or directory)"
        in refused.message
    )
    # a permission problem on the socket is not the runtime being down
    assert not run("dial unix /var/run/docker.sock: connect: permission denied\n", name="p.log").findings


def test_a_node_wide_oom_names_every_process_it_killed(run) -> None:
    lines = "".join(
        f"May 15 23:13:51 node-1 kernel: [  778.97] Out of memory: Killed process {pid} ({comm}) total-vm:1kB, "
        f"anon-rss:{rss}kB, file-rss:0kB, shmem-rss:0kB\n"
        for pid, comm, rss in (
            (16432, "(journald)", 4040),
            (509, "systemd-timesyn", 812),
            (16295, "python3", 4304),
        )
    )
    (f,) = run(lines).findings
    assert f.rule == "DIAG-OOM-SYSTEM" and f.extra["count"] == 3
    assert "Processes killed: (journald), systemd-timesyn, python3." in f.message
    assert "killed python3 (pid 16295)" in f.message  # the message is the biggest kill's


def test_kubelet_json_behind_a_node_address_with_millisecond_ts(run) -> None:
    """talosctl logs: ``<node ip>: {kubelet JSON}``, ts in milliseconds since the epoch."""
    (f,) = run(
        '10.200.1.5: {"ts":1753141980841.6128,"caller":"kubelet/kubelet.go:2406","msg":"Skipping pod '
        'synchronization","err":"container runtime status check may not have completed yet"}\n'
    ).findings
    assert f.rule == "DIAG-NODE-NOT-READY"
    assert f.extra["objects"]["node"] == "10.200.1.5"
    assert f.extra["time"].startswith("2025-07-21T23:53:00")
    assert "container runtime is not answering the kubelet (its status check has not completed)" in f.message


def test_webhook_timeout_vs_refused(run) -> None:
    timeout = run(
        'failed calling webhook "a.example.com": failed to call webhook: Post "https://a.ns.svc:443/x?timeout=10s": context deadline exceeded\n'
    )
    refused = run(
        'failed calling webhook "b.example.com": failed to call webhook: Post "https://b.ns.svc:443/x?timeout=10s": dial tcp 10.0.0.1:443: connect: connection refused\n',
        name="b.log",
    )
    assert "ADM003" in timeout.findings[0].extra["prevented_by"]
    assert "ADM006" in refused.findings[0].extra["prevented_by"]
    assert timeout.findings[0].extra["objects"]["webhook"] == "a.example.com"


def test_image_pull_notes_mutable_tag(run) -> None:
    pinned = (
        'Failed to pull image "registry.example.com/app:1.2.3": rpc error: code = NotFound desc = not found\n'
    )
    latest = 'Failed to pull image "registry.example.com/app": rpc error: code = NotFound desc = not found\n'
    assert run(pinned).findings[0].extra["prevented_by"] == []
    (f,) = run(latest, name="latest.log").findings
    assert f.extra["prevented_by"] == ["IMG001"]
    assert "mutable" in f.message


def test_etcd_bootstrap_election_is_not_an_alarm(run) -> None:
    result = run(
        '{"level":"info","ts":"2026-11-25T19:25:23.828Z","caller":"raft/node.go:327","msg":"raft.node: 3cac elected leader fc88 at term 2"}\n'
        '{"level":"info","ts":"2026-11-25T19:25:23.829Z","caller":"raft/raft.go:771","msg":"fc88 became leader at term 2"}\n'
    )
    assert [f.severity for f in result.findings] == [Severity.INFO]


def test_repeated_lines_aggregate_into_one_finding(run) -> None:
    line = 'I1125 19:33:{:02d}.551201    1022 prober.go:107] "Probe failed" probeType="Liveness" pod="shop/web-1" podUID="u" containerName="web" probeResult="failure" output="HTTP probe failed with statuscode: 500"\n'
    result = run("".join(line.format(i % 60) for i in range(500)))
    (f,) = result.findings
    assert f.extra["count"] == 500
    assert [e["line"] for e in f.extra["evidence"]] == [1, 500]
    assert "Reported 500 times" in f.message


def test_kubelet_evicting_pod_with_the_eviction_message(run) -> None:
    (f,) = run(
        'I1125 19:30:04.901001    1187 eviction_manager.go:600] "Evicting pod" pod="shop/web-1" podUID="u" '
        'message="The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi. '
        'Container web was using 4Gi, request is 0, has larger consumption of ephemeral-storage. "\n'
    ).findings
    assert f.rule == "DIAG-EVICT-DISK"
    assert f.extra["objects"]["pod"] == "web-1"


def test_kernel_oom_is_named_by_the_kubelet_uid(run) -> None:
    result = run(
        'I1125 19:30:03.120001    1187 kubelet.go:2453] "SyncLoop (PLEG): event for pod" pod="batch/rep-1" '
        'event={"ID":"3b1f6a52-9c1e-4d0b-8f7a-2e6c9d4b1a70","Type":"ContainerDied","Data":"5f1c"}\n'
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x.scope,mems_allowed=0,oom_memcg=/kubepods/burstable/"
        "pod3b1f6a52-9c1e-4d0b-8f7a-2e6c9d4b1a70,task_memcg=/kubepods/burstable/pod3b1f6a52-9c1e-4d0b-8f7a-2e6c9d4b1a70/5f1c,"
        "task=java,pid=48211,uid=1000\n"
        "Memory cgroup out of memory: Killed process 48211 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, "
        "shmem-rss:0kB, UID:1000 pgtables:1kB oom_score_adj:968\n"
    )
    (f,) = result.findings
    assert (f.extra["objects"]["namespace"], f.extra["objects"]["pod"]) == ("batch", "rep-1")
    assert f.extra["prevented_by"] == ["RES002", "RES003"]


def test_empty_event_list_is_known(run) -> None:
    result = run('{\n    "apiVersion": "v1",\n    "items": [],\n    "kind": "List"\n}\n', name="none.json")
    assert result.findings == [] and result.summary["lines_unknown"] == 0


# The wording variants issue 12 lists, each in the form the component prints it.
VARIANTS = [
    (
        'level=warning msg="Failed to sync policy map" error="update map cilium_policy_01834: no space left on device" subsys=endpoint',
        "DIAG-CILIUM-POLICY-MAP",
        "cilium_policy_01834",
    ),
    (
        '{"level":"warn","ts":"2026-11-25T19:28:11.002Z","caller":"etcdserver/util.go:166","msg":"apply request took too long","took":"1m11.16s","expected-duration":"100ms"}',
        "DIAG-ETCD-SLOW-APPLY",
        "71.16 s",
    ),
    (
        "raft2026/11/25 19:50:11 INFO: 8e9e05c52164694d no leader at term 4; dropping proposal",
        "DIAG-ETCD-LEADER-ELECTION",
        "no leader",
    ),
    (
        'I1125 19:33:10.551201    1022 prober.go:116] Readiness probe for "web-5d8f-abcde_shop(0d2b9a61-8f3e):web" failed (failure): HTTP probe failed with statuscode: 503',
        "DIAG-PROBE-READINESS",
        "shop/web-5d8f-abcde",
    ),
    (
        'I1125 19:33:10.551201    1022 kubelet.go:2000] pod "web-5d8f-abcde_shop(0d2b9a61-8f3e)" container "web" is unhealthy, it will be killed and re-created.',
        "DIAG-PROBE-RESTART",
        "shop/web-5d8f-abcde",
    ),
    (
        "default   10m   Warning   EvictionThresholdMet   node/worker-2   Attempting to reclaim ephemeral-storage",
        "DIAG-NODE-DISK-PRESSURE",
        "ephemeral-storage",
    ),
    (
        "E1125 19:28:12.870112       1 wrap.go:54] Timeout: request did not complete within allowed duration",
        "DIAG-APISERVER-TIMEOUT",
        "did not complete",
    ),
]


@pytest.mark.parametrize(("line", "rule", "says"), VARIANTS, ids=[r for _, r, _ in VARIANTS])
def test_wording_variants(run, line: str, rule: str, says: str) -> None:
    (f,) = run(line + "\n").findings
    assert f.rule == rule
    assert says in f.message


def test_a_ct_insertion_drop_is_not_called_a_full_map(run) -> None:
    """``CT: Map insertion failed`` alone: a full CT map, or an insert that raced CT garbage collection
    (cilium/cilium issue 35010); only a line naming the map as full says it is full."""
    (f,) = run(
        "xx drop (CT: Map insertion failed) flow 0x0 to endpoint 0, ifindex 5, file bpf_lxc.c:1121, , identity "
        "12345->world: 10.0.1.5:53122 -> 1.1.1.1:53 udp\n"
    ).findings
    assert f.rule == "DIAG-CILIUM-CT-MAP" and "connection-tracking map is full" not in f.message
    assert (
        "either the CT map is full, or the insert raced" in f.message and "cilium_bpf_map_pressure" in f.fix
    )
    (g,) = run(
        'level=warning msg="Unable to update element" error="update map cilium_ct4_global: map full" subsys=bpf\n',
        name="b.log",
    ).findings
    assert g.rule == "DIAG-CILIUM-CT-MAP" and "connection-tracking map is full" in g.message
