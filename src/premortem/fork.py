"""Run one piece of work in two processes that share what is already loaded, by fork.

The scan's rules read the loaded objects and write only their findings: after loading, a forked
child sees every object for free (copy-on-write pages, no pickling), takes its share of the items
(cluster rules, slices of the objects) from a counter both processes draw from, and sends back only
what it made. Objects that both processes already have (the documents) travel as references,
not copies, so the parent gets back its own objects. Whatever goes wrong in the child (an exception,
an object that cannot be pickled, the child killed), the parent does the child's items itself: the
result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many objects a second process costs more than it saves (fork, sending the findings).
# PREMORTEM_PARALLEL_MIN_OBJECTS overrides it (the tests use 0 to split small scans).
PARALLEL_MIN_OBJECTS = 3000


def worth_splitting(objects: int, jobs: int) -> bool:
    """Whether to judge ``objects`` in two processes, given ``jobs`` (the -j setting, 0: one per core)."""
    if sys.platform != "linux" or not hasattr(os, "fork"):  # pragma: no cover - fork is Linux's here
        return False
    if jobs == 0:
        from premortem.load.parallel import default_jobs

        jobs = default_jobs()
    setting = os.environ.get("PREMORTEM_PARALLEL_MIN_OBJECTS", "")
    least = int(setting) if setting.isdigit() else PARALLEL_MIN_OBJECTS
    return jobs >= 2 and objects >= max(least, 1)


def in_two_processes(
    count: int, do: Callable[[int], T], shared: Iterable[object], parent_only: int = 0
) -> list[T]:
    """``[do(0), ..., do(count - 1)]``, the items shared out between this process and a forked child.

    Items below ``parent_only`` are done here only: items that read every object would make the
    child copy nearly all of this process's memory (each object it reads has its reference count
    written, so its page is copied). The others go to whichever process takes them first from one
    shared counter; this process takes its own items first, then helps. Any object of ``shared`` in
    the child's results comes back as the parent's own object (by identity: it existed before the
    fork); shared objects are instances of classes (plain dicts, lists and strings are copied).
    ``do`` must not depend on what the other items did. An item the child did not send back (it
    failed, or was killed) is done here.
    """
    import multiprocessing
    import threading

    by_id = _SHARED
    by_id.clear()
    by_id.update((id(obj), obj) for obj in shared)
    counter = multiprocessing.get_context("fork").Value("l", parent_only)
    read_end, write_end = os.pipe()
    _widen(write_end)
    pid = os.fork()
    if pid == 0:  # the child: do items, send each, and leave without running the parent's exit handlers
        status = 0
        try:
            os.close(read_end)
            for index in _claims(counter, count):
                _send(write_end, (index, do(index)), by_id)
        except BaseException:  # the parent redoes the items it did not get
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    # A thread takes the child's results as they come (reading the pipe releases the GIL), so the
    # child never waits on a full pipe and nothing is left to unpickle once this process is done.
    theirs: dict[int, T] = {}
    reader = threading.Thread(target=_receive, args=(read_end, theirs), daemon=True)
    reader.start()
    try:
        done = {index: do(index) for index in range(min(parent_only, count))}
        done.update((index, do(index)) for index in _claims(counter, count))
    except BaseException:
        _reap(pid)
        raise
    finally:
        reader.join()
        by_id.clear()
    os.waitpid(pid, 0)
    done.update(theirs)
    return [done[index] if index in done else do(index) for index in range(count)]


def _widen(fd: int) -> None:
    """A pipe of 1 MiB instead of 64 KiB: the child writes a big result in a few writes, not waiting
    each time for the parent's reader thread to get the GIL back (it may wait a switch interval)."""
    import fcntl

    with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux; capped by pipe-max-size
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def _send(fd: int, result: object, by_id: dict[int, object]) -> None:
    """One result on the pipe: its length, then its pickle."""
    buffer = io.BytesIO()
    buffer.write(bytes(8))
    _Pickler(buffer, by_id).dump(result)
    view = buffer.getbuffer()
    view[:8] = (len(view) - 8).to_bytes(8, "little")
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int, into: dict[int, Any]) -> None:
    """Read results from the pipe until it closes; a result cut short (the child died) is dropped."""
    with os.fdopen(fd, "rb") as stream:
        while len(head := stream.read(8)) == 8:
            body = stream.read(int.from_bytes(head, "little"))
            try:
                index, result = pickle.loads(body)  # shared objects: _shared_object
            except Exception:  # cut short: this item and any after it are done by the parent
                return
            into[index] = result


def claim(counter: Any) -> int:
    """The next item of a counter that several processes draw from (a ``multiprocessing.Value``):
    each item goes to exactly one of them. Past the last item when none is left."""
    with counter.get_lock():
        index: int = counter.value
        counter.value = index + 1
    return index


def _claims(counter: Any, count: int) -> Iterator[int]:
    """The items this process takes, one at a time, until the shared counter passes the last."""
    while (index := claim(counter)) < count:
        yield index


class _Pickler(pickle.Pickler):
    """Pickles a shared object as a reference. ``reducer_override`` is asked only about objects that
    are not plain data (dict, list, str, int...): a finding's strings and dicts cost no Python call,
    where ``persistent_id`` was called for every one of them."""

    def __init__(self, file: io.BytesIO, by_id: dict[int, object]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._by_id = by_id

    def reducer_override(self, obj: Any) -> Any:
        if id(obj) in self._by_id:
            return _shared_object, (id(obj),)
        return NotImplemented


def _shared_object(key: int) -> object:
    """A shared object, by the key the child pickled it as (its id, the same in both processes)."""
    return _SHARED[key]


# The objects shared with the child of the ``in_two_processes`` running now, by id.
_SHARED: dict[int, object] = {}


def _reap(pid: int) -> None:
    """This process failed (or was interrupted): stop the child and collect it."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    finally:
        os.waitpid(pid, 0)
