"""The `scanguard` command. Each command lives in its own module under scanguard.cli and
registers itself on the app; COMMAND_MODULES lists them."""

from __future__ import annotations

import importlib
import sys

import typer

from ..errors import ScanguardError
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

app = typer.Typer(
    name="scanguard",
    help="Scan fragile devices without hurting them: device safety profiles compiled into safe scan templates.",
    no_args_is_help=True,
    add_completion=False,
    # never print frames' locals (they can hold secrets)
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"scanguard.cli.{_name}").register(app)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"scanguard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """scanguard: scan fragile devices without hurting them."""
    # an eager option's callback runs before click insists on a command, so `--version` alone works


def main() -> None:
    """Console entry point."""
    try:
        app()
    except ScanguardError as e:  # last line of defence: a user error is a message, not a traceback
        try:
            fail(str(e), e.exit_code)
        except typer.Exit as x:
            sys.exit(x.exit_code)
