"""When to poll a feed again and when to retry a page: pure arithmetic on times the caller passes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median

# Back off from a failing feed or page: the first failure is retried by the very next run (a transient
# outage costs nothing), then 15 min, 1 h, 4 h ... at most a day, so a broken server is not hammered.
RETRY_BASE = timedelta(minutes=15)
RETRY_MAX = timedelta(days=1)

# A feed's own publishing rhythm: poll it about twice per typical gap between its entries, never waiting longer
# than FREQUENCY_MAX (a feed that posts twice a week is polled every 6 h, not every run; one that posts hourly is
# polled on each run). Chosen by reasoning about the default 30-minute schedule, not tuned on data. At least
# FREQUENCY_MIN_ENTRIES dated entries are needed to judge: fewer say nothing about a rhythm.
FREQUENCY_SHARE = 0.5
FREQUENCY_MAX = timedelta(hours=6)
FREQUENCY_MIN_ENTRIES = 3
# Retry-After (429, 503) is honoured up to a day; a longer one is a misconfiguration, not a reason to stop.
RETRY_AFTER_MAX = RETRY_MAX

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def max_age(cache_control: str | None) -> timedelta | None:
    """The max-age of a Cache-Control header, if any."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return timedelta(seconds=int(match.group(1))) if match else None


def publishing_wait(published: Sequence[datetime | None]) -> timedelta | None:
    """How long to wait given when the feed's entries were published: FREQUENCY_SHARE of the median gap between
    consecutive entries, at most FREQUENCY_MAX; None when too few entries are dated."""
    times = sorted({t for t in published if t is not None})
    if len(times) < FREQUENCY_MIN_ENTRIES:
        return None
    gap = median([(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)])
    return min(timedelta(seconds=gap * FREQUENCY_SHARE), FREQUENCY_MAX)


def next_poll_at(
    now: datetime,
    interval: timedelta,
    *,
    cache_control: str | None = None,
    ttl_minutes: int | None = None,
    consecutive_errors: int = 0,
    retry_after: timedelta | None = None,
    published: Sequence[datetime | None] = (),
) -> datetime:
    """Next poll: now + the largest of our interval, Cache-Control max-age, <ttl>, the server's Retry-After and
    the feed's publishing rhythm (publishing_wait); backed off on consecutive errors (retry_delay)."""
    waits = [interval]
    if (age := max_age(cache_control)) is not None:
        waits.append(min(age, RETRY_MAX))
    if ttl_minutes:
        waits.append(min(timedelta(minutes=ttl_minutes), RETRY_MAX))
    if retry_after is not None:
        waits.append(min(retry_after, RETRY_AFTER_MAX))
    if (rhythm := publishing_wait(published)) is not None:
        waits.append(rhythm)
    if consecutive_errors:
        waits.append(retry_delay(consecutive_errors))
    return now + max(waits)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of consecutive failures (exponential, capped)."""
    if attempts <= 1:
        return timedelta(0)
    delay: timedelta = RETRY_BASE * (4 ** min(attempts - 2, 8))
    return min(delay, RETRY_MAX)
