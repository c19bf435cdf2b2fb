"""When feeds are polled again."""

from __future__ import annotations

import random

from newsmirror.schedule import backoff, due_at, min_interval
from newsmirror.store import FeedState

MIN = 60_000


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(1)
    assert backoff(0) == 0
    assert 12 * 60 <= backoff(1, rng) <= 18 * 60
    assert 24 * 60 <= backoff(2, rng) <= 36 * 60
    assert backoff(30, rng) <= 24 * 3600 * 1.2


def test_the_feed_may_only_ask_for_longer_intervals():
    assert min_interval(60, None) == 3600
    assert min_interval(None, "public, max-age=1800") == 1800
    assert min_interval(10, "max-age=1800") == 1800
    assert min_interval(None, "no-cache, max-age=60") is None
    assert min_interval(100000, None) == 24 * 3600


def test_due_at():
    never = FeedState("f")
    assert due_at(never, 30) == 0
    polled = FeedState("f", last_attempt=1_000_000 * MIN)
    assert abs(due_at(polled, 30) - (polled.last_attempt + 30 * MIN)) <= 3 * MIN
    slow = FeedState("f", last_attempt=1_000_000 * MIN, min_interval=3600)
    assert due_at(slow, 30) >= slow.last_attempt + 54 * MIN
    failing = FeedState("f", last_attempt=1_000_000 * MIN, errors=2, next_attempt=1_000_500 * MIN)
    assert due_at(failing, 30) == failing.next_attempt
