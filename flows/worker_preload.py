"""Imported by the extraction workers' fork server before it forks them (flows.workers.extraction_pool):
importing this module warms up the extraction code once, for every worker to inherit."""

from flows.workers import warm_up

warm_up()
