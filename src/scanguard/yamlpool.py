"""Parsing many workspace files at once on every core (a cold load of 20,000 profiles).

The parse (scanguard.yamlsrc) is the slow part of a cold load and each file parses on its own, so
the files are split into shares that forked workers (one per core) parse while this process
validates what they have sent back so far. Only the data and its `text_keys` flag come back; a
file a worker cannot parse comes back as None and the caller parses it again itself, so every
error is raised, with its line, exactly as the one-process path raises it.

Workers are used only where forking is safe and pays: many files, more than one core, the fork
start method, and no other thread in this process (a thread holding a lock at the fork would
leave it held in the child). `SCANGUARD_PARSE_WORKERS` sets the number of workers (1: never
fork, parse here; unset: one per core, at most four) and `SCANGUARD_PARSE_MIN_FILES` how many
files make it worth it (default 2,000).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from contextlib import closing
from typing import Any, Iterator

from .yamlsrc import parse

log = logging.getLogger(__name__)

MIN_FILES = 2000
"""Below this many files the forks cost more than they save."""
MAX_WORKERS = 4
Parsed = tuple[Any, bool]
"""(the file's data, whether every key is text)."""

_TEXTS: list[str] = []  # what forked workers read: set before the pool forks, inherited by it
last_processes = 0
"""How many processes parsed the last batch (1: this one; for the logs and the tests)."""


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
    """How many worker processes should parse `count` files (1: none, parse here)."""
    wanted = _env_int("SCANGUARD_PARSE_WORKERS", min(_cores(), MAX_WORKERS))
    if wanted <= 1 or count < max(_env_int("SCANGUARD_PARSE_MIN_FILES", MIN_FILES), 2):
        return 1
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return min(wanted, count)


def _parse_one(text: str) -> Parsed | None:
    try:
        doc = parse(text)
    except Exception:  # noqa: BLE001 - the caller parses it again and reports the error
        return None
    return doc.data, doc.text_keys


def _parse_range(bounds: tuple[int, int]) -> list[Parsed | None]:
    lo, hi = bounds
    return [_parse_one(t) for t in _TEXTS[lo:hi]]


def parse_many(texts: list[str]) -> list[Parsed | None]:
    """Each text's (data, text_keys), or None where it does not parse, in order."""
    with closing(parse_stream(texts)) as results:
        return list(results)


def parse_stream(texts: list[str]) -> Iterator[Parsed | None]:
    """Each text's (data, text_keys), or None where it does not parse, in order, as they are
    parsed: on forked workers when `workers_for` says so (this process is then free to use each
    result as it comes, while the workers parse the next ones), else here. Close it (or run it
    to the end) to stop the workers."""
    global _TEXTS, last_processes
    n = workers_for(len(texts))
    last_processes = 1
    if n <= 1:
        for t in texts:
            yield _parse_one(t)
        return
    # shares small enough that the first arrives soon and the workers stay evenly busy
    step = max(100, len(texts) // (n * 8))
    shares = [(lo, min(lo + step, len(texts))) for lo in range(0, len(texts), step)]
    _TEXTS = texts
    try:
        pool = multiprocessing.get_context("fork").Pool(n)
    except (OSError, multiprocessing.ProcessError) as e:  # cannot fork here: parse in this process
        _TEXTS = []
        log.debug("parsing in one process: %s", e)
        for t in texts:
            yield _parse_one(t)
        return
    last_processes = n
    log.debug("parsing %d files on %d worker processes", len(texts), n)
    try:
        for part in pool.imap(_parse_range, shares):
            yield from part
    finally:
        pool.terminate()
        pool.join()
        _TEXTS = []
