"""The test bed: virtual fragile devices on loopback addresses, with fragility rules drawn from
real advisories, a control interface and a ground-truth log (see DESIGN.md, "Test bed and
trials")."""

from .control import ControlClient, ControlError
from .device import VirtualDevice
from .personality import (
    ConnectRule,
    PayloadRule,
    Personality,
    PersonalityError,
    ProbesRule,
    RateRule,
    Recovery,
    Service,
    load_personality,
    load_personality_file,
    shipped_personalities,
)
from .runner import DeviceHandle, run_device
from .truth import DeviceStatus, TruthEvent

__all__ = [
    "ConnectRule", "ControlClient", "ControlError", "DeviceHandle", "DeviceStatus", "PayloadRule", "Personality",
    "PersonalityError", "ProbesRule", "RateRule", "Recovery", "Service", "TruthEvent", "VirtualDevice",
    "load_personality", "load_personality_file", "run_device", "shipped_personalities",
]
