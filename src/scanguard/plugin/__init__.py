"""The plugin system: records plugins register and the manager facade the core calls."""

from .manager import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, LoadFailure, PluginInfo, PluginManager, load_plugins
from .records import HealthSource, ReportFormat, TemplateRewrite, Vendor

__all__ = [
    "DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "HealthSource", "LoadFailure", "PluginInfo", "PluginManager",
    "ReportFormat", "TemplateRewrite", "Vendor", "load_plugins",
]
