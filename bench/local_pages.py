"""Korean, Vietnamese, German and English news pages built from the topic articles, with known metadata.

The texts are real (../shared/data/topic/articles); the markup around them is written here, after the layouts of
Naver News, Dân trí / VnExpress, tagesschau / Spiegel and a WordPress blog: the headline in an h2 or h1, the
site's name in <title>, a byline, the publication date in the page's own format ("2024년 6월 19일",
"2024.06.19", "ngày 19/6/2024", "19. Juni 2024"), and in most pages a later "updated" date and relative dates
("3시간 전") that are not the publication date. Each article gives two pages of different layouts, chosen by
a hash of its file name, so the set is the same on every run.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

AUTHORS = {
    "ko": ["김연숙", "이정훈", "박서연", "최민준"],
    "vi": ["Nguyễn Thanh Hà", "Trần Minh Đức", "Lê Thu Trang"],
    "de": ["Anna Schmidt", "Jonas Becker", "Miriam Vogel"],
    "en": ["Sarah Miller", "David Park", "Laura Chen"],
}
MIN_BODY_CHARS = 150  # two Korean crawls kept 49 characters; every other article has 600 or more
KO_SITES = ["연합뉴스", "한겨레", "동아일보", "KBS 뉴스"]


@dataclass(frozen=True)
class LocalPage:
    key: str
    url: str
    html: bytes
    title: str
    author: str
    published: date
    updated: date | None
    language: str
    text: str
    layout: str


def _front_matter(raw: str) -> tuple[dict[str, str], str]:
    _, head, body = raw.split("---", 2)
    fields: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t")):
            fields[name.strip()] = value.strip().strip('"').strip()
    return fields, body


def _paragraphs(body: str) -> list[str]:
    kept = []
    for line in body.splitlines():
        line = html.unescape(line.strip())
        if not line or line.startswith(("[", "![", "#", "*", "---")):
            continue
        kept.append(line)
    return kept


def _title(fields: dict[str, str]) -> str:
    title = html.unescape(html.unescape(fields.get("title", "")))  # the crawl escaped some twice
    title = re.sub(r"^\W*\[[^\]]*\]\s*", "", title)  # the trends crawl's "[Keyword] " prefix
    return title.strip()


def _pick(seed: str, options: list[str]) -> str:
    return options[int(hashlib.sha1(seed.encode()).hexdigest(), 16) % len(options)]


def _day(seed: str) -> date:
    return date(2023, 1, 1) + timedelta(days=int(hashlib.sha1(seed.encode()).hexdigest(), 16) % 900)


def _ko_date(day: date, style: str) -> str:
    if style == "long":
        return f"{day.year}년 {day.month}월 {day.day}일 14:05"
    return f"{day.year}.{day.month:02d}.{day.day:02d}. 오후 2:05"


def _body(paragraphs: list[str]) -> str:
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _nav(language: str) -> str:
    words = {
        "ko": ["정치", "경제", "사회", "생활/문화", "세계", "IT/과학", "랭킹", "구독"],
        "vi": ["Thời sự", "Thế giới", "Kinh doanh", "Giải trí", "Thể thao", "Pháp luật"],
        "de": ["Startseite", "Inland", "Ausland", "Wirtschaft", "Sport", "Wetter", "Video"],
        "en": ["Home", "World", "Politics", "Business", "Opinion", "Sport"],
    }[language]
    return "<nav><ul>" + "".join(f'<li><a href="/{i}">{w}</a></li>' for i, w in enumerate(words)) + "</ul></nav>"


def _related(language: str, seed: str) -> str:
    """A sidebar of other stories with relative and absolute dates of other days."""
    other = _day(seed + "other")
    items = {
        "ko": [
            ("북한, 동해상으로 탄도미사일 발사", "3시간 전"),
            ("국회 본회의 예산안 처리", f"{other.year}.{other.month:02d}.{other.day:02d}."),
        ],
        "vi": [
            ("Giá vàng hôm nay tăng mạnh", "3 giờ trước"),
            ("Thời tiết Hà Nội chuyển lạnh", f"{other.day}/{other.month}/{other.year}"),
        ],
        "de": [
            ("Bundestag beschließt Haushalt", "vor 3 Stunden"),
            ("Unwetter im Süden", f"{other.day:02d}.{other.month:02d}.{other.year}"),
        ],
        "en": [("Markets close higher", "3 hours ago"), ("Storm warning for the coast", other.strftime("%B %d, %Y"))],
    }[language]
    links = "".join(
        f'<li><a href="/story/{i}">{t}</a> <span class="time">{d}</span></li>' for i, (t, d) in enumerate(items)
    )
    heading = {"ko": "많이 본 뉴스", "vi": "Tin liên quan", "de": "Mehr zum Thema", "en": "Most read"}[language]
    return f'<aside class="related"><h3>{heading}</h3><ul>{links}</ul></aside>'


def _page(lang: str, layout: str, seed: str, title: str, author: str, pub: date, upd: date, text: str) -> str:
    """One page of the given layout; the headline, byline and dates where that kind of site puts them."""
    esc = html.escape(title)
    nav, related = _nav(lang), _related(lang, seed)
    if lang == "ko":
        site = _pick(seed + "site", KO_SITES)
        style = "long" if layout.endswith("long") else "dots"
        if layout.startswith("naver"):
            head = f'<title>{esc} : 네이버 뉴스</title><meta property="og:title" content="{esc}">'
            head += '<meta property="og:site_name" content="네이버 뉴스">'
            head += f'<meta property="article:modified_time" content="{upd.isoformat()}T09:00:00+09:00">'
            info = (
                '<div class="media_end_head_info_datestamp">'
                f'<span>입력</span> <span class="time">{_ko_date(pub, style)}</span> '
                f'<span>수정</span> <span class="time">{_ko_date(upd, style)}</span></div>'
            )
            header = f'<h2 class="media_end_head_headline">{esc}</h2>{info}<em class="byline">{author} 기자</em>'
        else:  # a newspaper's own site: the updated date comes first, the headline is the only h1
            head = f"<title>{esc} - {site}</title>"
            info = f'<p class="date">수정 {_ko_date(upd, style)} | 등록 {_ko_date(pub, style)}</p>'
            header = f'<h1 class="headline">{esc}</h1><p class="byline">{author} 기자</p>{info}'
        footer = f"<footer><p>Copyright ⓒ {site}. All rights reserved. 무단 전재 및 재배포 금지.</p></footer>"
    elif lang == "vi":
        long_form = layout.endswith("long")
        shown = (
            f"ngày {pub.day}/{pub.month}/{pub.year}"
            if long_form
            else f"{pub.day:02d}/{pub.month:02d}/{pub.year} - 14:05"
        )
        head = f'<title>{esc} | Báo Dân trí</title><meta property="og:title" content="{esc}">'
        if not long_form:
            head += f'<meta property="article:modified_time" content="{upd.isoformat()}T09:00:00+07:00">'
        info = (
            f'<div class="author-meta"><span class="author-name"><b>{author}</b></span> '
            f'<time class="author-time">Thứ tư, {shown} (GMT+7)</time></div>'
            f'<p class="updated">Cập nhật: {upd.day}/{upd.month}/{upd.year} 09:00</p>'
        )
        header = f'<h1 class="title-page detail">{esc}</h1>{info}'
        footer = "<footer><p>Cơ quan chủ quản: Bộ Lao động. Giấy phép số 417/GP-BTTTT.</p></footer>"
    elif lang == "de":
        shown = f"{pub.day}. {_DE_MONTHS[pub.month - 1]} {pub.year}"
        head = f"<title>{esc} | tagesschau.de</title>"
        if layout.endswith("jsonld"):
            data = {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": esc,  # CMSs escape the headline for HTML, then put it in JSON
                "dateModified": f"{upd.isoformat()}T09:12:00+01:00",
                "author": {"@type": "Person", "name": author},
            }
            head += f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
        info = (
            f'<p class="metatextline">Aktualisiert am {upd.day:02d}.{upd.month:02d}.{upd.year}, 09:12 Uhr</p>'
            f'<p class="meta">Veröffentlicht am {shown}, 11:47 Uhr</p>'
        )
        byline = f'<p class="autorenzeile">Von {author}, ARD-Studio Tokio</p>'
        header = f'<h1><span class="seitenkopf__headline">{esc}</span></h1>{info}{byline}'
        footer = "<footer><p>© ARD-aktuell / tagesschau.de</p></footer>"
    else:
        head = f'<title>{esc} &#8211; The Daily Report</title><meta property="og:title" content="{html.escape(esc)}">'
        info = (
            f'<p class="byline">By <a rel="author" href="/author/x">{author}</a></p>'
            f'<p class="dateline">Published {pub.strftime("%B %d, %Y")} · Updated {upd.strftime("%B %d, %Y")}</p>'
        )
        header = f'<h1 class="entry-title">{esc}</h1>{info}'
        footer = "<footer><p>© The Daily Report. All rights reserved.</p></footer>"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>'
        f'<header><a class="logo" href="/">Home</a>{nav}</header><main><article>{header}'
        f'<div class="article-body" id="dic_area">{text}</div></article>{related}</main>{footer}</body></html>'
    )


_DE_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
LAYOUTS = {
    "ko": ["naver-dots", "naver-long", "paper-dots", "paper-long"],
    "vi": ["dantri-short", "dantri-long"],
    "de": ["tagesschau-plain", "tagesschau-jsonld"],
    "en": ["blog-a", "blog-b"],
}


def local_pages(topic: Path | None = None) -> list[LocalPage]:
    """Two pages per Korean, Vietnamese, German and (Naver) English topic article of `topic` (the shared
    data's topic/ folder)."""
    topic = topic or Path(__file__).resolve().parents[2] / "shared" / "data" / "topic"
    pages = []
    with (topic / "articles.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        name, lang = row["file"], row["lang"]
        if lang == "en" and "baram_" not in name:
            continue  # the other English articles are page dumps with their own boilerplate
        fields, body = _front_matter((topic / "articles" / name).read_text(encoding="utf-8"))
        paragraphs, title = _paragraphs(body), _title(fields)
        if sum(map(len, paragraphs)) < MIN_BODY_CHARS or not title:
            continue  # a crawl that kept only the lead sentence
        layouts = LAYOUTS[lang]
        first = layouts.index(_pick(name, layouts))
        for n in range(2):
            layout = layouts[(first + n) % len(layouts)]
            seed = f"{name}#{n}"
            pub = _day(seed)
            upd = pub + timedelta(days=1 + int(hashlib.sha1(seed.encode()).hexdigest(), 16) % 5)
            author = _pick(seed + "author", AUTHORS[lang])
            markup = _page(lang, layout, seed, title, author, pub, upd, _body(paragraphs))
            key = hashlib.sha1(seed.encode()).hexdigest()[:12]
            pages.append(
                LocalPage(
                    key=key,
                    url=f"https://news.example.{lang}/article/{key}",
                    html=markup.encode("utf-8"),
                    title=title,
                    author=author,
                    published=pub,
                    updated=upd,
                    language=lang,
                    text="\n".join(paragraphs),
                    layout=layout,
                )
            )
    return pages
