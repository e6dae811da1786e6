"""The one typed settings object: read once, from a TOML file and the environment, at the edge."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from extractors.relevance import DEFAULT_THRESHOLD
from extractors.topic import FeedSpec, Topic, parse_topic
from extractors.urls import InvalidURL, canonicalize
from warehouse.db import WarehouseSpec, spec_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_WAREHOUSE = Path("data/newsmon")  # a directory: the lake's catalog and its Parquet data
CONFIG_ENV = "NEWSMON_CONFIG"


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line that says why."""


@dataclass(frozen=True)
class FetchSettings:
    allow_hosts: tuple[str, ...] = ()  # hosts on private/loopback addresses that may be fetched
    timeout_seconds: float = 20.0  # per request: connect, and between two reads
    max_bytes: int = 10 * 1024 * 1024  # a larger body (after decompression) is cut off and reported
    user_agent: str = "newsmon/0.1 (news monitoring; +https://github.com/newsmon/newsmon)"
    concurrency: int = 16  # page requests in flight at once
    per_host: int = 4  # ... of which at most this many to one host
    retries: int = 2  # extra attempts after a timeout, a connection error, 408, 429 or 5xx
    backoff_seconds: float = 1.0  # first wait between attempts, doubled each time
    max_page_attempts: int = 5  # runs that try a failing page before it is given up
    min_poll_minutes: int = 0  # a feed is polled at most this often (Cache-Control and <ttl> may ask more)
    workers: int = 0  # extraction processes; 0: one per core
    # Pages stored per transaction: a killed run loses at most one batch of work. 200, not 100: a batch's SQL
    # costs the main process ~170 ms of CPU whatever its size (DuckLake's per-statement work; 1.82 s for 10
    # batches of 100 against 0.96 s for 5 of 200), and bench/ingest.py's 10,000-page run still peaks at
    # 662-665 MiB (docs/speed.md, 2026-12-03).
    batch_size: int = 200
    request_seconds: float = 60.0  # per request, redirects and body included: a trickling server is cut off
    deadline_seconds: float = 120.0  # a run's page fetching ends this long after it began (docs/fetching.md)
    proxy: str = ""  # "": HTTP_PROXY/HTTPS_PROXY/NO_PROXY from the environment; "none"; or "http://host:port"


@dataclass(frozen=True)
class TopicSettings:
    threshold: float = DEFAULT_THRESHOLD  # relevance at or above this is is_relevant (see extractors/relevance.py)
    prefilter: bool = False  # skip fetching entries whose title and summary are clearly off the topic


@dataclass(frozen=True)
class AlertSettings:
    to: tuple[str, ...] = ()  # recipients; each gets every alert once
    from_: str = "newsmon@localhost"  # the From address (key: from)
    mode: str = "immediate"  # "immediate": a message after each run that found something; "digest": daily
    digest_hour: int = 7  # the hour (0-23, local time of the scheduler) of the daily digest
    # A recipient never sent anything gets the stories of this many days, not the warehouse's whole history.
    new_recipient_days: int = 7

    def first_since(self, now: datetime) -> datetime:
        """Where the stories owed to a recipient never sent anything start."""
        return now - timedelta(days=self.new_recipient_days)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # "none", "starttls" or "ssl"
    username: str = ""  # the password comes from $NEWSMON_SMTP_PASSWORD, never from a file
    timeout_seconds: float = 30.0
    ca_file: str = ""  # a CA bundle to trust for TLS (a private server's certificate); "": the system's


PASSWORD_ENV = "NEWSMON_SMTP_PASSWORD"


@dataclass(frozen=True)
class ScheduleSettings:
    interval_minutes: int = 30  # how often `newsmon serve` runs the ingest flow (when `ingest` is not set)
    ingest: str = ""  # a cron expression ("*/30 * * * *") or an interval ("30m", "2h"); "": interval_minutes

    @property
    def cron(self) -> str | None:
        """The ingest schedule as a cron expression, or None when it is an interval."""
        return self.ingest if self.ingest and parse_interval(self.ingest) is None else None

    @property
    def interval(self) -> timedelta:
        """The ingest interval (meaningless when `cron` is set)."""
        parsed = parse_interval(self.ingest)
        return parsed if parsed is not None else timedelta(minutes=self.interval_minutes)


