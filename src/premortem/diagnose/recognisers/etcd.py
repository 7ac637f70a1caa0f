"""etcd and the API server waiting on it, in etcd's words in 3.5 and 3.4 (server/etcdserver/raft.go
``leader failed to send out heartbeat on time``; util.go ``apply request took too long``, older
``apply entries took too long [%v for %d entries]`` and ``... took too long (%v) to execute``;
server/storage/wal/wal.go ``slow fdatasync``, capnslog ``sync duration of %v, expected less than %v``;
raft/raft.go and node.go: ``is starting a new election at term``, ``became follower at term``, ``lost
leader``, ``elected leader``, ``no leader at term %d; dropping proposal``; the NOSPACE alarm) and in
kube-apiserver's (``etcdserver: request timed out``, ``Timeout: request did not complete within
requested timeout``/``allowed duration``).

Durations are shown as written (``142.12 ms``), with etcd's own warning threshold when the line
gives it (``expected-duration``); a duration that cannot be read is left out of the message.
"""

from __future__ import annotations

import re

from premortem.diagnose.figures import Duration, duration
from premortem.diagnose.recognisers import KNOWN, Result, State, recogniser
from premortem.diagnose.records import Record, Sighting
from premortem.findings import Severity

_FIX_DISK = (
    "Put the etcd data dir (at least member/wal) on a dedicated low-latency SSD/NVMe that nothing else writes to; "
    "measure it with `premortem etcd --disk DIR` (WAL fsync p99 should be under 10 ms)."
)
_DUR = r"(\d+(?:\.\d+)?(?:h|ms|µs|us|μs|ns|m|s)(?:\d+(?:\.\d+)?(?:ms|µs|us|μs|ns|m|s)){0,3})"
_SYNC_TEXT = re.compile(rf"sync duration of {_DUR}, expected less than {_DUR}")
_HEARTBEAT_TEXT = re.compile(rf"exceeded the {_DUR} timeout for {_DUR}")
_HEARTBEAT_DEADLINE = re.compile(rf"deadline exceeded for {_DUR}")
_TOOK_TEXT = re.compile(rf"took too long \({_DUR}\)|took too long \[{_DUR} for")


def _member(rec: Record) -> str:
    """The member: its host when a journald/syslog prefix names it, else the log file's name."""
    return rec.host or rec.file.rsplit("/", 1)[-1]


def _etcd_itself(rec: Record) -> bool:
    return (
        rec.process == "etcd"
        or rec.source == "etcd-text"
        or str(rec.fields.get("caller", "")).startswith(("etcdserver/", "wal/", "raft/", "v3rpc/"))
    )


def _shown(d: Duration | None, fallback: str = "") -> str:
    return str(d) if d is not None else fallback


@recogniser("slow fdatasync", "sync duration of")
def etcd_fsync(rec: Record, state: State) -> Result:
    took = duration(rec.fields.get("took"))
    expected = duration(rec.fields.get("expected-duration"))
    m = _SYNC_TEXT.search(rec.message)
    if m:
        took, expected = duration(m.group(1)), duration(m.group(2))
    if took is None and "slow fdatasync" not in rec.message:
        return None
    member = _member(rec)
    took_text = f" took {took}" if took else " was slow"
    return Sighting(
        "DIAG-ETCD-SLOW-FSYNC",
        (member,),
        f"etcd's WAL fdatasync{took_text} (etcd warns above {_shown(expected, '1 s')}; a healthy disk does it in under "
        "10 ms at p99). Every write waits for this sync: the etcd disk is too slow or shared, the leader misses "
        "heartbeats and followers call elections.",
        _FIX_DISK,
        objects={"etcd": member},
        worst=took.seconds if took else None,
        numbers={"took": _shown(took) or None, "took_seconds": took.seconds if took else None},
    )


