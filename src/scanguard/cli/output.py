"""Output conventions shared by every command: data on stdout, progress and status on stderr
(rich, honouring NO_COLOR), `--json` documents with a schema version, one exit-code contract."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_SAFETY = 3

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def safe(text: object) -> str:
    """Escape user-controlled text (device names, reasons) before rich renders it."""
    return escape(str(text))


def emit_json(doc: dict[str, Any]) -> None:
    """Print one JSON document on stdout, with the schema version first."""
    body = {"schema_version": SCHEMA_VERSION, **doc}
    sys.stdout.write(_json_text(body) + "\n")
    sys.stdout.flush()


def _json_text(body: dict[str, Any]) -> str:
    """Indented at the top, one line per record inside a top-level list. json's C encoder writes
    only unindented text: indenting throughout made printing 30,000 check results cost more
    than finding them."""
    compact = json.JSONEncoder(default=str, separators=(", ", ": ")).encode
    parts = []
    for key, value in body.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {compact(item)}" for item in value)
            text = f"[\n{items}\n  ]"
        else:
            text = compact(value)
        parts.append(f"  {compact(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}" if parts else "{}"


def print_results(results: Iterable[tuple[str, str, str | None]]) -> None:
    """Lines "severity text" (and "    fix: ..." under it) on stderr, the severity coloured on a
    terminal. Off a terminal (a log file, a pipe) they are written as they are: rich would
    render each of the 30,000 results of a check of a /8 only to strip the colours again."""
    if err.is_terminal:
        for severity, text, fix in results:
            colour = {"error": "red", "warning": "yellow"}.get(severity, "blue")
            err.print(f"[{colour}]{severity}[/] {safe(text)}")
            if fix:
                err.print(f"    fix: {safe(fix)}")
        return
    lines = []
    for severity, text, fix in results:
        lines.append(f"{severity} {text}\n")
        if fix:
            lines.append(f"    fix: {fix}\n")
    err.file.write("".join(lines))
    err.file.flush()


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print an error on stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {safe(message)}")
    raise typer.Exit(code)


def warn(message: str) -> None:
    """A warning on stderr."""
    err.print(f"[yellow]warning:[/] {safe(message)}")


def info(message: str) -> None:
    """Status on stderr (rich markup allowed: escape user text with `safe`)."""
    err.print(message)
