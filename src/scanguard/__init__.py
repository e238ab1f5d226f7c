"""scanguard: scan fragile devices without hurting them.

This module is the public API: vendor plugins and third-party plugins import only from here
(and from the names re-exported below), never from scanguard's internal modules.
"""

__version__ = "0.1.0"

from .compile import compile_plan
from .errors import (
    CannotEnforce,
    PluginError,
    Problem,
    SafetyError,
    ScanguardError,
    ScannerConfigError,
    ScannerError,
    UnsafeInput,
    UsageError,
    WorkspaceError,
)
from .hookspecs import hookimpl, hookspec
from .lattice import (Violation, at_least_as_safe, exclusion_gaps, merge, merge_all, narrow, safety_regressions,
                      violations)
from .model import *  # noqa: F403  (the domain vocabulary)
from .model import __all__ as _model_all
from .netfaults import Unreachable, describe as describe_unreachable
from .plugin.records import (ExclusionSupport, FakeScanner, HealthSource, ReportFormat, RunningFake, TemplateRewrite,
                             Vendor)
from .scanners import ExclusionClient, RemoteObject, ScannerClient, managed_marker, parse_marker, payload_hash
from .secrets import Secret, resolve as resolve_secret
from .text import briefly
from .workspace import Workspace, load_workspace

__all__ = [
    "__version__", "CannotEnforce", "compile_plan", "PluginError", "Problem", "SafetyError", "ScanguardError",
    "ScannerConfigError", "ScannerError", "UnsafeInput", "UsageError", "WorkspaceError", "hookimpl", "hookspec",
    "Violation", "at_least_as_safe", "merge", "merge_all", "narrow", "safety_regressions", "violations",
    "exclusion_gaps", "HealthSource", "ReportFormat", "ExclusionSupport", "FakeScanner", "RunningFake",
    "ExclusionClient", "TemplateRewrite", "Vendor", "RemoteObject", "ScannerClient", "managed_marker",
    "parse_marker", "payload_hash", "briefly", "Secret", "resolve_secret", "Workspace", "load_workspace",
    "Unreachable", "describe_unreachable", *_model_all,
]
