"""Built-in plugins: ordinary plugins listed in scanguard.plugin.manager.DEFAULT_PLUGINS."""
