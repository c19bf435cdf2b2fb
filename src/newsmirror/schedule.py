"""When to poll a feed again: intervals, the feed's own wishes, back-off. Pure functions.

Politeness rules: never poll faster than the feed's `<ttl>` or `Cache-Control: max-age` asks;
honour `Retry-After` on 429/503; after other failures back off exponentially, with jitter so
that many failing feeds do not retry in lock-step.
"""

from __future__ import annotations

import random
import re

from .store import FeedState

BACKOFF_BASE = 15 * 60  # seconds after the first failure
BACKOFF_CAP = 24 * 3600
RETRY_AFTER_CAP = 7 * 24 * 3600
MAX_AGE_CAP = 24 * 3600  # a feed may ask for at most a day between polls


def jitter(seconds: float, rng: random.Random | None = None, spread: float = 0.2) -> float:
    return seconds * (1 + (rng or random).uniform(-spread, spread))


def backoff(errors: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after `errors` consecutive failures (15 min, 30 min, 1 h, ... 24 h)."""
    if errors <= 0:
        return 0.0
    return jitter(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (errors - 1)), rng)


def min_interval(ttl_minutes: int | None, cache_control: str | None) -> int | None:
    """The shortest interval (seconds) the feed asks for, from `<ttl>` and `max-age`."""
    asked = []
    if ttl_minutes:
        asked.append(ttl_minutes * 60)
    if cache_control and (m := re.search(r"max-age\s*=\s*(\d+)", cache_control)) and "no-cache" not in cache_control:
        asked.append(int(m.group(1)))
    return min(max(asked), MAX_AGE_CAP) if asked else None


def due_at(state: FeedState, interval_minutes: float, rng: random.Random | None = None) -> int:
    """Milliseconds since the epoch when the daemon should poll this feed next."""
    if state.last_attempt is None:
        return 0
    if state.next_attempt and state.errors:
        return state.next_attempt  # back-off or Retry-After
    seconds = max(interval_minutes * 60, state.min_interval or 0)
    due = state.last_attempt + int(jitter(seconds, rng, 0.1) * 1000)
    return max(due, state.next_attempt or 0)