@recogniser("failed to send out heartbeat on time", "server is likely overloaded")
def etcd_heartbeat(rec: Record, state: State) -> Result:
    if "failed to send out heartbeat" not in rec.message:
        return KNOWN  # the second line of the capnslog warning
    exceeded = duration(rec.fields.get("exceeded-duration"))
    interval = duration(rec.fields.get("heartbeat-interval"))
    m = _HEARTBEAT_TEXT.search(rec.message)
    if m:
        interval, exceeded = duration(m.group(1)), duration(m.group(2))
    else:
        d = _HEARTBEAT_DEADLINE.search(rec.message)
        if d:
            exceeded = duration(d.group(1))
    member = _member(rec)
    late = f" (late by {exceeded}" if exceeded else " ("
    late += f", heartbeat interval {interval})" if interval else (")" if exceeded else "")
    return Sighting(
        "DIAG-ETCD-HEARTBEAT",
        (member,),
        f"The etcd leader failed to send heartbeats on time{late if late != ' (' else ''}. etcd's own diagnosis: the "
        "leader is overloaded, most likely from a slow disk. Followers that miss heartbeats for the election timeout "
        "start an election.",
        _FIX_DISK,
        objects={"etcd": member},
        worst=exceeded.seconds if exceeded else None,
        numbers={
            "exceeded": _shown(exceeded) or None,
            "exceeded_seconds": exceeded.seconds if exceeded else None,
            "heartbeat_interval": _shown(interval) or None,
        },
    )


@recogniser("took too long", "avoid queries with large range")
def etcd_slow_apply(rec: Record, state: State) -> Result:
    text = rec.message
    if "avoid queries" in text:
        return KNOWN
    etcdish = _etcd_itself(rec) or "apply" in text or "etcdserver" in text or "range request" in text
    if not etcdish or "waiting for ReadIndex" in text:
        return None
    took = duration(rec.fields.get("took"))
    expected = duration(rec.fields.get("expected-duration"))
    m = _TOOK_TEXT.search(text)
    if m:
        took = duration(m.group(1) or m.group(2))
    member = _member(rec)
    if took is not None and took.seconds < 0.05:
        severity: Severity | None = Severity.INFO
        note = (
            " That is normal: the etcd FAQ calls applies under 50 ms normal, and current etcd warns only above "
            "100 ms; an older etcd warned this eagerly."
        )
    else:
        severity = Severity.HIGH if took is not None and took.seconds >= 1.0 else None
        note = (
            " Slow applies come from a slow backend disk (bbolt commits), a large range request, or CPU starvation; "
            "the API server's requests queue behind them."
        )
    took_text = f"took {took} to apply a request" if took else "applied requests slowly"
    return Sighting(
        "DIAG-ETCD-SLOW-APPLY",
        (member,),
        f"etcd {took_text} (it warns above {_shown(expected, '100 ms')}).{note}",
        _FIX_DISK + " Avoid unpaginated LISTs of large resources.",
        severity=severity,
        objects={"etcd": member},
        worst=took.seconds if took else None,
        numbers={"took": _shown(took) or None, "took_seconds": took.seconds if took else None},
    )


_ELECTION = re.compile(
    r"(is starting a new election at term (\d{1,12})|elected leader \S{1,32} at term (\d{1,12})|"
    r"lost leader \S{1,32} at term (\d{1,12})|changed leader from \S{1,32} to \S{1,32} at term (\d{1,12})|"
    r"became leader at term (\d{1,12})|no leader at term (\d{1,12})|became follower at term (\d{1,12})|"
    r"became (?:pre-)?candidate at term (\d{1,12}))"
)
_HIGHER_TERM = re.compile(r"message with higher term from \S{1,32} \[term: (\d{1,12})\]")

# raft: "%x [term %d] received MsgTimeoutNow from %x and starts an election to get leadership." (the
# transferee) and "%x [term %d] starts to transfer leadership to %x" (the old leader): a deliberate
# leadership transfer (etcdctl move-leader, a member shutting down), whose election is at term + 1.
_TRANSFER = re.compile(r"\[term:? (\d{1,12})\] (?:received MsgTimeoutNow|starts to transfer leadership)")
_TRANSFER_TERMS = "etcd_transfer_terms"


