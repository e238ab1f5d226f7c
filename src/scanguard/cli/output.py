"""Output conventions shared by every command: data on stdout, progress and status on stderr
(rich, honouring NO_COLOR), `--json` documents with a schema version, one exit-code contract,
and one failure path: whatever ends a command with exit 1 or 2, a `--json` run still prints
one document (`status` "invalid" or "error", the exit code and the message)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_SAFETY = 3

OFF_TERMINAL_WIDTH = 10_000
"""Columns rich may use when writing to a pipe or a file: as many as what is printed needs, so a
table piped to less or grep keeps its rows whole instead of being folded into 80 columns."""


class _Console(Console):
    """A console that is as wide as its output when it does not write to a terminal (COLUMNS,
    when set, still wins)."""

    @property
    def size(self) -> ConsoleDimensions:
        if self._width is None and not self.is_terminal and not self._environ.get("COLUMNS", "").isdigit():
            return ConsoleDimensions(OFF_TERMINAL_WIDTH, super().size.height)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = _Console(soft_wrap=True, highlight=False, emoji=False)  # "nessus:family:SCADA" is not an emoji
err = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@dataclass
class Invocation:
    """What the command being run needs to answer on failure: its name, whether `--json` was
    asked for, whether its document was printed, and the error that ended it."""

    command: str = ""
    json: bool = False
    emitted: bool = False
    error: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


current = Invocation()
_failure_fields: dict[str, dict[str, Any]] = {}


def failure_fields(command: str, **fields: Any) -> None:
    """Fields a command's failure document carries beyond the common ones (sync and diff keep
    `"scanners": []`, so a script can read `.scanners` whatever happened)."""
    _failure_fields[command] = fields


def begin(command: str, json_: bool) -> None:
    """A command starts (called once per run, before its options are parsed)."""
    global current
    current = Invocation(command=command, json=json_)


def safe(text: object) -> str:
    """Escape user-controlled text (device names, reasons) before rich renders it."""
    return escape(str(text))


def emit_json(doc: dict[str, Any]) -> None:
    """Print one JSON document on stdout, with the schema version first."""
    body = {"schema_version": SCHEMA_VERSION, **doc}
    sys.stdout.write(_json_text(body) + "\n")
    sys.stdout.flush()
    current.emitted = True


def status_of(code: int) -> str:
    """The `status` of a failure document: "invalid" for exit 2 (nothing was done), "refused" for
    exit 3 (the command stopped on a safety finding: a change no vendor can render safely was
    rolled back), else "error"."""
    return {EXIT_INVALID: "invalid", EXIT_SAFETY: "refused"}.get(code, "error")


def failure_document(code: int, message: str | None = None) -> dict[str, Any]:
    """The document every command prints with `--json` when it ends without doing its work."""
    doc: dict[str, Any] = {"command": current.command, "status": status_of(code), "exit_code": code,
                           "error": message or current.error or f"exit {code}",
                           **_failure_fields.get(current.command, {})}
    if current.problems:
        doc["problems"] = current.problems
    return doc


def failed(code: int, message: str | None = None) -> None:
    """A command ends with `code`: with `--json`, print the failure document unless the command
    printed its own."""
    if code and current.json and not current.emitted:
        emit_json(failure_document(code, message))


def note_problems(problems: list[dict[str, Any]]) -> None:
    """Problems (file, line, field, message) the failure document carries."""
    current.problems = problems


def _compact() -> Callable[[Any], str]:
    """json.dumps(value, default=str, separators=(", ", ": ")), made once: the encoder's C part
    is called directly, without the checks json.dumps makes on every call (30,000 results)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without json's C part
        return json.JSONEncoder(default=str, separators=(", ", ": ")).encode
    # (markers, default, encoder, indent, key separator, item separator, sort_keys, skipkeys, allow_nan)
    encode = make({}, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


def _json_text(body: dict[str, Any]) -> str:
    """Indented at the top, one line per record inside a top-level list. json's C encoder writes
    only unindented text: indenting throughout made printing 30,000 check results cost more
    than finding them."""
    compact = _compact()
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
    """Print an error on stderr and exit with `code` (the failure document, with `--json`, is
    printed as the command ends)."""
    err.print(f"[bold red]error:[/] {safe(message)}")
    current.error = message
    raise typer.Exit(code)


def warn(message: str) -> None:
    """A warning on stderr."""
    err.print(f"[yellow]warning:[/] {safe(message)}")


def info(message: str) -> None:
    """Status on stderr (rich markup allowed: escape user text with `safe`)."""
    err.print(message)


def scanner_error(scanner: str, message: str, what: str | None = None) -> str:
    """"scanner X[ what]: message", without saying "scanner X:" twice when the message (a
    ScannerError's) already starts with it."""
    prefix = f"scanner {scanner}: "
    if message.startswith(prefix):
        message = message[len(prefix):]
    return f"scanner {scanner}" + (f" {what}" if what else "") + f": {message}"
