"""Parse many files in worker processes; the result is the one a single process gives.

Parsing is nearly all of a scan's time (libyaml plus PyYAML's Python-side resolver and constructor)
and files are independent, so workers parse batches of files and send back plain ``LoadResult``s
(objects, lines, problems: no node trees, no text). The parent puts them back in file order, so
documents, findings and output are identical whatever the number of workers. Rules, including the
cluster rules that need every object at once, run in the parent.
"""

from __future__ import annotations

import heapq
import os
import sys
from typing import Any

from premortem.fork import claim
from premortem.load.document import LoadResult
from premortem.load.split import PIECES_MIN_CHARS, Piece, document_pieces

# Below this many bytes of input a pool costs more than it saves (starting workers, sending results).
# PREMORTEM_PARALLEL_MIN_BYTES overrides it (the tests use 0 to run the pool on small inputs).
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
# Batches per process: small enough that the last ones finish close together.
_BATCHES_PER_JOB = 16


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def clamp_jobs(jobs: int) -> int:
    """At most one worker per available core: more only add start-up and switching (``-j 500`` on 2
    cores was 8x slower). Says so on stderr when it lowers the number."""
    cores = default_jobs()
    if jobs <= cores:
        return jobs
    sys.stderr.write(f"premortem: note: -j {jobs} lowered to {cores}, the number of available cores\n")
    return cores


def load_files_parallel(
    files: list[str], jobs: int, stdin_text: str | None = None, min_bytes: int | None = None
) -> LoadResult:
    """Load ``files`` (``-`` is stdin, read here) with up to ``jobs`` workers, in file order."""
    if min_bytes is None:
        setting = os.environ.get("PREMORTEM_PARALLEL_MIN_BYTES", "")
        min_bytes = int(setting) if setting.isdigit() else PARALLEL_MIN_BYTES

    sizes = [_size(path) for path in files]
    parallel = [i for i, path in enumerate(files) if path != "-"]
    if jobs < 2 or sum(sizes[i] for i in parallel) < min_bytes:
        return _serial(files, stdin_text)
    try:
        return _load_tasks(files, sizes, parallel, jobs, stdin_text)
    finally:
        _TEXTS.clear()


