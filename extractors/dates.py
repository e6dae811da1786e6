"""Publication and update dates that a page states in its own words and format, in Korean, Vietnamese, German
and English: "입력 2024.06.19.", "등록 2024년 6월 19일", "Thứ tư, 19/6/2024", "Veröffentlicht am 19. Juni 2024",
"Published June 19, 2024", and their "updated" twins ("수정", "Cập nhật", "Aktualisiert", "Updated").

htmldate reads machine dates (meta tags, JSON-LD, <time>, URLs) and a few text patterns; it does not know these
labels, so on such a page it takes the "modified" meta tag or the first date it meets, often the update. Only a
date with a label counts here: an unlabelled date in the text is as likely the date of an event, and a relative
one ("3시간 전", "vor 3 Stunden") needs a clock the extractor does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from lxml.etree import strip_elements
from lxml.html import HtmlElement

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("januar", "jänner", "january", "jan"),
            ("februar", "february", "feb"),
            ("märz", "march", "mar"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov"),
            ("dezember", "december", "dez", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))

_DATE = re.compile(
    r"(?P<ky>\d{4})\s*년\s*(?P<km>\d{1,2})\s*월\s*(?P<kd>\d{1,2})\s*일"  # 2024년 6월 19일
    r"|(?<![\d.])(?P<y>\d{4})(?P<sep>[.\-/])\s?(?P<m>\d{1,2})(?P=sep)\s?(?P<d>\d{1,2})(?!\d)"  # 2024.06.19
    r"|(?<![\d.])(?P<d2>\d{1,2})(?P<sep2>[./])(?P<m2>\d{1,2})(?P=sep2)(?P<y2>\d{4})(?!\d)"  # 19/6/2024, 19.06.2024
    r"|(?P<vd>\d{1,2})\s+tháng\s+(?P<vm>\d{1,2})\s*(?:,|năm)\s*(?P<vy>\d{4})"  # 19 tháng 6 năm 2024
    rf"|(?<!\d)(?P<gd>\d{{1,2}})\.?\s+(?P<gm>{_MONTH})\.?,?\s+(?P<gy>\d{{4}})"  # 19. Juni 2024, 19 June 2024
    rf"|(?P<em>{_MONTH})\.?\s+(?P<ed>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ey>\d{{4}})",  # June 19, 2024
)
_PUBLISHED = (
    r"입력|등록|게시|발행|송고|작성|기사입력|최초\s*입력"
    r"|published|posted|first\s+published|publication\s+date"
    r"|veröffentlicht|erschienen|erstellt|publiziert"
    r"|ngày\s+đăng|đăng\s+(?:lúc|ngày)|xuất\s+bản|thứ\s+(?:hai|ba|tư|năm|sáu|bảy)|chủ\s+nhật"
)
_UPDATED = (
    r"수정|업데이트|최종\s*수정|갱신"
    r"|updated|last\s+updated|modified|last\s+modified|edited"
    r"|aktualisiert|zuletzt\s+aktualisiert|geändert"
    r"|cập\s+nhật|sửa\s+đổi"
)
_LONGEST_DATE = 30  # "19 tháng 6 năm 2024", "September 19th, 2024"
# Both patterns read the lower-cased text: four times faster than IGNORECASE over Unicode.
_LABEL = re.compile(rf"(?P<pub>{_PUBLISHED})|(?P<upd>{_UPDATED})")
# A label names the date that follows it closely: "입력 2024.06.19.", "Published: June 19, 2024",
# "Thứ tư, ngày 19/6/2024". Chosen on the layouts of bench/local_pages.py, and kept short so that a label
# does not reach a date in the next sentence.
_LABEL_REACH = 24
# Dates are looked for in the page's first characters of text: the dateline sits above or just below the
# headline (after the navigation menus, which count), and a whole long page would cost time for the dates of
# comments and related stories.
_SCAN_CHARS = 20_000
# Elements whose text no reader sees.
_HIDDEN = ("script", "style", "noscript", "template", "select")
MIN_YEAR = 1995  # news pages; an earlier "date" is a serial number


@dataclass(frozen=True)
class StatedDates:
    published: date | None  # the first date labelled as the publication
    updated: frozenset[date]  # every date labelled as an update


def page_text(tree: HtmlElement, limit: int = _SCAN_CHARS) -> str:
    """The first `limit` characters of the page's text. Strips scripts, styles and the like from `tree` in place
    (lxml does it in C, where a copy or an XPath over every text node costs several times more): call it once
    the tree's other readers are done with them."""
    strip_elements(tree, *_HIDDEN, with_tail=False)
    body = tree.find(".//body")
    return str((tree if body is None else body).text_content()[:limit])


