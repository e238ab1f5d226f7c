"""Built-in correlator: the core ranking of :mod:`scanguard.correlate` behind the
``scanguard_correlate`` hook.

The ranking itself lives in core (``scanguard.correlate.rank_suspects``: a pure function that
trials and tests call directly); this plugin only puts it behind the hook, so that it runs
exactly like a third-party correlator: its suspects and theirs are merged per port/check, and
what runs across many outages (confirmation, rate) stays in core, over the merged ranking.
"""

from __future__ import annotations

from typing import Sequence

from ..correlate import rank_suspects
from ..hookspecs import hookimpl
from ..model.events import ActivityEvent, HealthEvent, Outage, Suspect


@hookimpl
def scanguard_correlate(outage: Outage, activity: Sequence[ActivityEvent],
                        health: Sequence[HealthEvent]) -> list[Suspect]:
    """Every port and check touched in the window before the outage, the last one first."""
    return rank_suspects(outage, activity, health, lookback_s=None)  # the core already cut the window
