"""Options and loading shared by the commands."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ScanguardError, WorkspaceError
from ..plugin.manager import PluginManager, load_plugins
from ..workspace import Workspace, load_workspace
from .output import EXIT_INVALID, err, fail, safe, warn

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="The workspace folder (holds scanguard.toml).", envvar="SCANGUARD_WORKSPACE"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (for automation).")]
DEFAULT_WS = Path(".")
one_shot = False
"""True in a console run (scanguard.cli.app.main), whose process ends with its one command; not
when the app is called in-process (tests), where freezing the collector would outlive the call."""
_plugins: PluginManager | None = None


def plugins() -> PluginManager:
    """The process's plugin manager (loaded once; failures are warned about once)."""
    global _plugins
    if _plugins is None:
        # the CLI prints load failures itself (below); silence the log record meanwhile
        logger = logging.getLogger("scanguard.plugin.manager")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            _plugins = load_plugins()
        finally:
            logger.setLevel(level)
        for f in _plugins.failures:
            warn(f.text() + "; skipped")
    return _plugins


def reset_plugins(manager: PluginManager | None = None) -> None:
    """Replace the cached plugin manager (tests)."""
    global _plugins
    _plugins = manager


def workspace(path: Path, *, quiet: bool = False) -> Workspace:
    """Load the workspace or exit 2 printing every problem with file and line."""
    try:
        ws = load_workspace(path)
        if one_shot:
            # the command keeps its workspace to the end: take it (and what was imported before
            # it) out of the cyclic collector's sight, or its first full collection walks every
            # object of 20,000 profiles again, for nothing
            gc.freeze()
    except WorkspaceError as e:
        for p in sorted(e.problems, key=lambda p: (p.file, p.line or 0)):
            (err.print if p.severity == "error" else warn)(
                f"[red]{safe(p.text())}[/]" if p.severity == "error" else p.text()
            )
        errors = sum(1 for p in e.problems if p.severity == "error")
        fail(f"{errors} error(s) in workspace {path}; nothing was done", EXIT_INVALID)
    if not quiet:
        for p in ws.warnings:
            warn(p.text())
    return ws


def run_guarded(fn, *args, **kwargs):
    """Call `fn`, turning a ScanguardError into a message and its exit code (never a traceback)."""
    try:
        return fn(*args, **kwargs)
    except ScanguardError as e:
        fail(str(e), e.exit_code)


def compile_and_render_check():
    """A check to run after a profile was changed (apply-proposal, kb accept): compile the
    workspace and render each scanner's templates with its vendor, so that a change a vendor
    cannot express is rolled back now, not at sync."""
    from ..compile import compile_plan
    from ..render import render_one

    def check(ws: Workspace) -> None:
        pm = plugins()
        plan = compile_plan(ws, pm)
        loaded = pm.vendors()
        for sname, sc in sorted(ws.config.scanners.items()):
            if sc.type in loaded:
                for ct in plan.for_scanner(sname):
                    render_one(ct, loaded[sc.type])

    return check
