"""Rapid7 InsightVM vendor plugin for scanguard (public scanguard API only).

Modules: `template` (render and parse ScanTemplate documents), `categories` (the one table from
neutral check categories to InsightVM categories and types), `ports` and `durations` (the
console's value forms), `spec` (validation against Rapid7's Swagger spec), `client` (the
console API), `activity` (scan logs) and `results` (XML exports).
"""

__version__ = "0.1.0"