_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta | None:
    """ "30m", "2 hours", "1d" as a timedelta; None when `text` is not an interval (a cron expression, say)."""
    match = _INTERVAL.match(text)
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()])


@dataclass(frozen=True)
class FeedbackSettings:
    """Judging links in alert e-mails and the endpoint that takes them (flows/feedback.py); off by default."""

    enabled: bool = False
    host: str = "127.0.0.1"  # the address `newsmon serve` listens on for the links
    port: int = 8765
    base_url: str = ""  # how recipients reach it, e.g. https://newsmon.example.org (a proxy in front)
    max_age_days: int = 30  # a link older than this records nothing


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    feeds: tuple[FeedSpec, ...]
    topic: Topic
    fetch: FetchSettings = field(default_factory=FetchSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    relevance: TopicSettings = field(default_factory=TopicSettings)
    alerts: AlertSettings | None = None  # None: no [alerts] section, no mail (alerts wait in the outbox)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    config_path: Path | None = None
    warehouse_catalog: str | None = None  # None: the embedded SQLite catalog; else a DuckLake catalog string
    warehouse_data_path: str | None = None  # None: <path>/data
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)

    @property
    def data_dir(self) -> Path:
        return self.warehouse_path.parent

    @property
    def warehouse(self) -> WarehouseSpec:
        return dataclasses.replace(
            spec_for(self.warehouse_path), catalog=self.warehouse_catalog, data_path=self.warehouse_data_path
        )


_SECTIONS: dict[str, Any] = {
    "warehouse": None,
    "feeds": None,
    "fetch": FetchSettings,
    "schedule": ScheduleSettings,
    "topic": TopicSettings,
    "alerts": AlertSettings,
    "smtp": SmtpSettings,
    "feedback": FeedbackSettings,
}
_ALIASES = {"from": "from_"}


