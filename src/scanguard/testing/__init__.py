"""The conformance kit and pytest helpers scanguard ships for plugin authors.

- `scanguard.testing.strategies`: hypothesis strategies for templates, constraints and compiled
  templates (hypothesis is needed only when these are used);
- `scanguard.testing.conformance`: `check_round_trip(vendor, compiled)`,
  `check_renders_enough(vendor)` (a share of the reference workspace's templates must render) and
  `vendor_conformance_test(vendor)`, the invariant every vendor must hold;
- the pytest plugin (`scanguard.testing.pytest_plugin`, loaded automatically): fixtures
  `scanguard_plugins` (a manager that loads no entry points) and `register_plugin`.
"""
