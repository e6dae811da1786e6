"""A warehouse built by a real ingest of the shared topic articles: each article becomes an HTML page on the
loopback site with its outlet, date and language, listed in one feed per language, plus two syndicated copies
and a feed that fails. Built once per test session (an ingest takes a few seconds); tests open it read-only
or copy it."""

from __future__ import annotations

import csv
import html
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from bench.relevance import _article
from tests.conftest import SHARED
from tests.helpers import run, write_config
from tests.site import Route, Site, rss

TOPIC = SHARED / "topic"
# Syndicated copies served beside the originals (file of the original, the copying outlet).
COPIES = [("on/baram_021_0002759880.md", "Wire Korea"), ("on/baram_056_0012097578.md", "Asia Wire")]


@dataclass(frozen=True)
class TopicArticle:
    file: str
    label: str
    language: str
    title: str
    text: str
    outlet: str
    published: datetime

    @property
    def path(self) -> str:
        return "/a/" + Path(self.file).stem


def _front(raw: str, key: str) -> str | None:
    match = re.search(rf"^\s*(?:- \*\*)?{key}(?:\*\*)?:\s*\"?(.+?)\"?\s*$", raw, re.M)
    return match.group(1).strip() if match else None


def _date(raw: str) -> datetime:
    if value := _front(raw, "published_at"):
        return datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    if value := _front(raw, "date"):
        return parsedate_to_datetime(value).astimezone(UTC)
    if value := _front(raw, "page_date"):
        for form in ("%b %d, %Y %H:%M", "%b %d, %Y"):
            try:
                return datetime.strptime(value, form).replace(tzinfo=UTC)
            except ValueError:
                continue
    if value := _front(raw, "timestamp"):
        return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
    return datetime(2025, 1, 1, tzinfo=UTC)


def _outlet(name: str, raw: str) -> str:
    if value := _front(raw, "publisher"):
        return value
    if name.startswith("purenews"):
        return "Pure News"
    domain = re.search(r"https?://(?:www\.)?([\w.-]+)", raw)
    return domain.group(1) if domain else "unknown"


def topic_articles() -> list[TopicArticle]:
    found = []
    with (TOPIC / "articles.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            raw = (TOPIC / "articles" / row["file"]).read_text(encoding="utf-8")
            title, text = _article(TOPIC / "articles" / row["file"])
            if not title:
                title = _front(raw, "title") or text.strip().splitlines()[0].lstrip("# ")
            name = Path(row["file"]).name
            found.append(
                TopicArticle(row["file"], row["label"], row["lang"], title, text, _outlet(name, raw), _date(raw))
            )
    return found


def page(title: str, text: str, outlet: str, language: str) -> bytes:
    body = re.sub(r"(?s)^---.*?---", "", text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip() and not p.startswith(("![", "---"))]
    tags = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<meta property='og:site_name' content='{html.escape(outlet)}'></head>"
        f"<body><article><h1>{html.escape(title)}</h1>{tags}</article></body></html>"
    ).encode()


def serve(site: Site) -> list[str]:
    """Serve the articles and the feeds; returns the feed URLs (one per language, and one that fails)."""
    articles = topic_articles()
    feeds: dict[str, list[dict[str, str]]] = {}
    for item in articles:
        site.routes[item.path] = Route(body=page(item.title, item.text, item.outlet, item.language))
        feeds.setdefault(item.language, []).append(
            {
                "title": item.title,
                "link": site.url(item.path),
                "guid": item.file,
                "pubDate": format_datetime(item.published),
            }
        )
    by_file = {item.file: item for item in articles}
    for number, (file, outlet) in enumerate(COPIES):
        item = by_file[file]
        path = f"/wire/{number}"
        site.routes[path] = Route(body=page(f"{item.title} (wire)", item.text, outlet, item.language))
        published = item.published.replace(hour=min(item.published.hour + 3, 23))
        feeds[item.language].append(
            {"title": item.title, "link": site.url(path), "guid": path, "pubDate": format_datetime(published)}
        )
    urls = []
    for language, items in sorted(feeds.items()):
        site.routes[f"/feed/{language}.xml"] = Route(body=rss(f"Topic news ({language})", items))
        urls.append(site.url(f"/feed/{language}.xml"))
    return [*urls, site.url("/feed/gone.xml")]


_BUILT: dict[str, Path] = {}


def topic_warehouse(root: Path) -> Path:
    """The path of the session's topic warehouse, built under `root` on first use."""
    if "path" not in _BUILT:
        site = Site()
        try:
            config = write_config(root, serve(site))
            run(config)
        finally:
            site.close()
        _BUILT["path"] = root / "wh"
        _BUILT["config"] = config
    return _BUILT["path"]


def copy_of_topic_warehouse(root: Path, into: Path) -> Path:
    """A writable copy of the session's topic warehouse, and a config pointing at it, in `into`."""
    source = topic_warehouse(root)
    shutil.copytree(source, into / "wh")
    config = into / "newsmon.toml"
    config.write_text(
        _BUILT["config"].read_text(encoding="utf-8").replace(str(source), str(into / "wh")), encoding="utf-8"
    )
    return config