def _load_tasks(
    files: list[str], sizes: list[int], parallel: list[int], jobs: int, stdin_text: str | None
) -> LoadResult:
    from premortem.load.reader import load_file

    # A big multi-document file is cut into pieces of whole documents that workers parse apart.
    pieces = _cut_big_files(files, sizes, parallel, jobs * _BATCHES_PER_JOB // 2)
    tasks: list[Task] = [(i, files[i], None) for i in parallel if i not in pieces]
    tasks += [(i, files[i], piece) for i, cut in pieces.items() for piece in cut]
    if len(tasks) < 2:
        return _serial(files, stdin_text)
    costs = [sizes[i] if piece is None else piece.end - piece.start for i, _, piece in tasks]
    batches = [
        [tasks[t] for t in b] for b in _batches(list(range(len(tasks))), costs, jobs * _BATCHES_PER_JOB)
    ]
    # This process is one of the ``jobs``: it and jobs - 1 workers take batches, largest first, from
    # one shared counter until none is left, so they finish together whatever else runs on the
    # machine. Its own batches need no pickling. A worker sends each batch's results as soon as it
    # has them (a queue's feeder thread writes while the worker parses on), and this process takes
    # them in between its own batches: pickling and unpickling overlap with parsing instead of
    # following it. A batch whose results never come (a worker that died) is loaded here.
    context = _context()
    counter = context.Value("i", 0)
    queue = context.Queue()
    workers = [
        context.Process(target=_work, args=(counter, batches, queue), daemon=True)
        for _ in range(max(1, min(jobs - 1, len(batches) - 1)))
    ]
    for worker in workers:
        worker.start()  # forked: the workers see the texts of the cut files without a copy
    done: dict[tuple[int, int], Any] = {}
    running = len(workers)
    finished = False
    try:
        while (index := claim(counter)) < len(batches):
            done.update(_with_refs(_load_batch(batches[index])))
            running -= _take(queue, done, block=False)
        while running and (any(w.is_alive() for w in workers) or not queue.empty()):
            running -= _take(queue, done, block=True)
        finished = True
    finally:
        for worker in workers:
            if not finished:  # interrupted here: the workers' results are of no use
                worker.kill()
            worker.join()
        queue.close()
    result = LoadResult()
    for index, path in enumerate(files):
        if index in pieces:
            parts = [done.get((index, n)) for n in range(len(pieces[index]))]
            result.extend(_joined(parts, path, _TEXTS.get(index)))
        elif (index, -1) in done:
            result.extend(done[(index, -1)])
        else:
            result.extend(load_file(path, stdin_text, _TEXTS.get(index)))
    return result


# A file to load whole (piece None), or one piece of a big multi-document file: (index, path, piece).
Task = tuple[int, str, "Piece | None"]
# The texts of the big files read to look for pieces, by index (set before the workers fork, cleared
# after): a piece is parsed from them, and a big file that was not cut is not read a second time.
_TEXTS: dict[int, str] = {}


def _serial(files: list[str], stdin_text: str | None) -> LoadResult:
    from premortem.load.reader import load_file

    result = LoadResult()
    for index, path in enumerate(files):
        result.extend(load_file(path, stdin_text, _TEXTS.get(index)))
    return result


def _cut_big_files(
    files: list[str], sizes: list[int], indexes: list[int], pieces: int
) -> dict[int, list[Piece]]:
    """The pieces of every big multi-document file (the texts of the big files go to ``_TEXTS``)."""
    from premortem.load.files import InputError
    from premortem.load.jsonpos import looks_like_json
    from premortem.load.reader import read_text

    cut: dict[int, list[Piece]] = {}
    if sys.platform != "linux":  # pragma: no cover - the texts reach the workers by fork
        return cut
    for index in indexes:
        if sizes[index] < PIECES_MIN_CHARS:  # bytes: at least as many as characters
            continue
        try:
            text = read_text(files[index])
        except (OSError, UnicodeDecodeError, InputError):
            continue  # loaded whole, which reports why it cannot be read
        _TEXTS[index] = text
        found = None if looks_like_json(text) else document_pieces(text, pieces, PIECES_MIN_CHARS)
        if found is not None:
            cut[index] = found
    return cut


def _joined(parts: list[Any], path: str, text: str | None) -> LoadResult:
    """One file's result from its pieces' (documents numbered on from piece to piece), or the file
    read whole when a piece did not parse or never came back (the whole file reports the error)."""
    from premortem.load.reader import load_file

    if any(part is None for part in parts):
        return load_file(path, text=text)
    result = LoadResult(files_read=1)
    offset = 0
    for piece_result, consumed in parts:
        for doc in piece_result.documents:
            doc.doc_index += offset
        result.extend(piece_result)
        offset += consumed
    return result


def _take(queue: Any, done: dict[tuple[int, int], Any], block: bool) -> int:
    """Put what arrived from the workers in ``done``; how many workers said they are done."""
    import queue as queues

    finished = 0
    while True:
        try:
            item = queue.get(timeout=0.05) if block else queue.get_nowait()
        except queues.Empty:
            return finished
        if item is None:
            finished += 1
        else:
            done.update(_with_refs(item))
        block = False  # after one item, take only what is already there


def _work(counter: Any, batches: list[list[Task]], queue: Any) -> None:
    """A worker: load batches until the shared counter passes the last one, sending each batch's
    results; then say so (None). A batch it fails on is left for the parent, which loads every file
    it has no results for."""
    try:
        while (index := claim(counter)) < len(batches):
            queue.put(_load_batch(batches[index]))
    finally:
        queue.put(None)
        queue.close()
        queue.join_thread()


def _load_batch(batch: list[Task]) -> list[tuple[tuple[int, int], Any]]:
    """((file index, piece number or -1), result) of each task: a file's LoadResult, or a piece's
    (LoadResult, documents) or None (reader.load_piece)."""
    from premortem.load.reader import load_file, load_piece

    out: list[tuple[tuple[int, int], Any]] = []
    for index, path, piece in batch:
        if piece is None:
            out.append(((index, -1), load_file(path, text=_TEXTS.get(index))))
        else:
            out.append(((index, piece.number), load_piece(_TEXTS[index], path, piece)))
    return out


def _with_refs(results: Any) -> Any:
    """``results`` (as ``_load_batch`` gives them), each document's ``ref`` worked out: the scan
    needs every one right after loading, in this process alone; here the loading processes share
    the work out, so this process takes fewer batches instead."""
    for _, result in results:
        found = result[0] if isinstance(result, tuple) else result
        for doc in found.documents if found is not None else ():
            doc.ref  # noqa: B018 - computed and kept on the document
    return results


def _batches(indexes: list[int], sizes: list[int], count: int) -> list[list[int]]:
    """Split files into ``count`` batches of similar total size (largest files first, each to the
    lightest batch), largest batches first so the last to finish are small."""
    count = max(1, count)
    members: list[list[int]] = [[] for _ in range(count)]
    totals = [0] * count
    lightest = [(0, b) for b in range(count)]  # a heap: the lightest batch first, the lowest number on ties
    for index in sorted(indexes, key=lambda i: -sizes[i]):
        total, b = heapq.heappop(lightest)
        members[b].append(index)
        totals[b] = total + sizes[index]
        heapq.heappush(lightest, (totals[b], b))
    return [members[b] for b in sorted(range(count), key=lambda b: -totals[b]) if members[b]]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0


def _context() -> Any:
    # fork starts workers in milliseconds with everything already imported; elsewhere, spawn.
    # Imported here: a small scan never pays for importing multiprocessing.
    import multiprocessing

    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")  # pragma: no cover
