"""pytest plugin for scanguard plugin authors (loaded through the pytest11 entry point).

Fixtures:
- ``scanguard_plugins``: a PluginManager with the built-in plugins and no entry points, so a
  test sees exactly the plugins it registers;
- ``register_plugin``: a context manager that registers a plugin object for the duration of a
  ``with`` block: ``with register_plugin(my_module): ...``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pytest


@pytest.fixture
def scanguard_plugins():
    """A plugin manager with the built-in plugins only (no entry points loaded)."""
    from ..plugin.manager import load_plugins

    return load_plugins(entry_points=False)


@pytest.fixture
def register_plugin(scanguard_plugins):
    """Register a plugin for one block: ``with register_plugin(obj, name="x") as pm: ...``."""

    @contextmanager
    def _register(plugin: Any, name: str | None = None) -> Iterator[Any]:
        registered = scanguard_plugins.register(plugin, name)
        try:
            yield scanguard_plugins
        finally:
            scanguard_plugins.unregister(registered)

    return _register
