"""nmap vendor plugin for scanguard (the model third-party plugin: public API only)."""

__version__ = "0.1.0"
