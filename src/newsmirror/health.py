"""Is a feed healthy? Failed in its last pass, or silent for longer than it usually is.

The original mirror's users noticed dead feeds weeks later; `list`, `doctor` and the daemon's
log flag them at once. Pure functions over stored state.
"""

from __future__ import annotations

from .store import FeedState

DAY = 24 * 3600 * 1000
SILENCE_FACTOR = 4  # silent for 4x its usual longest gap
MIN_SAMPLES = 6


def _span(ms: float) -> str:
    hours = ms / 3_600_000
    return f"{hours / 24:.0f} d" if hours >= 48 else f"{hours:.0f} h" if hours >= 1 else f"{ms / 60000:.0f} min"


def silence(published: list[int], now: int) -> str | None:
    """A warning when the newest entry is older than the feed's usual gap allows, else None.

    The usual gap is the 90th percentile of the gaps between its last entries (a feed that
    posts hourly by day and rests at night is not flagged every morning); at least a day.
    """
    recent = sorted(published)[-40:]
    gaps = sorted(b - a for a, b in zip(recent, recent[1:]) if b > a)
    if len(gaps) < MIN_SAMPLES - 1:
        return None
    usual = gaps[int(len(gaps) * 0.9) - 1 if len(gaps) > 1 else 0]
    quiet = now - recent[-1]
    if quiet > max(SILENCE_FACTOR * usual, DAY):
        return f"nothing new for {_span(quiet)} (usually every {_span(usual)} at most)"
    return None


def problems(state: FeedState | None, published: list[int], now: int) -> list[str]:
    """Everything wrong with one feed, most urgent first."""
    if state is None or state.last_attempt is None:
        return []
    found = []
    if state.disabled:
        found.append(f"disabled: {state.disabled}")
    elif state.last_error:
        found.append(f"failed {state.errors}x: {state.last_error}")
    if warning := silence(published, now):
        found.append(warning)
    return found
