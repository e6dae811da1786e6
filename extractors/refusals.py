"""The pages that are refused although text came out of them: bot walls and error pages.

Anything else with text is kept, however short: a news brief of two sentences is an article. Each rule says
what it looks for; a refusal's message names the rule. Front pages are kept too: the htmldate set has eight
(a site's or a blog's home page, with a publication date), and the pages newsmon is measured on include
listings; refusing them cost 0.7 points of date accuracy there for no gain.
"""

from __future__ import annotations

import re

# A bot wall or an error page says so in a few words: beyond this much text the page is a real one that
# happens to mention a captcha or a 404 (an article about them, a page with a long footer). Chosen from the
# interstitials of Cloudflare, Akamai, PerimeterX and DataDome (300 to 900 characters of text with their
# footers) and the scrapinghub and htmldate pages, none of which is refused (bench/extraction.py).
SHORT_PAGE_CHARS = 1500

_BOT_WALL = re.compile(
    r"just a moment\.\.\.|attention required|checking (?:if the site connection is secure|your browser)"
    r"|verify (?:that )?you are (?:a )?human|are you a (?:robot|human)|not a robot|captcha"
    r"|pardon our interruption|access (?:to this page has been )?denied|request unsuccessful"
    r"|please enable (?:javascript|cookies)|enable javascript and cookies|ddos protection"
    r"|unusual traffic from your|bot (?:detection|protection)",
    re.IGNORECASE,
)
_ERROR_PAGE = re.compile(
    r"^\s*(?:error\s*|http\s*)?(?:404|410|500|502|503)\s*(?:$|[-|:–—]|error|not found)|error\s*404"
    r"|page (?:not found|introuvable|non trovata)"
    r"|(?:seite|artikel) (?:wurde )?nicht gefunden|página no encontrada|не найдена"
    r"|페이지를 찾을 수 없|존재하지 않는 (?:기사|페이지)|không tìm thấy|ページが見つかりません"
    r"|service (?:temporarily )?unavailable|internal server error|bad gateway",
    re.IGNORECASE,
)


def refusal(title: str | None, text: str) -> str | None:
    """Why the page is not an article, or None when it is one."""
    if len(text) >= SHORT_PAGE_CHARS:
        return None
    head = f"{title or ''}\n{text[:300]}"
    if _BOT_WALL.search(head):
        return "a bot wall or challenge page, not the article"
    if _ERROR_PAGE.search(title or "") or _ERROR_PAGE.search(text[:200]):
        return "an error page, not an article"
    return None
