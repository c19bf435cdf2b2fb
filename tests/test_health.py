"""Flagging dead and silent feeds."""

from __future__ import annotations

from newsmirror.health import problems, silence
from newsmirror.store import FeedState

HOUR = 3_600_000
NOW = 2_000_000 * HOUR


def test_a_feed_silent_far_longer_than_usual_is_flagged():
    hourly = [NOW - 10 * 24 * HOUR + i * HOUR for i in range(30)]  # hourly until 9 days ago
    assert silence(hourly, NOW).startswith("nothing new for 9 d (usually every 1 h")


def test_a_regular_feed_is_not_flagged():
    hourly = [NOW - i * HOUR for i in range(1, 30)]
    assert silence(hourly, NOW) is None
    assert silence([NOW - 100 * 24 * HOUR], NOW) is None  # too little history to judge


def test_problems_lists_failures_first():
    state = FeedState("f", last_attempt=NOW, last_error="HTTP 503 Service Unavailable", errors=4)
    assert problems(state, [], NOW) == ["failed 4x: HTTP 503 Service Unavailable"]
    assert problems(None, [], NOW) == []
