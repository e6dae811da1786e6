"""Every write and read of the ingest pipeline, by what it keeps (one import for the flows).

- warehouse.feeds: feeds, entries, the pages due and the pages that failed
- warehouse.articles: stored pages, seeds, scores, fingerprints and copies
- warehouse.alerts: the alert outbox and its deliveries
- warehouse.runs: one row per run
"""

from __future__ import annotations

from warehouse.alerts import (
    abandon_delivery,
    alert_overview,
    alerts_waiting,
    finish_delivery,
    pending_alerts,
    retry_uncertain,
    settle_alerts,
    start_delivery,
    start_recipients,
    story_count,
)
from warehouse.articles import (
    CopyTest,
    NewArticle,
    add_seeds,
    articles_to_score,
    articles_without_fingerprint,
    find_copies,
    scored_otherwise,
    set_fingerprints,
    set_scores,
    settle,
    store_pages,
)
from warehouse.feeds import (
    FeedOutcome,
    FeedState,
    PageFailure,
    PageTask,
    feeds_due,
    link_known_entries,
    pages_due,
    record_feed_outcome,
    record_feed_outcomes,
    retry_window,
    skip_entries,
    sync_feeds,
)
from warehouse.runs import RUN_COUNTS, finish_run, pages_may_follow, start_run

__all__ = [
    "RUN_COUNTS",
    "CopyTest",
    "FeedOutcome",
    "FeedState",
    "NewArticle",
    "PageFailure",
    "PageTask",
    "abandon_delivery",
    "add_seeds",
    "alert_overview",
    "alerts_waiting",
    "articles_to_score",
    "articles_without_fingerprint",
    "feeds_due",
    "find_copies",
    "finish_delivery",
    "finish_run",
    "link_known_entries",
    "pages_due",
    "pages_may_follow",
    "pending_alerts",
    "record_feed_outcome",
    "record_feed_outcomes",
    "retry_uncertain",
    "retry_window",
    "scored_otherwise",
    "set_fingerprints",
    "set_scores",
    "settle",
    "settle_alerts",
    "skip_entries",
    "start_delivery",
    "start_recipients",
    "start_run",
    "store_pages",
    "story_count",
    "sync_feeds",
]