@recogniser("MsgTimeoutNow", "starts to transfer leadership")
def etcd_leader_transfer(rec: Record, state: State) -> Result:
    m = _TRANSFER.search(rec.message)
    if not m:
        return None
    state.setdefault(_TRANSFER_TERMS, set()).add(int(m.group(1)) + 1)
    return KNOWN


# raft: "%x received MsgVoteResp from %x at term %d" (also MsgPreVoteResp, and the old "received vote
# from"): who granted a candidate its votes. A candidate that becomes leader with its own vote alone
# is the only voter: a one-member cluster starting, where there is no other member to lose a leader to.
_VOTE = re.compile(
    r"(\S{1,32}) received (?:MsgVoteResp|MsgPreVoteResp|vote) from (\S{1,32}) at term (\d{1,12})"
)
_BECAME_LEADER = re.compile(r"(\S{1,32}) became leader at term (\d{1,12})")
_VOTERS = "etcd_voters"


@recogniser("received MsgVoteResp", "received MsgPreVoteResp", "received vote from")
def etcd_vote(rec: Record, state: State) -> Result:
    m = _VOTE.search(rec.message)
    if not m or "rejection" in rec.message:
        return None
    state.setdefault(_VOTERS, {}).setdefault((m.group(1), m.group(3)), set()).add(m.group(2))
    return KNOWN


def _only_voter(rec: Record, state: State) -> int | None:
    """The term at which this member became leader on its own vote alone, if it did."""
    m = _BECAME_LEADER.search(rec.message)
    if not m:
        return None
    voters = state.get(_VOTERS, {}).get((m.group(1), m.group(2)))
    return int(m.group(2)) if voters == {m.group(1)} else None


@recogniser("with higher term")
def etcd_higher_term(rec: Record, state: State) -> Result:
    m = _HIGHER_TERM.search(rec.message)
    if not m:
        return None
    state["etcd_higher_term"] = int(m.group(1))
    return KNOWN


@recogniser(
    "new election",
    "elected leader",
    "lost leader",
    "changed leader",
    "became leader",
    "no leader at term",
    "became follower at term",
    "became candidate at term",
    "became pre-candidate at term",
)
def etcd_election(rec: Record, state: State) -> Result:
    m = _ELECTION.search(rec.message)
    if not m:
        return None
    term = next((int(g) for g in m.groups()[1:] if g), 0)
    what = m.group(1)
    if what.startswith("became follower") and state.get("etcd_higher_term") != term:
        return KNOWN  # a member starting up at its stored term, not a leader change
    member = _member(rec)
    seen = state.setdefault("etcd_terms", {}).setdefault(member, [term, term])
    seen[0], seen[1] = min(seen[0], term), max(seen[1], term)
    terms = f"term {seen[0]}" if seen[0] == seen[1] else f"terms {seen[0]} to {seen[1]}"
    alone = _only_voter(rec, state)
    if alone is not None:
        return Sighting(
            "DIAG-ETCD-LEADER-ELECTION",
            (member,),
            f"etcd elected itself leader at term {alone} with its own vote alone: it is the only voting member, "
            "so this is a one-member cluster starting (or restarting), not a leader lost to a slow disk or network. "
            "Writes were unavailable only while it started.",
            "Nothing to fix in etcd for this; a single member has no failover, so run 3 members where the control "
            "plane must survive a node.",
            severity=Severity.INFO,
            objects={"etcd": member},
            numbers={"term": alone, "single_member": True},
            decisive=True,
        )
    if term in state.get(_TRANSFER_TERMS, ()):
        return Sighting(
            "DIAG-ETCD-LEADER-ELECTION",
            (member,),
            f"etcd moved its leader on purpose at term {term} (a leadership transfer: etcdctl move-leader or a leader "
            "shutting down). Writes pause for one round trip; this is not a symptom of a slow disk.",
            "Nothing to fix for a deliberate transfer.",
            severity=Severity.INFO,
            objects={"etcd": member},
            worst=float(term),
            numbers={"term": term, "transfer": True},
        )
    disruptive = term > 2 or what.startswith(("lost leader", "changed leader", "no leader"))
    lost = "had no leader" if what.startswith("no leader") else "changed or lost its leader"
    return Sighting(
        "DIAG-ETCD-LEADER-ELECTION",
        (member,),
        f"etcd {lost} ({terms}): while a new leader is elected (one election timeout, 1s by default, often longer) "
        "no write commits and the API server returns `etcdserver: leader changed` or times out. Elections after "
        "bootstrap mean the leader missed heartbeats: a slow disk, an overloaded member or a lossy network.",
        _FIX_DISK,
        severity=None if disruptive else Severity.INFO,
        objects={"etcd": member},
        worst=float(term),
        numbers={"term": term},
    )