@dataclass(frozen=True)
class Range:
    """The values a numeric key allows: at least `low` (more than `low` when `low_open`), at most `high`."""

    low: float
    high: float | None = None
    low_open: bool = False

    def allows(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        return f"more than {self.low:g}" if self.low_open else f"at least {self.low:g}"


# Every numeric key's allowed values, checked at load: a value outside them would hang a run (concurrency 0),
# break the scheduler (an interval of 0) or silently disable a feature (a threshold above 1).
RANGES: dict[tuple[str, str], Range] = {
    ("fetch", "timeout_seconds"): Range(0, low_open=True),
    ("fetch", "max_bytes"): Range(1024),
    ("fetch", "concurrency"): Range(1),
    ("fetch", "per_host"): Range(1),
    ("fetch", "retries"): Range(0, 10),
    ("fetch", "backoff_seconds"): Range(0, 600),
    ("fetch", "max_page_attempts"): Range(1),
    ("fetch", "min_poll_minutes"): Range(0),
    ("fetch", "workers"): Range(0, 256),
    ("fetch", "batch_size"): Range(1),
    ("topic", "threshold"): Range(0, 1),
    ("schedule", "interval_minutes"): Range(1),
    ("alerts", "digest_hour"): Range(0, 23),
    ("alerts", "new_recipient_days"): Range(1),
    ("smtp", "port"): Range(1, 65535),
    ("smtp", "timeout_seconds"): Range(0, low_open=True),
    ("feedback", "port"): Range(0, 65535),  # 0: a free port the system picks (tests)
    ("feedback", "max_age_days"): Range(1),
}


def _typed(section: str, key: str, value: Any, expected: Any) -> Any:
    name, given = f"[{section}] {key}", value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings, not {value!r}")
        return tuple(v.lower() for v in value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {expected.__name__}, not {type(value).__name__} ({value!r})")
    allowed = RANGES.get((section, key))
    if allowed is not None and not allowed.allows(value):
        raise ConfigError(f"{name} = {given!r} is out of range: it must be {allowed}")
    if allowed is None and expected in (int, float) and value < 0:
        raise ConfigError(f"{name} must not be negative ({value!r})")
    return value


def _section(cls: Any, section: str, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{section}] must be a table")
    defaults = cls()
    known = {f: type(getattr(defaults, f)) for f in cls.__dataclass_fields__}
    keys: dict[str, str] = {_ALIASES.get(str(k), str(k)): str(k) for k in raw}
    unknown = sorted(k for field_name, k in keys.items() if field_name not in known)
    if unknown:
        names = sorted(k.rstrip("_") for k in known)
        raise ConfigError(f"unknown key [{section}] {unknown[0]} (known: {', '.join(names)})")
    return cls(**{f: _typed(section, k, raw[k], known[f]) for f, k in keys.items()})


def _feeds(raw: Any) -> tuple[FeedSpec, ...]:
    if not isinstance(raw, list):
        raise ConfigError("[[feeds]] must be an array of tables, each with a url")
    feeds = []
    seen: dict[str, int] = {}  # canonical URL -> the feed's number
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ConfigError(f"feed {number} must be a table with a url")
        unknown = sorted(set(item) - {"url", "name"})
        if unknown:
            raise ConfigError(f"unknown key in feed {number}: {unknown[0]} (known: name, url)")
        url, name = item.get("url"), item.get("name")
        if not isinstance(url, str):
            raise ConfigError(f"feed {number} needs a url string")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"feed {number}: name must be a string")
        try:
            canonicalize(url)
        except InvalidURL as exc:
            raise ConfigError(f"feed {number}: {exc}") from exc
        key = canonicalize(url)
        if key in seen:
            raise ConfigError(f"feed {number} ({url}) is the same feed as feed {seen[key]}: list each feed once")
        seen[key] = number
        feeds.append(FeedSpec(url=url, name=name))
    return tuple(feeds)


def _alerts(raw: Any) -> AlertSettings:
    alerts: AlertSettings = _section(AlertSettings, "alerts", raw)
    if not alerts.to:
        raise ConfigError("[alerts] to must list at least one email address")
    for address in alerts.to:
        if "@" not in address.strip("@"):
            raise ConfigError(f"[alerts] to: {address!r} is not an email address (name@host)")
    if alerts.mode not in ("immediate", "digest"):
        raise ConfigError(f'[alerts] mode must be "immediate" or "digest", not {alerts.mode!r}')
    return dataclasses.replace(alerts, to=tuple(raw["to"]))


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
MAX_FETCH_SECONDS = 86400.0  # a day: a bound on a run's fetching that is longer is a mistake (or inf)


def _fetch(raw: Any) -> FetchSettings:
    fetch: FetchSettings = _section(FetchSettings, "fetch", raw)
    for key in ("request_seconds", "deadline_seconds"):
        if not 0 < getattr(fetch, key) <= MAX_FETCH_SECONDS:
            raise ConfigError(
                f"[fetch] {key} must be seconds above 0 and at most {MAX_FETCH_SECONDS:g}, not {getattr(fetch, key)!r}"
            )
    proxy = fetch.proxy
    if proxy not in ("", "none") and not (
        proxy.startswith(("http://", "https://")) and urlsplit(proxy).hostname and _port_ok(proxy)
    ):
        raise ConfigError(f'[fetch] proxy must be "", "none" or a URL like "http://proxy.example:3128", not {proxy!r}')
    for name in _PROXY_VARIABLES if not proxy else ():
        value = os.environ.get(name, "")
        if "://" in value and not value.startswith(("http://", "https://")):
            raise ConfigError(
                f"${name} is {value!r}: newsmon fetches through http:// and https:// proxies only "
                '(set [fetch] proxy to "none" or to such a proxy to override the environment)'
            )
    return fetch


def _port_ok(url: str) -> bool:
    try:
        return urlsplit(url).port is None or True
    except ValueError:
        return False


def _schedule(raw: Any) -> ScheduleSettings:
    schedule: ScheduleSettings = _section(ScheduleSettings, "schedule", raw)
    if schedule.ingest and parse_interval(schedule.ingest) is None:
        from cronsim import CronSim, CronSimError  # Prefect's own cron parser

        try:
            CronSim(schedule.ingest, datetime.now(UTC))
        except CronSimError as exc:
            raise ConfigError(
                f'[schedule] ingest = {schedule.ingest!r} is neither a cron expression ("*/30 * * * *") '
                f'nor an interval ("30m", "2h"): {exc}'
            ) from exc
    elif schedule.ingest and schedule.interval <= timedelta(0):
        raise ConfigError(f"[schedule] ingest = {schedule.ingest!r} is out of range: the interval must be more than 0")
    return schedule


def _smtp(raw: Any) -> SmtpSettings:
    smtp: SmtpSettings = _section(SmtpSettings, "smtp", raw)
    if smtp.security not in ("none", "starttls", "ssl"):
        raise ConfigError(f'[smtp] security must be "none", "starttls" or "ssl", not {smtp.security!r}')
    return smtp


def seed_texts(seeds_dir: Path = SEEDS_DIR) -> dict[str, str]:
    """The seed documents' texts by file stem (the seed id)."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))}


def load_topic(seeds_dir: Path = SEEDS_DIR) -> Topic:
    return parse_topic((seeds_dir / "topic.toml").read_text(encoding="utf-8"), seed_texts(seeds_dir))


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path`, else $NEWSMON_CONFIG, else the defaults. Relative paths are taken from the cwd."""
    topic = load_topic()
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    if path is None:
        return Settings(warehouse_path=DEFAULT_WAREHOUSE.resolve(), feeds=topic.default_feeds, topic=topic)
    config_path = Path(path)
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {config_path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {config_path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {config_path} is not valid TOML: {exc}") from exc
    try:
        return _settings(data, config_path, topic)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None


def _settings(data: dict[str, Any], config_path: Path, topic: Topic) -> Settings:
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] (known: {', '.join(_SECTIONS)})")
    warehouse = data.get("warehouse", {})
    if not isinstance(warehouse, dict) or set(warehouse) - {"path", "catalog", "data_path"}:
        raise ConfigError("[warehouse] takes the keys path, catalog and data_path")
    warehouse_path = warehouse.get("path", str(DEFAULT_WAREHOUSE))
    if not isinstance(warehouse_path, str) or not warehouse_path:
        raise ConfigError("[warehouse] path must be a non-empty string")
    resolved = Path(warehouse_path).expanduser().resolve()
    if resolved.suffix != ".duckdb" and resolved.exists() and not resolved.is_dir():
        raise ConfigError(
            f"[warehouse] path = {warehouse_path!r} is a file: it must name a directory (new or made by newsmon)"
        )
    catalog, data_path = warehouse.get("catalog"), warehouse.get("data_path")
    for key, value in (("catalog", catalog), ("data_path", data_path)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"[warehouse] {key} must be a non-empty string")
    if catalog is not None and not catalog.startswith("postgres:"):
        raise ConfigError(
            f'[warehouse] catalog in {config_path} must be a PostgreSQL catalog ("postgres:dbname=... host=..."); '
            "leave it out for the embedded one"
        )
    return Settings(
        warehouse_path=resolved,
        feeds=_feeds(data["feeds"]) if "feeds" in data else topic.default_feeds,
        topic=topic,
        fetch=_fetch(data.get("fetch", {})),
        schedule=_schedule(data.get("schedule", {})),
        relevance=_section(TopicSettings, "topic", data.get("topic", {})),
        alerts=_alerts(data["alerts"]) if "alerts" in data else None,
        smtp=_smtp(data.get("smtp", {})),
        config_path=config_path.resolve(),
        warehouse_catalog=catalog,
        warehouse_data_path=data_path,
        feedback=_feedback(data.get("feedback", {})),
    )


def _feedback(raw: Any) -> FeedbackSettings:
    feedback: FeedbackSettings = _section(FeedbackSettings, "feedback", raw)
    if feedback.enabled and not feedback.base_url.startswith(("http://", "https://")):
        raise ConfigError("[feedback] base_url must be the http(s) address recipients open the links at")
    return feedback
