"""Options and loading shared by the commands."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from ..errors import ScanguardError, WorkspaceError
from ..plugin.manager import PluginManager, load_plugins
from ..workspace import Workspace, load_workspace
from . import output
from .output import EXIT_FAILURE, EXIT_INVALID, err, fail, safe, warn

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
        output.note_problems([problem_doc(p) for p in e.problems])
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


def problem_doc(p) -> dict:
    """One problem (file, line, field, message, severity) as the JSON documents carry it."""
    return {"file": p.file, "line": p.line, "field": p.field, "message": p.message, "severity": p.severity}


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


# -- the root command: one failure path and readable help for every command ---------------------

METAVARS = {
    "workspace": "DIR", "out": "PATH", "at": "TIME", "limit": "N", "run": "ID", "trial": "ID", "parallel": "N",
    "port": "PORT", "ports": "PORTS", "host": "ADDRESS", "target": "ADDRESS", "targets": "TARGETS",
    "exclude": "TARGETS", "propose": "FILE", "activity": "LOG", "health": "CSV", "payload": "FILE",
    "lookback": "SECONDS", "interval": "SECONDS", "duration": "SECONDS", "reboot_delay": "SECONDS",
    "vuln_timeout": "SECONDS", "control_port": "PORT", "heartbeat": "PORT", "activity_tz": "ZONE",
    "by": "NAME", "note": "TEXT", "control": "URL", "testbed": "PERSONALITY", "bind": "ADDRESS",
}
"""Placeholders shown in help for options whose name alone would not say what to write."""


class _ReadableArgument(TyperArgument):
    """An argument shown in help and usage by its placeholder alone (EXPORT, DRAFT...), not with
    typer's type label (`{export}`, `<list[str]>`)."""

    def display_type_rich(self, ctx) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"


def readable_help(command) -> None:
    """Give every option and argument of a command tree a readable placeholder: `--vendor VENDOR`,
    `--limit N`, `--workspace DIR`, `EXPORT...`; flags get none; one written by hand is kept."""
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)
    for param in getattr(command, "params", ()):
        name = (param.name or "value").strip("_")  # format_, workspace_: Python names, not the user's
        if isinstance(param, TyperOption):
            longest = max(param.opts, key=len, default=name)  # the flag the user writes: --out, not out_dir
            name = longest.lstrip("-").replace("-", "_")
            if param.metavar is None and not param.is_flag and not param.count:
                param.metavar = METAVARS.get(name, name.upper().replace("_", "-"))
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                name = name.upper().replace("_", "-")
                many = param.nargs != 1
                param.metavar = (name[:-1] if many and name.endswith("S") else name) + ("..." if many else "")
            param.__class__ = _ReadableArgument


def _requested(group: TyperGroup, ctx) -> tuple[str, bool]:
    """The command a run names ("sync", "kb import") and whether it asked for --json."""
    args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
    if "--" in args:
        args = args[: args.index("--")]
    words = [a for a in args if not a.startswith("-")]
    path: list[str] = []
    node = group
    for w in words:
        path.append(w)
        node = getattr(node, "commands", {}).get(w)
        if not isinstance(node, TyperGroup):
            break
    return " ".join(path), "--json" in args


class CommandGroup(TyperGroup):
    """The `scanguard` command. Every command fails the same way: a ScanguardError that escapes
    it becomes its message and exit code (never a traceback), and a `--json` run that ends with
    exit 1 or 2 (a usage error from the command line included) prints the failure document
    (`output.failure_document`) unless the command printed its own. Help shows readable
    placeholders."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        readable_help(self)

    def invoke(self, ctx):
        """Run the command named on the command line, answering its failures as above."""
        output.begin(*_requested(self, ctx))
        try:
            return super().invoke(ctx)
        except typer.Exit as e:
            output.failed(e.exit_code)
            raise
        except typer.Abort:
            output.failed(EXIT_FAILURE, "aborted")
            raise
        except typer.TyperException as e:  # a usage error: bad or missing options, an unknown command
            output.failed(getattr(e, "exit_code", EXIT_INVALID), e.format_message())
            raise
        except ScanguardError as e:
            try:
                fail(str(e), e.exit_code)
            except typer.Exit as x:
                output.failed(x.exit_code)
                raise
        except Exception as e:  # a bug: the document says so, the traceback follows
            output.failed(EXIT_FAILURE, f"internal error: {type(e).__name__}: {e}")
            raise
