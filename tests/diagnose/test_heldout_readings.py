"""The readings the held-out set (tests/diagnose/heldout/) asked for, one at a time, on short
evidence of each shape: envelopes, wrapped and cut input, and the claims that follow the evidence."""

from __future__ import annotations

from premortem.diagnose.parsers import envelope, events_doc
from premortem.diagnose.records import Record
from premortem.findings import Severity

from .helpers import rules


def _strip(line: str) -> tuple[str, Record]:
    rec = Record("f", 1, line, "text", line)
    return envelope.strip(line, rec), rec


def test_envelopes_of_other_programs_are_stripped() -> None:
    inner, rec = _strip("1/16/2017 8:25:02 PM2017-01-16 19:25:02.067526 E | etcdhttp: x")
    assert inner.startswith("2017-01-16 19:25:02")  # Rancher 1.x, glued to the line
    inner, rec = _strip("2015-11-13_22:08:10.35486 2015-11-13 22:08:10.354738 E | etcdhttp: x")
    assert inner.startswith("2015-11-13 22:08:10") and rec.time is not None  # svlogd
    inner, rec = _strip("2023-12-04T10:49:30.127Z In(05) vcpu-5 - Guest: <6>[39291577.009360] Memory cgroup")
    assert inner == "[39291577.009360] Memory cgroup"  # VMware guest log, printk priority
    assert rec.time is not None and rec.time.year == 2023
    inner, rec = _strip("Nov 25 01:35:50.330 W pod=web-1 ns=shop node=n1 Readiness probe failed: x")
    assert inner == "Readiness probe failed: x"  # OpenShift's e2e monitor
    assert (rec.namespace, rec.name, rec.node, rec.level) == ("shop", "web-1", "n1", "warning")
    assert envelope.is_prefix("Apr  4 08:38:43 host etcd: ")
    assert not envelope.is_prefix("Error from server: ")


def test_a_memory_cgroup_report_cut_before_its_kill_line_is_a_limit(run) -> None:
    result = run(
        "[100.000001] Memory cgroup stats for /kubepods/burstable/pod0330b2c1-a15b-4cdd-b5e5-72d4a90bee82/"
        "c7eb: cache:0KB rss:613460KB\n"
        "[100.000002] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n"
    )
    (f,) = result.findings
    assert f.rule == "DIAG-OOM-CGROUP" and "Burstable" in f.message
    assert "stops before its kill line" in f.message


def test_a_one_member_etcd_electing_itself_is_not_a_lost_leader(run) -> None:
    line = '{{"level":"info","ts":"2023-04-13T18:06:45.130+0200","logger":"raft","msg":"7924 {}"}}\n'
    lines = (
        "is starting a new election at term 22",
        "became candidate at term 23",
        "received MsgVoteResp from 7924 at term 23",
        "became leader at term 23",
        "elected leader 7924 at term 23",
    )
    (f,) = run("".join(line.format(m) for m in lines)).findings
    assert f.severity == Severity.INFO and "only voting member" in f.message
    # with a second voter it is an election among members, as before
    three = (*lines[:3], "received MsgVoteResp from 5555 at term 23", *lines[3:])
    (g,) = run("".join(line.format(m) for m in three), name="b.log").findings
    assert g.severity == Severity.HIGH


def test_etcd_no_space_and_the_server_timeout_status(run) -> None:
    (f,) = run(
        '{"level":"warn","ts":"2022-03-13T17:21:30.783-0700","caller":"etcdserver/util.go:123",'
        '"msg":"failed to apply request","error":"etcdserver: no space"}\n'
    ).findings
    assert f.rule == "DIAG-ETCD-NOSPACE" and "`etcdserver: no space`" in f.message
    (g,) = run(
        'I0216 18:51:03.798075   23153 request.go:905] Response Body: {"ErrStatus":{"status":"Failure","message":'
        '"The  operation against  could not be completed at this time, please try again.","reason":"ServerTimeout"}}\n',
        name="b.log",
    ).findings
    assert g.rule == "DIAG-APISERVER-TIMEOUT" and "ServerTimeout" in g.message


def test_etcd_answering_its_clients_request_timed_out(run) -> None:
    result = run(
        "2017-01-16 19:25:02.067526 E | etcdhttp: got unexpected response error (etcdserver: request timed out)\n"
        '2020-03-25 13:06:51.465243 W | etcdserver: failed to revoke 1501 ("etcdserver: request timed out")\n'
    )
    (f,) = result.findings  # etcd's own lease revoke timing out is context, not a second finding
    assert f.rule == "DIAG-APISERVER-TIMEOUT" and "answers its clients" in f.message


