"""Tenable Security Center vendor plugin for scanguard (public API only)."""

__version__ = "0.1.0"
