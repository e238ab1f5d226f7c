"""Tenable Vulnerability Management (Tenable.io) vendor plugin for scanguard (public API only)."""

__version__ = "0.1.0"
