"""Small helpers for messages people read."""

from __future__ import annotations

from typing import Iterable


def briefly(items: Iterable[object], limit: int = 8) -> str:
    """A comma-separated list cut after `limit` items ("a, b, c and 19,997 more"): a message
    about 20,000 devices must stay one readable line."""
    seq = [str(i) for i in items]
    if len(seq) <= limit:
        return ", ".join(seq)
    return f"{', '.join(seq[:limit])} and {len(seq) - limit:,} more"
