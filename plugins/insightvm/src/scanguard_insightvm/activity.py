"""Placeholder: replaced below."""

def parse_activity(stream):
    """Placeholder."""
    return iter(())
