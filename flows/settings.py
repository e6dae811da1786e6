"""The one typed settings object: read once, from a TOML file and the environment, at the edge."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
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
    batch_size: int = 100  # pages stored per transaction: a killed run loses at most one batch of work
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
    interval_minutes: int = 30  # how often `newsmon serve` runs the ingest flow


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


def _typed(section: str, key: str, value: Any, expected: Any) -> Any:
    name = f"[{section}] {key}"
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings, not {value!r}")
        return tuple(v.lower() for v in value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {expected.__name__}, not {type(value).__name__} ({value!r})")
    if expected in (int, float) and value < 0:
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
        feeds.append(FeedSpec(url=url, name=name))
    return tuple(feeds)


def _alerts(raw: Any) -> AlertSettings:
    alerts: AlertSettings = _section(AlertSettings, "alerts", raw)
    if not alerts.to or not all("@" in address for address in alerts.to):
        raise ConfigError("[alerts] to must list at least one email address")
    if alerts.mode not in ("immediate", "digest"):
        raise ConfigError(f'[alerts] mode must be "immediate" or "digest", not {alerts.mode!r}')
    if not 0 <= alerts.digest_hour <= 23:
        raise ConfigError(f"[alerts] digest_hour must be an hour from 0 to 23, not {alerts.digest_hour}")
    return AlertSettings(to=tuple(raw["to"]), from_=alerts.from_, mode=alerts.mode, digest_hour=alerts.digest_hour)


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
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] in {config_path} (known: {', '.join(_SECTIONS)})")
    warehouse = data.get("warehouse", {})
    if not isinstance(warehouse, dict) or set(warehouse) - {"path", "catalog", "data_path"}:
        raise ConfigError(f"[warehouse] in {config_path} takes the keys path, catalog and data_path")
    warehouse_path = warehouse.get("path", str(DEFAULT_WAREHOUSE))
    if not isinstance(warehouse_path, str) or not warehouse_path:
        raise ConfigError("[warehouse] path must be a non-empty string")
    catalog, data_path = warehouse.get("catalog"), warehouse.get("data_path")
    for key, value in (("catalog", catalog), ("data_path", data_path)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"[warehouse] {key} in {config_path} must be a non-empty string")
    if catalog is not None and not catalog.startswith("postgres:"):
        raise ConfigError(
            f'[warehouse] catalog in {config_path} must be a PostgreSQL catalog ("postgres:dbname=... host=..."); '
            "leave it out for the embedded one"
        )
    return Settings(
        warehouse_path=Path(warehouse_path).expanduser().resolve(),
        feeds=_feeds(data["feeds"]) if "feeds" in data else topic.default_feeds,
        topic=topic,
        fetch=_fetch(data.get("fetch", {})),
        schedule=_section(ScheduleSettings, "schedule", data.get("schedule", {})),
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
