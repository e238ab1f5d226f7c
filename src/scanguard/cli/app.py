"""The `scanguard` command. Each command lives in its own module under scanguard.cli and
registers itself on the app; COMMAND_MODULES lists them. `app` holds every command; a run from
the console imports only the module of the command it runs."""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Iterable

import typer

from ..errors import ScanguardError
from .common import CommandGroup
from .output import fail

COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "explain",
    "render",
    "plugins_cmd",
    "check",
    "testbed",
    "diff",
    "sync",
    "history",
    "correlate",
    "audit",
    "misplaced",
    "trial",
    "scorecard",
    "kb",
)


def build_app(modules: Iterable[str] = COMMAND_MODULES) -> typer.Typer:
    """The command with the subcommands of these modules (every one by default)."""
    application = typer.Typer(
        name="scanguard",
        help="Scan fragile devices without hurting them: device safety profiles compiled into safe scan templates.",
        no_args_is_help=True,
        add_completion=False,
        # never print frames' locals (they can hold secrets)
        pretty_exceptions_show_locals=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=CommandGroup,
    )
    for name in modules:
        importlib.import_module(f"scanguard.cli.{name}").register(application)
    application.callback()(_root)
    return application


def _app_for(argv: list[str]) -> typer.Typer:
    """The app a console run needs: only the module of the command it names, when that module
    registers it (the others import the sync engine, the test bed, the trial runner: a third
    of a second `check` has no use for); every command for anything else (help, a misspelling)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None:
        base = command.replace("-", "_")
        for module in (base, f"{base}_cmd"):
            if module in COMMAND_MODULES:
                one = build_app([module])
                names = {c.name for c in one.registered_commands} | {g.name for g in one.registered_groups}
                if command in names:
                    return one
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    # `from scanguard.cli.app import app` (tests, documentation tools): every command, built once
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"scanguard {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """scanguard: scan fragile devices without hurting them."""
    # an eager option's callback runs before click insists on a command, so `--version` alone works


def main() -> None:
    """Console entry point."""
    from . import common

    common.one_shot = True
    try:
        _app_for(sys.argv[1:])()
    except ScanguardError as e:  # last line of defence: a user error is a message, not a traceback
        try:
            fail(str(e), e.exit_code)
        except typer.Exit as x:
            sys.exit(x.exit_code)
    finally:
        # the interpreter's collection at exit would walk every object the command built (a
        # second for 20,000 profiles) only to free them anyway
        gc.freeze()
