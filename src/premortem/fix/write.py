"""``fix --write``: replace a file with its fixed text so that no failure can lose data.

For each file:

1. The path is resolved: a **symlink** is followed and its target is rewritten (the link stays a link,
   as a user who keeps shared manifests behind links expects); a dangling or looping link is an error.
2. Files left alone, with a message: a **read-only** file (no write permission bit: someone made it so
   on purpose), a file with **several hard links** (replacing it would split the links: the other
   names would keep the old text), anything that is not a regular file.
3. The new text goes to a temporary file made by ``mkstemp`` in the same directory (``O_EXCL``, a
   fresh random name: nothing planted there can be followed), with the original's mode and owner,
   written and ``fsync``ed.
4. Just before the rename the file is read again: if it changed since premortem read it (an editor,
   a ``git checkout``), the new text is not written (no lost update) and the file is reported.
5. ``rename`` over the original (atomic: a reader or a crash sees the old file or the new one, never
   half of one), then ``fsync`` of the directory so the rename survives a power cut.

Any error (full disk, read-only directory or filesystem, permissions, a signal) removes the temporary
file and leaves the original as it was; the caller reports each file's outcome. A SIGKILL cannot be
caught: the original is still whole, and at most a hidden ``.NAME.*.premortem-tmp`` file remains.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

TMP_SUFFIX = ".premortem-tmp"


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    path: str
    written: bool
    message: str  # why not, when not written


class _Skip(Exception):
    """The file is left as it is, for the reason given."""


def write_fixed(path: str, original: str, fixed: str) -> WriteOutcome:
    """Replace ``path`` (whose text was ``original`` when read) by ``fixed``; never raises on I/O."""
    try:
        _replace(path, original.encode("utf-8"), fixed.encode("utf-8"))
    except _Skip as exc:
        return WriteOutcome(path, False, str(exc))
    except OSError as exc:
        return WriteOutcome(path, False, _os_reason(exc))
    return WriteOutcome(path, True, "")


def _replace(path: str, before: bytes, after: bytes) -> None:
    target = _resolve(path)
    info = os.stat(target)
    if not stat.S_ISREG(info.st_mode):
        raise _Skip("not a regular file; left alone")
    if not info.st_mode & 0o222:
        raise _Skip(
            f"the file is read-only (mode {stat.filemode(info.st_mode)}); left alone. "
            "Make it writable (chmod u+w) to let premortem fix it"
        )
    if info.st_nlink > 1:
        raise _Skip(
            f"the file has {info.st_nlink} hard links; replacing it would leave the other names with the "
            "old text, so it was left alone. Fix it by hand, or replace the hard links by one file"
        )
    directory = os.path.dirname(target) or "."
    # The handlers go in before the temporary file exists: a SIGTERM between its creation and their
    # installation would end the process with the default action and leave the file behind. The
    # signals are held back while mkstemp creates the file and names it (a signal inside mkstemp
    # would leave a file whose name is not known yet) and while it is removed.
    with _signals_as_interrupts():
        tmp = ""
        fd = -1
        try:
            with _signals_held():
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{os.path.basename(target)}.", suffix=TMP_SUFFIX, dir=directory
                )
            try:
                _write_all(fd, after)
                os.fchmod(fd, stat.S_IMODE(info.st_mode))
                if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(fd, info.st_uid, info.st_gid)
                    except PermissionError:
                        raise _Skip(
                            f"cannot keep the file's owner (uid {info.st_uid}, gid {info.st_gid}) on the "
                            "new file; left alone. Run as that user"
                        ) from None
                os.fsync(fd)
            finally:
                os.close(fd)
                fd = -1
            if _read(target) != before:
                raise _Skip(
                    "the file changed on disk while premortem was fixing it; the fixes were not "
                    "written (your change is kept). Run premortem fix again"
                )
            os.replace(tmp, target)
            tmp = ""
            _fsync_dir(directory)
        finally:
            if tmp or fd >= 0:
                with _signals_held():
                    if fd >= 0:
                        with suppress(OSError):
                            os.close(fd)
                    if tmp:
                        with suppress(OSError):
                            os.unlink(tmp)


def _resolve(path: str) -> str:
    """The file a symlink finally names; dangling and looping links are errors."""
    try:
        real = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Skip("a symlink loop; left alone") from None
        if os.path.islink(path):
            raise _Skip(f"a dangling symlink (to {os.readlink(path)}); left alone") from None
        raise
    return real


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on a directory; the rename is done
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _os_reason(exc: OSError) -> str:
    hints = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the filesystem is read-only",
        errno.EACCES: "permission denied (the directory must be writable to replace the file atomically)",
        errno.EPERM: "operation not permitted",
    }
    what = hints.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{what}; the file was left unchanged"


class _Interrupted(KeyboardInterrupt):
    pass


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGTERM and SIGHUP wait until the block is done (then their handler runs, as it would have)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP during a write become an exception, so the temporary file is removed."""

    def handler(signum: int, _frame: object) -> None:
        raise _Interrupted(signal.Signals(signum).name)

    previous = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals cannot be caught here
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
