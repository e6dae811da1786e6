"""The next-poll computation (extractors/polling.py): pure arithmetic, tested without a clock or a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extractors.polling import (
    FREQUENCY_MAX,
    RETRY_AFTER_MAX,
    RETRY_BASE,
    RETRY_MAX,
    next_poll_at,
    publishing_wait,
    retry_delay,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=30)


def wait(**kwargs: object) -> timedelta:
    return next_poll_at(NOW, INTERVAL, **kwargs) - NOW  # type: ignore[arg-type]


def test_our_interval_is_the_floor() -> None:
    assert wait() == INTERVAL
    assert wait(cache_control="max-age=60", ttl_minutes=1) == INTERVAL


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"cache_control": "public, max-age=7200"}, timedelta(hours=2)),
        ({"ttl_minutes": 180}, timedelta(hours=3)),
        ({"retry_after": timedelta(hours=5)}, timedelta(hours=5)),
        (
            {"cache_control": "max-age=3600", "ttl_minutes": 120, "retry_after": timedelta(minutes=90)},
            timedelta(hours=2),
        ),
    ],
)
def test_the_longest_wait_the_server_asks_for_wins(kwargs: dict[str, object], expected: timedelta) -> None:
    assert wait(**kwargs) == expected


def test_what_a_server_asks_for_is_capped_at_a_day() -> None:
    assert wait(cache_control="max-age=99999999") == RETRY_MAX
    assert wait(ttl_minutes=10**7) == RETRY_MAX
    assert wait(retry_after=timedelta(days=30)) == RETRY_AFTER_MAX


def test_a_feed_that_posts_twice_a_week_is_not_polled_every_run() -> None:
    published = [NOW - timedelta(days=3.5 * k) for k in range(6)]
    assert publishing_wait(published) == FREQUENCY_MAX
    assert wait(published=published) == FREQUENCY_MAX


def test_a_feed_that_posts_hourly_is_polled_on_every_run() -> None:
    published = [NOW - timedelta(hours=k) for k in range(10)]
    assert publishing_wait(published) == timedelta(minutes=30)
    assert wait(published=published) == INTERVAL


def test_too_few_dated_entries_say_nothing_about_a_rhythm() -> None:
    assert publishing_wait([NOW, NOW - timedelta(days=7), None, None]) is None
    assert publishing_wait([NOW, NOW, NOW]) is None  # the same date three times: one data point
    assert wait(published=[NOW - timedelta(days=7), NOW]) == INTERVAL


def test_failing_feed_backs_off_with_a_cap_and_the_first_failure_costs_nothing() -> None:
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[0] == timedelta(0)  # a transient failure: the very next run tries again
    assert delays[1] == RETRY_BASE
    assert delays == sorted(delays) and delays[-1] == RETRY_MAX == timedelta(days=1)
    assert wait(consecutive_errors=50) == RETRY_MAX