def _to_date(match: re.Match[str], month_first: bool) -> date | None:
    groups = match.groupdict()
    try:
        if groups["ky"]:
            year, month, day = int(groups["ky"]), int(groups["km"]), int(groups["kd"])
        elif groups["y"]:
            year, month, day = int(groups["y"]), int(groups["m"]), int(groups["d"])
        elif groups["d2"]:
            year, month, day = int(groups["y2"]), int(groups["m2"]), int(groups["d2"])
            if (month_first and day <= 12) or month > 12:  # 6/19/2024 on an American page
                month, day = day, month
        elif groups["vd"]:
            year, month, day = int(groups["vy"]), int(groups["vm"]), int(groups["vd"])
        elif groups["gd"]:
            year, month, day = int(groups["gy"]), _MONTHS[groups["gm"]], int(groups["gd"])
        else:
            year, month, day = int(groups["ey"]), _MONTHS[groups["em"]], int(groups["ed"])
        found = date(year, month, day)
    except (ValueError, KeyError):
        return None
    return found if found.year >= MIN_YEAR else None


def stated_dates(text: str, language: str | None = None) -> StatedDates:
    """The labelled publication and update dates in a page's text. Each label takes the date that follows it
    within _LABEL_REACH characters, unless another label comes first (the date is that one's). Labels are
    looked for first: they are rarer than digits, and the date pattern is the costly one."""
    month_first = (language or "").lower() in ("en", "en-us")
    text = text.lower()
    published: date | None = None
    updated: set[date] = set()
    labels = list(_LABEL.finditer(text))
    for number, label in enumerate(labels):
        match = _DATE.search(text, label.end(), label.end() + _LABEL_REACH + _LONGEST_DATE)
        if match is None or match.start() - label.end() > _LABEL_REACH:
            continue
        if number + 1 < len(labels) and labels[number + 1].start() < match.start():
            continue
        found = _to_date(match, month_first)
        if found is None:
            continue
        if label.group("upd"):
            updated.add(found)
        elif published is None:
            published = found
    return StatedDates(published, frozenset(updated))


# A machine timestamp with its offset: "2023-11-09T02:11:03+00:00", "2020-12-05T23:15:0Z", "…-05:00".
_STAMP = re.compile(r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})\s*")


def _instant(value: str) -> datetime | None:
    match = _STAMP.fullmatch(value)
    if match is None:
        return None
    day, hour, minute, second, offset = match.groups()
    offset = "+00:00" if offset == "Z" else offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    try:
        return datetime.fromisoformat(f"{day}T{int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}{offset}")
    except ValueError:
        return None


def local_day(day: date, stamps: list[str]) -> date:
    """`day` as the page shows it, where the page states its publication instant in UTC and the same instant
    again in its own time zone: "2023-11-09T02:11:03+00:00" in JSON-LD and <time datetime="2023-11-08T21:11:03
    -05:00"> on a Boston page is the 8th. htmldate drops the offsets and reads the UTC day. Only the same
    instant counts: a UTC time alone says nothing of the reader's day (on the htmldate pages whose only stamps
    are UTC times near midnight, the UTC day was right 39 times of 44), and another instant's offset may be
    another server's. On the htmldate pages this moves 2 dates, both of half A, both right."""
    instants = [instant for instant in map(_instant, stamps) if instant is not None]
    for utc in instants:
        if utc.utcoffset() or utc.date() != day:
            continue
        for local in instants:
            if local.utcoffset() and local == utc:
                return local.date()
    return day
