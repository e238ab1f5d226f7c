"""Errors a user can cause or meet, each carrying the message the CLI prints (no traceback)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ScanguardError(Exception):
    """Base of every error scanguard reports to a user. `exit_code` follows the CLI contract:
    1 scanner or runtime failure, 2 invalid input, 3 a safety finding."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem in a user's file: where it is, what is wrong, how bad."""

    file: str
    line: int | None
    field: str
    message: str
    severity: str = "error"

    def text(self) -> str:
        """"profiles/pos.yaml:12: constraints.excluded_ports[0].ports: port 70000 ..."."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        fld = f" {self.field}:" if self.field else ""
        return f"{where}:{fld} {self.message}"


class WorkspaceError(ScanguardError):
    """The workspace is invalid; carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the workspace:\n" + "\n".join(p.text() for p in errors))


class UsageError(ScanguardError):
    """Bad flags or arguments."""

    exit_code = 2


class PluginError(ScanguardError):
    """A plugin failed to load, registered something invalid, or a needed vendor is missing."""

    exit_code = 1


class ScannerError(ScanguardError):
    """A scanner refused, failed or could not be reached; the message names the scanner."""

    exit_code = 1

    def __init__(self, scanner: str, message: str, *, status: int | None = None, transient: bool = False,
                 retry_after: float | None = None, setting: str | None = None):
        self.scanner = scanner
        self.status = status
        self.transient = transient
        self.retry_after = retry_after  # seconds the scanner asked us to wait (HTTP Retry-After), if any
        self.setting = setting
        """The key of the scanner's entry in scanguard.toml the problem is about ("url",
        "credentials.username", "tls.ca_bundle"), if one is: the engine points at its line."""
        super().__init__(f"scanner {scanner}: {message}")


class ScannerConfigError(ScannerError):
    """A scanner's entry in scanguard.toml cannot work as written (a credential variable that is
    not set, no url): invalid input, exit 2. `setting` names the key."""

    exit_code = 2


class SafetyError(ScanguardError):
    """Something would be less safe than the profiles say; refused."""

    exit_code = 3


class CannotEnforce(SafetyError):
    """A vendor cannot express a constraint a template must keep (Nessus has no delay between
    probes, say): rendering is refused rather than pushing a template that only looks safe.

    `items` names the constraints it cannot keep as their provenance items name them
    ("probe_delay_ms", "packets_per_second", "icmp", "category:dos"), so that `validate` can
    point at the lines of the profiles that ask for them; empty when the vendor does not say.

    .. versionadded:: 0.1 `items`
    """

    def __init__(self, message: str, *, items: tuple[str, ...] = ()):
        self.items = tuple(items)
        super().__init__(message)


class UnsafeInput(ScanguardError):
    """A file from outside is malformed or hostile (entity expansion, external entities)."""

    exit_code = 2

    def __init__(self, source: str | Path, message: str):
        self.source = str(source)
        super().__init__(f"{source}: {message}")


@dataclass
class ProblemList:
    """Collects problems while loading."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, line: int | None, fld: str, message: str, severity: str = "error") -> None:
        """Record one problem."""
        self.items.append(Problem(file, line, fld, message, severity))

    @property
    def errors(self) -> list[Problem]:
        """Only the errors (not warnings)."""
        return [p for p in self.items if p.severity == "error"]
