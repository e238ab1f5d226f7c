"""The domain model: the vocabulary of the whole program."""

from .addresses import AddressSet
from .checks import CATEGORIES, VendorCheck
from .config import ScannerConfig, TLSSettings, WorkspaceConfig, WorkspaceSettings
from .constraints import Constraints, Provenance
from .events import (
    ActivityEvent,
    CheckRequest,
    CheckResult,
    Evidence,
    Finding,
    HealthEvent,
    HostResult,
    Outage,
    ProfileChange,
    ResultItem,
    Suspect,
)
from .exclusion import ExclusionReason, ScannerExclusion
from .intervals import IntervalSet
from .plan import CompiledTemplate, Plan, Targets
from .ports import PortSet
from .fingerprint import Fingerprint
from .profile import DeviceProfile, RiskAcceptance
from .run import ScanRun
from .template import DISCOVERY_METHODS, PING_METHODS, Checks, Discovery, Performance, ScanTemplate
from .windows import ScanWindow

__all__ = [
    "ActivityEvent", "AddressSet", "CATEGORIES", "CheckRequest", "CheckResult", "Checks", "CompiledTemplate",
    "Constraints", "DISCOVERY_METHODS", "DeviceProfile", "Discovery", "Evidence", "ExclusionReason", "Finding",
    "Fingerprint", "HealthEvent",
    "HostResult", "IntervalSet", "Outage", "PING_METHODS", "Performance", "Plan", "PortSet",
    "ProfileChange", "Provenance", "ResultItem", "RiskAcceptance", "ScanTemplate", "ScanWindow",
    "ScanRun", "ScannerConfig", "ScannerExclusion", "Suspect", "TLSSettings", "Targets", "VendorCheck", "WorkspaceConfig",
    "WorkspaceSettings",
]
