"""Built-in pre-scan checks: the core checks of scanguard.check, as an ordinary plugin."""

from __future__ import annotations

from ..check import core_checks
from ..hookspecs import hookimpl


@hookimpl
def scanguard_pre_scan_checks(request, workspace):
    """Never-scan devices, fragile devices without a safe enough template, restricted devices
    outside their template, scan windows, expired risk acceptances."""
    return core_checks(request, workspace)
