"""Greenbone (GVM / OpenVAS) vendor plugin for scanguard (public API only).

- `vocabulary`: GVM's fixed names: predefined ids, the category-to-family table, preferences;
- `document`: a compiled template as the native document describing the GVM objects, and back;
- `commands`: the GMP commands that would create those objects (`render --out`);
- `connection` and `client`: the managed objects on a live gvmd through python-gvm;
- `activity` and `results`: streaming parsers of openvas.log and GVM report XML.
"""

__version__ = "0.1.0"