@recogniser("NOSPACE", "database space exceeded", "etcdserver: no space")
def etcd_nospace(rec: Record, state: State) -> Result:
    """The alarm, the client error (``mvcc: database space exceeded``) and the server's own refusal
    (server/etcdserver/errors.go ErrNoSpace, ``etcdserver: no space``)."""
    member = _member(rec)
    said = next(
        (w for w in ("mvcc: database space exceeded", "etcdserver: no space", "NOSPACE") if w in rec.message),
        "NOSPACE",
    )
    return Sighting(
        "DIAG-ETCD-NOSPACE",
        (member,),
        f"etcd's backend reached its quota (`{said}`: the NOSPACE alarm is raised): etcd accepts only reads and "
        "deletes, so nothing can be written: no pod, lease or status update.",
        "Compact and defragment (etcdctl compact, etcdctl defrag), then `etcdctl alarm disarm`; keep "
        "--quota-backend-bytes at most 8 GiB and alert on db size at 70% of it.",
        objects={"etcd": member},
    )


_APISERVER_TIMEOUTS = (
    "has no leader",
    "could not be completed at this time, please try again",
    "etcd cluster is unavailable or misconfigured",
    "Timeout: request did not complete within",
    "unable to return a response in the time allotted",
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: too many requests",
    "http: Handler timeout",
)


@recogniser(
    "has no leader",
    "could not be completed at this time",
    "etcd cluster is unavailable or misconfigured",
    "request did not complete within",
    "unable to return a response in the time allotted",
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: too many requests",
    "Handler timeout",
)
def apiserver_timeout(rec: Record, state: State) -> Result:
    hit = next((t for t in _APISERVER_TIMEOUTS if t in rec.message), None)
    if hit is None:
        return None
    if hit.startswith("etcdserver") and _etcd_itself(rec):
        # etcd's HTTP API answering a client (etcdhttp: got unexpected response error ...): the API
        # server is that client. Its own internal requests timing out say nothing new: its slow-apply
        # and election lines say why.
        if "etcdhttp" not in rec.message and "unexpected response error" not in rec.message:
            return KNOWN
        member = _member(rec)
        return Sighting(
            "DIAG-APISERVER-TIMEOUT",
            (member,),
            f"etcd answers its clients (the API server) `{hit}`: it could not commit their requests in time (no "
            "leader, a member it cannot reach, or a slow disk), so API requests fail and leases may expire.",
            "Look at the etcd findings in the same story (elections, unreachable peers, slow disk) and fix that "
            "first.",
            objects={"etcd": member},
        )
    where = rec.host or rec.file
    etcd = hit.startswith("etcdserver") or "leader" in hit or hit.startswith("etcd cluster")
    shown = {
        "has no leader": "etcd member ... has no leader",
        "could not be completed at this time, please try again": "ServerTimeout: the operation could not be "
        "completed at this time, please try again",
    }.get(hit, hit)
    return Sighting(
        "DIAG-APISERVER-TIMEOUT",
        (where,),
        f"API server requests fail with `{shown}`"
        + (
            ": etcd could not commit in time (no leader, or a slow disk). Controllers, kubelets and kubectl see "
            "errors; leases may expire."
            if etcd
            else ": the request outlived its deadline, usually waiting on etcd or on an admission webhook."
        ),
        "Look at the etcd findings in the same story: the fix is usually etcd's disk. Then check webhook timeouts "
        "(timeoutSeconds <= 5).",
        objects={"apiserver": where},
    )
