"""A FUSE passthrough filesystem whose fsync/fdatasync really is slow.

    python slowfs.py BACKING_DIR MOUNTPOINT DELAY_SECONDS

Every file operation is passed to BACKING_DIR; fsync and fdatasync (and fsync on directories) first
sleep DELAY_SECONDS, then sync for real. The test fixtures run it as a subprocess and unmount it with
``fusermount3 -u`` (or ``umount -l``) when done. Multithreaded, so a sleeping fsync does not block the
reads and writes of other threads, as with a real slow disk.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

import mfusepy as fuse


class SlowSync(fuse.Operations):
    use_ns = True

    def __init__(self, root: str, delay: float) -> None:
        self.root = os.path.realpath(root)
        self.delay = delay

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    # -- metadata
    def access(self, path: str, amode: int) -> int:
        if not os.access(self._full(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._full(path))
        keys = (
            "st_mode",
            "st_nlink",
            "st_uid",
            "st_gid",
            "st_size",
            "st_atime_ns",
            "st_mtime_ns",
            "st_ctime_ns",
        )
        out: dict[str, Any] = {k: getattr(st, k) for k in keys}
        for k in ("st_atime", "st_mtime", "st_ctime"):
            out[k] = out.pop(k + "_ns")
        return out

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                "f_frsize", "f_namemax")  # fmt: skip
        return {k: getattr(sv, k) for k in keys}

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._full(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._full(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._full(path), ns=times)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._full(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._full(path))
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._full(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._full(old), self._full(new))
        return 0

    def symlink(self, target: str, source: str) -> int:
        os.symlink(source, self._full(target))
        return 0

    def link(self, target: str, source: str) -> int:
        os.link(self._full(source), self._full(target))
        return 0

    # -- files
    def open(self, path: str, flags: int) -> int:
        return os.open(self._full(path), flags)

    def create(self, path: str, mode: int, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
        return os.open(self._full(path), flags | os.O_CREAT, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path), length)
        return 0

    def fallocate(self, path: str, mode: int, offset: int, size: int, fh: int) -> int:
        # etcd preallocates WAL segments; it falls back to ftruncate on EOPNOTSUPP, like on many FUSE fs.
        raise fuse.FuseOSError(errno.EOPNOTSUPP)

    def flush(self, path: str, fh: int) -> int:
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        time.sleep(self.delay)
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        time.sleep(self.delay)
        return 0


def main() -> None:
    root, mountpoint, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    fuse.FUSE(SlowSync(root, delay), mountpoint, foreground=True, nothreads=False, fsname="premortem-slowfs")


if __name__ == "__main__":
    main()
