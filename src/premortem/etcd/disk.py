"""A WAL-like disk benchmark: what etcd's write-ahead log asks of a disk.

The same shape as the fio recipe the etcd maintainers point to
(``fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300``): sequential 2300-byte writes
to one file, each followed by fdatasync, and the fdatasync latencies are what counts (etcd's guidance:
WAL fsync p99 under 10 ms).
"""

from __future__ import annotations

import math
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BLOCK_SIZE = 2300
DEFAULT_SIZE = 22 * 1024**2
TEMP_PREFIX = ".premortem-etcd-disk-"


class DiskError(Exception):
    """The directory cannot be benchmarked (missing, not a directory, not writable)."""


@dataclass
class DiskResult:
    directory: str
    filesystem: str | None
    block_size: int
    bytes_written: int
    elapsed_seconds: float
    latencies: list[float] = field(repr=False, default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the fdatasync latencies (p in 0..100)."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "filesystem": self.filesystem,
            "block_size": self.block_size,
            "bytes_written": self.bytes_written,
            "writes": self.writes,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "fdatasync_p50_seconds": self.percentile(50),
            "fdatasync_p99_seconds": self.percentile(99),
            "fdatasync_max_seconds": max(self.latencies),
        }


def parse_size(text: str) -> int:
    """``22m``, ``22MiB``, ``512k``, ``100000``: binary units, as fio reads them."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"invalid size {text!r}: use bytes or a number with k, m or g (e.g. 22m)")
    number, unit = float(match.group(1)), match.group(2).lower()
    value = int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])
    if value < BLOCK_SIZE:
        raise ValueError(f"size {text!r} is smaller than one {BLOCK_SIZE}-byte write")
    return value


def filesystem_type(directory: str) -> str | None:
    """The type of the filesystem holding ``directory`` (from /proc/self/mountinfo), if known."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(directory)
    best, best_type = "", None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount_point = fields[4].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, right.split()[0]
    return best_type


def check_directory(directory: str) -> None:
    path = Path(directory)
    if not path.exists():
        raise DiskError(f"{directory}: no such directory")
    if not path.is_dir():
        raise DiskError(f"{directory}: not a directory (give the directory etcd's data or WAL would live in)")


# Space left free beside the benchmark file: filling a disk etcd (or anything) lives on is an outage.
FREE_MARGIN = 64 * 1024**2


def check_free_space(directory: str, size: int) -> None:
    """Refuse a benchmark that would fill the filesystem (etcd on a full disk stops accepting writes)."""
    try:
        stats = os.statvfs(directory)
    except OSError:
        return
    if stats.f_flag & os.ST_RDONLY:
        return  # creating the file fails with its own, clearer message
    free = stats.f_bavail * stats.f_frsize
    if free < size + FREE_MARGIN:
        raise DiskError(
            f"{directory}: only {free / 1024**2:.1f} MiB free; writing {size / 1024**2:.1f} MiB would leave "
            f"less than {FREE_MARGIN // 1024**2} MiB on a filesystem etcd may live on. Use a smaller --size "
            "or free some space"
        )


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while the benchmark runs, so its cleanup always happens."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def benchmark(
    directory: str,
    size: int = DEFAULT_SIZE,
    block_size: int = BLOCK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> DiskResult:
    """Write ``size`` bytes in ``block_size`` blocks to a temporary file in ``directory``, fdatasync
    after each write, and return the fdatasync latencies. The file is removed whatever happens."""
    check_directory(directory)
    check_free_space(directory, size)
    block = os.urandom(block_size)
    latencies: list[float] = []
    written = 0
    with _interrupt_on_sigterm():
        try:
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        except OSError as exc:
            raise DiskError(f"{directory}: cannot create a file here: {exc.strerror or exc}") from None
        started = time.perf_counter()
        try:
            # Like etcd's WAL segments (preallocated with fallocate) and fio's default layout: the
            # writes fill allocated space, so fdatasync flushes data, not a growing file size.
            with suppress(OSError):
                os.posix_fallocate(fd, 0, size)
            while written < size:
                chunk = block if size - written >= block_size else block[: size - written]
                n = os.write(fd, chunk)
                t0 = time.perf_counter()
                os.fdatasync(fd)
                latencies.append(time.perf_counter() - t0)
                written += n
                if progress is not None and len(latencies) % 256 == 0:
                    progress(written, size)
        except OSError as exc:
            raise DiskError(
                f"{directory}: write failed after {written} bytes: {exc.strerror or exc}"
            ) from None
        finally:
            os.close(fd)
            with suppress(OSError):
                os.unlink(name)
    return DiskResult(
        directory=directory,
        filesystem=filesystem_type(directory),
        block_size=block_size,
        bytes_written=written,
        elapsed_seconds=time.perf_counter() - started,
        latencies=latencies,
    )
