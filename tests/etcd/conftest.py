"""Fixtures for the etcd tests: the premortem CLI, real etcd members, and a FUSE mount with a slow fsync.

The real components are module-scoped and torn down in finalizers (processes stopped, mounts
unmounted with fusermount3 -u or umount -l), also when a test fails. They skip, with the reason, only
when the machine genuinely lacks them: no etcd binary, no /dev/fuse, or FUSE mounts not permitted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from .etcd_harness import (
    Certs,
    Cluster,
    Member,
    SlowMount,
    Unavailable,
    etcdctl,
    free_ports,
    load,
    run_premortem,
)

DATA = Path(__file__).resolve().parent / "data"

# A fsync delay well above etcd's 10 ms guidance, and above 2x the cluster test's heartbeat interval,
# so the leader on the slow mount misses heartbeats within a few writes.
SLOW_FSYNC_SECONDS = 0.03
CLUSTER_HEARTBEAT_MS = 10
CLUSTER_ELECTION_MS = 1000  # high enough that the fast members never start an election under CI load


@pytest.fixture
def premortem() -> Callable[..., CompletedProcess[str]]:
    return run_premortem


@pytest.fixture
def data() -> Path:
    return DATA


# -- real components


def _memory_dir() -> Path:
    """A fresh directory on tmpfs when there is one: fsync costs nothing there, so 'fast' is certain."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="premortem-etcd-", dir=base))


@pytest.fixture(scope="session")
def etcd_binary() -> str:
    etcd = shutil.which("etcd")
    if not etcd or not shutil.which("etcdctl"):
        pytest.skip(
            "etcd/etcdctl not installed (scripts/install-test-deps.sh installs etcd-server etcd-client)"
        )
    return etcd


@pytest.fixture(scope="module")
def memory_dir() -> Iterator[Path]:
    path = _memory_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def slow_mount(memory_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowMount]:
    """A FUSE passthrough over a tmpfs directory: fsync costs SLOW_FSYNC_SECONDS and nothing else."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is not available on this machine")
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        pytest.skip("fusermount3 not installed (scripts/install-test-deps.sh installs fuse3)")
    mount = SlowMount(
        memory_dir / "slow-backing", tmp_path_factory.mktemp("slowfs") / "mnt", SLOW_FSYNC_SECONDS
    )
    try:
        mount.start()
    except Unavailable as exc:
        mount.close()
        pytest.skip(str(exc))
    except BaseException:
        mount.close()
        raise
    yield mount
    mount.close()


def _one_member(etcd: str, name: str, data_root: Path, log_dir: Path, writes: int) -> Iterator[Member]:
    client, peer = free_ports(2)
    member = Member(name, client, peer, data_root / name, log_dir / f"{name}.log")
    cluster = Cluster([member])
    try:
        cluster.start(etcd)
        load(member, writes)
        yield member
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def healthy_etcd(
    etcd_binary: str, memory_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Member]:
    """One etcd member with its data dir on tmpfs, after 200 writes."""
    yield from _one_member(etcd_binary, "healthy", memory_dir, tmp_path_factory.mktemp("etcd-healthy"), 200)


@pytest.fixture(scope="module")
def slow_etcd(
    etcd_binary: str, slow_mount: SlowMount, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Member]:
    """One etcd member with its whole data dir (WAL and bbolt) on the slow mount, after 40 writes."""
    yield from _one_member(
        etcd_binary, "slow", slow_mount.mountpoint, tmp_path_factory.mktemp("etcd-slow"), 40
    )


@pytest.fixture(scope="module")
def slow_leader_cluster(
    etcd_binary: str, slow_mount: SlowMount, memory_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Three members on loopback; member m0 keeps its data on the slow mount and is made the leader
    (etcdctl move-leader), then takes writes until etcd itself logs missed heartbeats."""
    logs = tmp_path_factory.mktemp("etcd-cluster")
    ports = free_ports(6)
    members = [
        Member(f"m{i}", ports[2 * i], ports[2 * i + 1], (slow_mount.mountpoint if i == 0 else memory_dir) / f"c-m{i}",
               logs / f"m{i}.log")
        for i in range(3)
    ]  # fmt: skip
    cluster = Cluster(members)
    try:
        cluster.start(etcd_binary, CLUSTER_HEARTBEAT_MS, CLUSTER_ELECTION_MS)
        slow = members[0]
        leader = cluster.leader()
        for attempt in range(5):  # the transferee must have caught up; retry briefly after bootstrap
            if leader is slow:
                break
            try:
                etcdctl(leader or members[1], "move-leader", cluster.member_id(slow))
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(0.5)
            leader = cluster.leader()
        deadline = time.monotonic() + 30
        while "leader failed to send out heartbeat on time" not in slow.log_text():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no heartbeat warning from the slow leader in 30 s:\n{slow.log_text()[-3000:]}"
                )
            load(slow, 10, prefix="premortem/cluster/")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def tls_etcd(
    etcd_binary: str, memory_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Member, str]]:
    """One member serving clients over https with --client-cert-auth (as kubeadm does on 2379), plus
    plain-http metrics on another port (as kubeadm's --listen-metrics-urls http://127.0.0.1:2381).
    Yields the member and that plain metrics URL."""
    directory = tmp_path_factory.mktemp("etcd-tls")
    certs = Certs(DATA / "pki" / "main")
    client, peer, metrics = free_ports(3)
    member = Member("tls", client, peer, memory_dir / "tls", directory / "tls.log", tls=certs)
    member.extra_args = ["--listen-metrics-urls", f"http://127.0.0.1:{metrics}"]
    cluster = Cluster([member])
    try:
        cluster.start(etcd_binary)
        load(member, 5)
        yield member, f"http://127.0.0.1:{metrics}/metrics"
    finally:
        cluster.stop()
