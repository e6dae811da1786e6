"""Imported by the extraction workers' fork server before it forks them (flows.workers.extraction_pool):
importing this module warms up the extraction code once, for every worker to inherit."""

import gc

from flows.workers import warm_up

warm_up()
# What the workers inherit stays out of their full collections (dateparser's locales, trafilatura, the
# relevance model), and its pages stay shared with the fork server: Python's advice for a fork without exec.
gc.freeze()
