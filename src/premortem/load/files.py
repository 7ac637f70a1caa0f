"""Reading one input without trusting it: regular files only, a size cap, text only.

- A path that is not a regular file (a FIFO named ``x.yaml`` in a scanned folder, a device, a socket)
  is not opened: opening a FIFO blocks until someone writes, ``/dev/zero`` never ends. Such paths met
  while walking a directory are skipped with a message; a FIFO or device named explicitly on the
  command line (``premortem scan <(helm template ...)``) is read like stdin, under the same bounds.
- Any single input larger than ``Settings.max_input_bytes`` (``--max-input-bytes``; default 256 MiB)
  is refused with a message, after reading at most that many bytes.
- Streams (stdin, FIFOs) are read in chunks: a NUL byte (binary data, ``/dev/zero``) or bytes that are
  not UTF-8 stop the read at once with a message naming the offset; memory never holds more than the
  cap.
"""

from __future__ import annotations

import codecs
import os
import stat
from typing import BinaryIO

CHUNK = 1024 * 1024


class InputError(Exception):
    """This input cannot be read as manifest text; the message says why (for the finding)."""


def max_input_bytes() -> int:
    from premortem.settings import current

    return current().max_input_bytes


# Streams a user names on purpose: process substitution (``<(helm template ...)``) and stdin aliases.
STREAM_PATHS = ("/dev/fd/", "/proc/self/fd/", "/dev/stdin")


def read_file_text(path: str, keep_bom: bool = False) -> str:
    """The text of ``path`` (the BOM removed unless ``keep_bom``). A FIFO is read as a stream only
    through /dev/fd (process substitution); any other non-regular file is refused unopened."""
    limit = max_input_bytes()
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"dangling symlink (to {os.readlink(path)})") from None
        raise
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise InputError("symlink loop") from None
        raise
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise InputError("a directory")
    if not stat.S_ISREG(mode):
        kind = _kind(mode)
        if not path.startswith(STREAM_PATHS):
            raise InputError(
                f"not a regular file ({kind}), so it was not opened (a FIFO would block, a device never "
                "end); to read a stream, pipe it: `... | premortem scan -`"
            )
        with open(path, "rb") as handle:
            return read_stream(handle, limit, what=kind, keep_bom=keep_bom)
    if info.st_size > limit:
        raise InputError(_too_big(info.st_size, limit))
    # As many bytes as the file has, plus one to see it grew (read(limit + 1) allocated the whole
    # limit, 256 MiB, for every file); what a growing file adds is read up to the limit. Plain
    # os.read: a buffered file object per file cost as much as the read (100,000 files in a scan).
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        raw = _read_up_to(fd, info.st_size + 1)
        if len(raw) > info.st_size:
            raw += _read_up_to(fd, limit + 1 - len(raw))
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise InputError(_too_big(len(raw), limit))
    return decode(raw, keep_bom)


def _read_up_to(fd: int, count: int) -> bytes:
    """``count`` bytes of ``fd``, fewer at the end of the file."""
    first = os.read(fd, count)
    if len(first) == count or not first:
        return first
    parts = [first]
    left = count - len(first)
    while left > 0 and (more := os.read(fd, left)):
        parts.append(more)
        left -= len(more)
    return b"".join(parts)


def read_stream(
    stream: BinaryIO, limit: int | None = None, what: str = "stdin", keep_bom: bool = False
) -> str:
    """Read a byte stream in chunks under the bounds above."""
    limit = max_input_bytes() if limit is None else limit
    decoder = codecs.getincrementaldecoder("utf-8" if keep_bom else "utf-8-sig")()
    parts: list[str] = []
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if b"\x00" in chunk:
            offset = total + chunk.index(b"\x00")
            raise InputError(f"{what} is binary data (a NUL byte at offset {offset})")
        total += len(chunk)
        if total > limit:
            raise InputError(_too_big(total, limit, at_least=True))
        try:
            parts.append(decoder.decode(chunk))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{what} is not UTF-8 text (byte offset {total - len(chunk) + exc.start})"
            ) from None
    try:
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise InputError(f"{what} ends in the middle of a UTF-8 character") from None
    return "".join(parts)


def decode(raw: bytes, keep_bom: bool = False) -> str:
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        raise InputError(f"binary data (a NUL byte at offset {offset}), not YAML or JSON text")
    try:
        return raw.decode("utf-8-sig" if not keep_bom else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte offset {exc.start})") from None


def _too_big(size: int, limit: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"{more}{size:,} bytes, above the {limit:,}-byte cap on one input (--max-input-bytes); not read. "
        "Raise the cap if this really is one manifest"
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
