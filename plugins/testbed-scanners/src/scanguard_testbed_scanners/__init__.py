"""Fake scanners on loopback: `FakeNessus` (nessus), `FakeInsightVM` (insightvm), registered for
`scanguard testbed scanner` through the `scanguard_fake_scanners` hook (plugin.py). The tests
drive them directly (faults, latency, stored state)."""
