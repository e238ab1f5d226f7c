"""Reading many workspace files at once on every core (20,000 profiles).

Each file is read, hashed (the load cache's key) and, when the cache does not hold its content,
parsed (scanguard.yamlsrc); every file is done on its own, so the files are split into shares
that forked workers (one per core) do while this process validates what they have sent back so
far. Only the hash and the parsed data come back. A file a worker cannot read, decode or parse
comes back marked, and the caller reads and parses it again itself, so every error is raised,
with its line, exactly as the one-process path raises it.

Workers are used only where forking is safe and pays: many files the cache does not hold (a
first load, thousands of new files), more than one core, the fork start method, and no other thread in this process (a thread holding a lock at the fork would
leave it held in the child). `SCANGUARD_PARSE_WORKERS` sets the number of workers (1: never
fork, do it here; unset: one per core, at most four) and `SCANGUARD_PARSE_MIN_FILES` how many
files to parse make it worth it (default 2,000).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from typing import AbstractSet, Any, Iterator

from .loadcache import content_hash
from .yamlsrc import parse

log = logging.getLogger(__name__)

MIN_FILES = 2000
"""Below this many files the forks cost more than they save."""
MAX_WORKERS = 4
Parsed = tuple[Any, bool]
"""(the file's data, whether every key is text)."""
FAILED = "failed"
"""In place of the parse: the file did not decode or parse; the caller parses it to say why."""
FileRead = tuple["bytes | None", "str | None", "Parsed | str | None"]
"""(the bytes, or None when a worker read them; the SHA-256 of the bytes, or None when the file
could not be read; the parse, None when the cache holds that content, or FAILED)."""

_WORK: tuple[list[str], AbstractSet[str]] = ([], frozenset())  # set before the pool forks, inherited by it
last_processes = 0
"""How many processes read the last batch (1: this one; for the logs and the tests)."""


_CHUNK = 1 << 16


def read_bytes(path: str) -> bytes:
    """A file's bytes (os.read rather than pathlib: half the time, and a load reads every file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        first = os.read(fd, _CHUNK)
        if len(first) < _CHUNK:  # a short read of a regular file is its end: one call, not two
            return first
        chunks = [first]
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(int(raw), 0)
    except ValueError:
        log.warning("%s=%r is not a number; using %d", name, raw, default)
        return default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(count: int) -> int:
    """How many worker processes should read `count` files (1: none, read them here)."""
    wanted = _env_int("SCANGUARD_PARSE_WORKERS", min(_cores(), MAX_WORKERS))
    if wanted <= 1 or count < max(_env_int("SCANGUARD_PARSE_MIN_FILES", MIN_FILES), 2):
        return 1
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return min(wanted, count)


def parse_text(text: str) -> Parsed | None:
    """(data, text_keys) of one file's text, or None when it breaks a rule (yamlsrc.parse says
    which, with the line)."""
    try:
        doc = parse(text)
    except Exception:  # noqa: BLE001 - the caller parses it again and reports the error
        return None
    return doc.data, doc.text_keys


def read_one(path: str, known: AbstractSet[str]) -> FileRead:
    """One file read, hashed and, unless `known` holds its hash, parsed."""
    try:
        raw = read_bytes(path)
    except OSError:
        return None, None, None
    digest = content_hash(raw)
    if digest in known:
        return raw, digest, None
    try:
        parsed = parse_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        parsed = None
    return raw, digest, FAILED if parsed is None else parsed


def _quiet_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers, which say nothing
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_share(bounds: tuple[int, int]) -> list[FileRead]:
    paths, known = _WORK
    # the bytes stay here: the caller reads a file again only to report a problem in it
    return [(None, digest, parsed) for _, digest, parsed in (read_one(p, known) for p in paths[bounds[0]:bounds[1]])]


def read_stream(paths: list[str], known: AbstractSet[str]) -> Iterator[FileRead]:
    """`read_one` of each path, in order, as they are done: by forked workers when `workers_for`
    says so (this process is then free to use each result as it comes, while the workers do the
    next ones), else here. Close it (or run it to the end) to stop the workers."""
    global _WORK, last_processes
    # workers pay for what must be parsed: when the cache holds (about) every file, a fork of
    # this process costs more than reading and hashing here
    n = workers_for(len(paths) - len(known))
    last_processes = 1
    if n > 1:
        # shares small enough that the first arrives soon and the workers stay evenly busy
        step = max(100, len(paths) // (n * 8))
        shares = [(lo, min(lo + step, len(paths))) for lo in range(0, len(paths), step)]
        _WORK = (paths, known)
        try:
            pool = multiprocessing.get_context("fork").Pool(n, initializer=_quiet_worker)
        except (OSError, multiprocessing.ProcessError) as e:  # cannot fork here: do it in this process
            _WORK = ([], frozenset())
            log.debug("reading in one process: %s", e)
        else:
            last_processes = n
            log.debug("reading %d files on %d worker processes", len(paths), n)
            try:
                for part in pool.imap(_read_share, shares):
                    yield from part
            finally:
                pool.terminate()
                pool.join()
                _WORK = ([], frozenset())
            return
    for p in paths:
        yield read_one(p, known)