def test_a_hard_wrapped_event_message_is_one_record(run) -> None:
    result = run(
        'Warning  Failed     76s                 kubelet            Failed to pull image "busybox": rpc error: code = Unknown\n'
        'desc = failed to pull and unpack image "docker.io/library/busybox:latest": failed to copy: open:\n'
        "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.\n"
        "You may increase the limit by authenticating and upgrading\n"
    )
    (f,) = result.findings
    assert f.rule == "DIAG-IMAGE-PULL" and "rate limit" in f.message and f.extra["prevented_by"] == ["IMG001"]
    assert f.extra["evidence"][0]["text"].count("\n") == 2  # the three lines of the message, as pasted


def test_separate_messages_are_not_joined(run) -> None:
    result = run(
        "slow fdatasync took 1.307701648s expected-duration 1s\n"
        "slow fdatasync took 1.435510664s expected-duration 1s\n"
        "Back-off restarting failed container\n"
        "Error syncing pod, skipping: failed to StartContainer\n"
    )
    assert result.findings[0].extra["count"] == 2
    assert result.summary["formats"].get("continued", 0) == 0


def test_a_json_member_pasted_alone_and_cut_is_read(run) -> None:
    result = run(
        '      "containerStatuses": [\n'
        "        {\n"
        '          "name": "cache",\n'
        '          "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", '
        '"finishedAt": "2020-11-12T16:21:10Z"}},\n'
        '          "restartCount": 2,\n'
        '          "image": "redis:6",\n'
    )
    (f,) = result.findings
    assert (f.rule, f.extra["objects"]["container"], f.extra["time"]) == (
        "DIAG-OOMKILLED",
        "cache",
        "2020-11-12T16:21:10Z",
    )
    assert events_doc.close_cut('{"a": [1, {"b": "c"') == '{"a": [1, {"b": "c"}]}'
    assert events_doc.close_cut('{"a": "cut in a str') == '{"a": "cut in a str'  # nothing to close it to


def test_a_describe_pasted_with_blank_lines_between_its_lines(run) -> None:
    result = run(
        "Name:               k8s-master-1\n\nRoles:              master\n\n"
        "Taints:             node.kubernetes.io/unreachable:NoExecute\n\n"
        "                    node.kubernetes.io/unreachable:NoSchedule\n\nUnschedulable:      false\n"
    )
    (f,) = result.findings
    assert f.rule == "DIAG-NODE-NOT-READY" and f.extra["objects"]["node"] == "k8s-master-1"
    assert "node.kubernetes.io/unreachable" in f.message


def test_a_describe_events_section_is_named_by_its_scheduled_row(run) -> None:
    result = run(
        "Events:\n"
        "  Type     Reason     Age                  From               Message\n"
        "  ----     ------     ----                 ----               -------\n"
        "  Normal   Scheduled  2m34s                default-scheduler  Successfully assigned shop/web-1 to n1\n"
        '  Warning  Failed     16s (x2 over 90s)    kubelet            Failed to pull image "web:latest": not found\n'
        "  Warning  Failed     16s (x2 over 90s)    kubelet            Error: ErrImagePull\n"
    )
    assert rules(result) == ["DIAG-IMAGE-PULL"]
    objects = result.findings[0].extra["objects"]
    assert (objects["namespace"], objects["pod"], objects["node"]) == ("shop", "web-1", "n1")


def test_webhook_and_registry_failures_are_said_in_their_own_words(run) -> None:
    (f,) = run(
        'dispatcher.go:153] Failed calling webhook, failing closed v.example.sh: failed calling webhook "v.example.sh":'
        ' failed to call webhook: Post "https://svc.ns.svc:443/v1/admit?timeout=3s": no endpoints available for'
        ' service "svc"\n'
    ).findings
    assert "`no endpoints available for service svc`" in f.message and "failing closed" in f.message
    assert "kube-system" not in f.fix  # advised only when the rejected object is in kube-system
    (g,) = run(
        'Failed to pull image "r.example/app:1.0": failed to resolve reference: 401 Unauthorized\n',
        name="b.log",
    ).findings
    assert "unauthorized" in g.message


