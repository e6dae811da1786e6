"""The article's author: trafilatura's meta-tag, JSON-LD and byline readers, then a visible "By …" / "Von …"
line, and the name cleaned of the role and address that bylines add."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

# A byline's role and address are not the author's name: "김연숙 기자", "이정훈 특파원 (nomad@yna.co.kr)",
# "Von Anna Schmidt", "By Sarah Miller".
_AUTHOR_ROLE = re.compile(
    r"\s*(?:\(?[\w.+-]+@[\w-]+\.[\w.]+\)?|(?:선임|수석|객원|인턴)?기자|특파원|논설위원|앵커)\s*$"
    r"|^\s*(?:by|von|tác giả:?|글)\s+",
    re.IGNORECASE,
)
# A visible byline is a short line of its own that starts with the cue, then two to four capitalised words: the
# name ends at a comma, "|", "and/und" or the line's end. Elements in navigation, sidebars and footers are not
# read; the first byline in document order counts.
_BYLINE_CHARS = 100
_BYLINE_XPATH = (
    "//*[self::p or self::span or self::div or self::address or self::li]"
    f"[string-length(normalize-space(.)) < {_BYLINE_CHARS}]"
    "[starts-with(normalize-space(.), 'By ') or starts-with(normalize-space(.), 'Von ')"
    " or starts-with(normalize-space(.), 'von ') or starts-with(normalize-space(.), 'by ')]"
    "[not(ancestor::nav or ancestor::footer or ancestor::aside)]"
)
_NAME = re.compile(r"^(?i:by|von)\s+((?:[A-ZÄÖÜ][\w'’.-]+\s+){1,3}[A-ZÄÖÜ][\w'’.-]+)\s*(?:$|[,|·]|\s(?:and|und)\s)")


def visible_byline(tree: HtmlElement) -> str | None:
    """The name in the page's first visible "By …" / "Von …" line."""
    for element in tree.xpath(_BYLINE_XPATH)[:5]:
        match = _NAME.match(" ".join(element.text_content().split()))
        if match:
            return match.group(1)
    return None


def clean_author(author: str | None) -> str | None:
    """The names in a byline, without roles ("기자") and addresses; None when nothing is left."""
    if not author:
        return None
    names = []
    for name in author.split(";"):
        for _ in range(3):  # "김연숙 기자 (nomad@yna.co.kr)": the address, then the role
            name = _AUTHOR_ROLE.sub("", name).strip()
        if name:
            names.append(name)
    return "; ".join(names) or None
