"""When to poll a feed again and when to retry a page: pure arithmetic on times the caller passes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# Back off from a failing feed or page: the first failure is retried by the very next run (a transient
# outage costs nothing), then 15 min, 1 h, 4 h ... at most a day, so a broken server is not hammered.
RETRY_BASE = timedelta(minutes=15)
RETRY_MAX = timedelta(days=1)

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def max_age(cache_control: str | None) -> timedelta | None:
    """The max-age of a Cache-Control header, if any."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return timedelta(seconds=int(match.group(1))) if match else None


def next_poll_at(
    now: datetime,
    interval: timedelta,
    *,
    cache_control: str | None = None,
    ttl_minutes: int | None = None,
    consecutive_errors: int = 0,
) -> datetime:
    """Next poll: now + the largest of our interval, Cache-Control max-age and <ttl>; backed off on errors."""
    waits = [interval]
    if (age := max_age(cache_control)) is not None:
        waits.append(min(age, RETRY_MAX))
    if ttl_minutes:
        waits.append(min(timedelta(minutes=ttl_minutes), RETRY_MAX))
    if consecutive_errors:
        waits.append(retry_delay(consecutive_errors))
    return now + max(waits)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of consecutive failures (exponential, capped)."""
    if attempts <= 1:
        return timedelta(0)
    delay: timedelta = RETRY_BASE * (4 ** min(attempts - 2, 8))
    return min(delay, RETRY_MAX)
