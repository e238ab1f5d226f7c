"""Fixtures for the sync tests: a plugin manager with the in-memory vendor, and in-memory scanners."""

from __future__ import annotations

import pytest

from scanguard.plugin.manager import load_plugins

from . import memory
from .backends import available, ready


@pytest.fixture
def mem_plugins():
    """Built-in plugins plus the in-memory vendor (no entry points)."""
    pm = load_plugins(entry_points=False)
    pm.register(memory.Plugin(), "memory-vendor")
    return pm


@pytest.fixture
def mem_scanners():
    """A factory of named in-memory scanners, forgotten after the test."""
    made = []

    def make(name: str) -> memory.MemoryScanner:
        s = memory.MemoryScanner(name)
        made.append(name)
        return s

    yield make
    for n in made:
        memory.SERVERS.pop(n, None)


MEM = 'type = "memory"\nurl = "https://127.0.0.1:1"'


@pytest.fixture(params=available())
def backend(request):
    """(backend, plugin manager) for each vendor fake of scanguard_testbed_scanners (skipped,
    saying why, when its plugin has no client yet)."""
    return ready(request.param)