def test_excluding_kube_system_is_advised_when_the_rejected_object_is_there(run) -> None:
    (f,) = run(
        "NAMESPACE     LAST SEEN   TYPE      REASON         OBJECT                          MESSAGE\n"
        "kube-system   2m          Warning   FailedCreate   replicaset/coredns-5d78c9869d   Error creating: Internal"
        ' error occurred: failed calling webhook "v.example.sh": failed to call webhook: Post'
        ' "https://svc.ns.svc:443/v?timeout=10s": context deadline exceeded\n'
    ).findings
    assert f.severity == Severity.CRITICAL and "exclude kube-system" in f.fix


CONSTRAINT = (
    "oom-kill:constraint={},nodemask=(null),cpuset=ef80,mems_allowed=0,oom_memcg={},"
    "task_memcg=/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012/ef80,task=manager,pid=966,uid=0"
)


def test_the_constraint_summary_alone_names_the_victim_and_the_scope(run) -> None:
    limit = "/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012"
    (f,) = run(f"[180042.118480] {CONSTRAINT.format('CONSTRAINT_MEMCG', limit)}\n").findings
    assert f.rule == "DIAG-OOM-CGROUP" and "manager (pid 966)" in f.message and "Burstable" in f.message
    (g,) = run(f"[180042.118480] {CONSTRAINT.format('CONSTRAINT_NONE', '')}\n", name="b.log").findings
    assert g.rule != "DIAG-OOM-CGROUP"


def test_a_long_line_the_terminal_wrapped_mid_word_is_joined(run) -> None:
    limit = "/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012"
    line = f"[180042.118480] {CONSTRAINT.format('CONSTRAINT_MEMCG', limit)}\n"
    cut = line.index("-907c") + 4
    result = run(line[:cut] + "\n" + line[cut:])
    (f,) = result.findings
    assert "manager (pid 966)" in f.message and result.summary["lines_unknown"] == 0
    # a short line, or one that ends a word, is not held for a next line
    result = run(
        "I1125 19:30:00.1 1 setters.go:1] Node became not ready\nsomething else entirely happened here\n",
        name="b.log",
    )
    assert result.summary["formats"].get("continued", 0) == 0


def test_openshift_event_locators_name_the_pod_and_the_repeats(run) -> None:
    (f,) = run(
        "event happened 56 times, something is wrong: ns/csi pod/ctrl-6747df4b84-bc96x node/master-1 - "
        "reason/BackOff Back-off restarting failed container\n"
    ).findings
    assert f.rule == "DIAG-CRASHLOOP" and f.extra["count"] == 56
    assert (f.extra["objects"]["namespace"], f.extra["objects"]["pod"]) == ("csi", "ctrl-6747df4b84-bc96x")
    (g,) = run(
        "Nov 25 01:35:50.330 W ns/shop pod/web-1 node/n1 - reason/Unhealthy Liveness probe failed: HTTP probe "
        "failed with statuscode: 500\n",
        name="b.log",
    ).findings
    assert g.rule == "DIAG-PROBE-LIVENESS" and g.extra["objects"]["pod"] == "web-1"


def test_a_host_the_paste_hid_is_no_node(run) -> None:
    (f,) = run(
        f"Aug 30 06:58:55.050705 ... kernel: {CONSTRAINT.format('CONSTRAINT_MEMCG', '/kubepods/burstable/podx')}\n"
    ).findings
    assert "..." not in f.message and "node" not in f.extra["objects"]


def test_journald_in_a_cjk_locale_names_host_and_process() -> None:
    for month in ("6月", "6월"):
        inner, rec = _strip(f"{month} 16 21:40:46 runh-master-1 kubelet[691]: W0616 21:40:46.540391 x")
        assert inner.startswith("W0616") and (rec.host, rec.process) == ("runh-master-1", "kubelet")
        assert rec.time is not None and (rec.time.month, rec.time.day) == (6, 16)


def test_a_runtime_socket_anywhere_is_that_runtime(run) -> None:
    result = run(
        "  Warning  ContainerGCFailed  22s (x16 over 15m)   kubelet  rpc error: code = Unavailable desc = connection"
        ' error: desc = "transport: Error while dialing: dial unix /var/snap/microk8s/common/run/containerd.sock:'
        ' connect: connection refused"\n'
    )
    (f,) = result.findings
    assert f.rule == "DIAG-NODE-AGENT-DOWN" and f.extra["objects"]["agent"] == "containerd"
    assert f.message.startswith("containerd") and "kubelet could not connect" in f.message
