"""Article metadata: publication dates in the page's own language and format, titles, authors, refusals."""

from __future__ import annotations

from datetime import date

import pytest

from extractors.articles import ExtractionError, extract_article

BODY = (
    "<p>Russland und Nordkorea haben einen Vertrag über strategische Partnerschaft unterzeichnet, der eine "
    "gegenseitige Beistandspflicht im Fall eines Angriffs vorsieht.</p>"
    "<p>Beide Seiten sprachen von einem neuen Kapitel ihrer Beziehungen, Beobachter von einer Herausforderung "
    "für die Sicherheitsordnung in Ostasien.</p>"
)
KO_BODY = (
    "<p>러시아와 북한이 유사시 상호 군사 지원을 약속하는 포괄적 전략적 동반자 관계 조약에 서명했다. "
    "양국 정상은 평양에서 회담을 열고 협력 확대에 합의했다고 밝혔다.</p>"
    "<p>전문가들은 이번 조약이 동북아 안보 질서에 큰 변화를 가져올 수 있다고 분석했다.</p>"
)
VI_BODY = (
    "<p>Nga và Triều Tiên đã ký hiệp ước đối tác chiến lược toàn diện, trong đó có điều khoản hỗ trợ quân sự "
    "lẫn nhau nếu một bên bị tấn công.</p><p>Các nhà phân tích cho rằng hiệp ước có thể thay đổi cục diện an "
    "ninh trong khu vực Đông Bắc Á.</p>"
)


def _page(lang: str, head: str, dateline: str, body: str, sidebar: str = "") -> bytes:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8">{head}</head><body><header><nav><a href="/">Start</a>'
        f"</nav></header><main><article><h1>Putin und Kim unterzeichnen Abkommen in Pjöngjang</h1>{dateline}"
        f"{body}</article><aside>{sidebar}</aside></main><footer>© 2024</footer></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("lang", "head", "dateline", "body", "sidebar", "expected"),
    [
        # Korean, Naver's layout: input (입력) then modified (수정), dotted dates
        ("ko", "", "<p>입력 2024.06.19. 오후 2:05 수정 2024.06.20. 오전 9:00</p>", KO_BODY, "", date(2024, 6, 19)),
        # Korean, the update first, long dates; a relative date in the sidebar
        (
            "ko",
            "",
            "<p>수정 2024년 6월 21일 10:00 | 등록 2024년 6월 19일 14:05</p>",
            KO_BODY,
            "3시간 전",
            date(2024, 6, 19),
        ),
        # Vietnamese, weekday-led dateline and a later "Cập nhật"
        (
            "vi",
            "",
            "<p>Thứ tư, ngày 19/6/2024 14:05 (GMT+7)</p><p>Cập nhật: 22/6/2024</p>",
            VI_BODY,
            "",
            date(2024, 6, 19),
        ),
        # German, the update above the publication, a month name
        (
            "de",
            "",
            "<p>Aktualisiert am 20.06.2024, 09:12 Uhr</p><p>Veröffentlicht am 19. Juni 2024, 11:47 Uhr</p>",
            BODY,
            "vor 3 Stunden",
            date(2024, 6, 19),
        ),
        # machine dates still count: the published meta tag, beside a modified one
        (
            "de",
            '<meta property="article:published_time" content="2024-06-19T11:47:00+02:00">'
            '<meta property="article:modified_time" content="2024-06-22T08:00:00+02:00">',
            "",
            BODY,
            "",
            date(2024, 6, 19),
        ),
    ],
)
def test_the_publication_date_is_read_in_the_pages_own_format_and_never_the_update(
    lang: str, head: str, dateline: str, body: str, sidebar: str, expected: date
) -> None:
    article = extract_article(_page(lang, head, dateline, body, sidebar), "https://news.example.org/a/b-c-d")
    assert article.published == expected


def test_a_labelled_publication_date_wins_over_a_modified_meta_tag_and_json_ld() -> None:
    head = (
        '<meta property="article:modified_time" content="2024-06-22T08:00:00+09:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "dateModified": "2024-06-22"}</script>'
    )
    dateline = "<p>기사입력 2024.06.19 14:05</p><p>3시간 전</p>"
    article = extract_article(_page("ko", head, dateline, KO_BODY), "https://news.example.org/a/b-c-d")
    assert article.published == date(2024, 6, 19)


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        # The UTC instant stated again in the page's own zone: the day a reader in Boston saw.
        (
            '<meta property="article:published_time" content="2024-06-20T02:11:03+00:00">'
            '<time datetime="2024-06-19T22:11:03-04:00">June 19, 2024</time>',
            date(2024, 6, 19),
        ),
        (
            '<script type="application/ld+json">{"datePublished": "2024-06-18T23:30:00Z", '
            '"dateCreated": "2024-06-19T01:30:00+02:00"}</script>',
            date(2024, 6, 19),
        ),
        # A UTC time alone, or beside another instant in another zone: the UTC day stays.
        ('<meta property="article:published_time" content="2024-06-20T02:11:03Z">', date(2024, 6, 20)),
        (
            '<meta property="article:published_time" content="2024-06-20T02:11:03Z">'
            '<meta property="article:modified_time" content="2024-06-20T09:00:00-04:00">',
            date(2024, 6, 20),
        ),
    ],
)
def test_a_utc_publication_time_is_read_as_the_day_the_page_shows_when_it_states_its_zone(
    stamps: str, expected: date
) -> None:
    article = extract_article(_page("en", stamps, "", BODY), "https://news.example.org/a/b-c-d")
    assert article.published == expected


def test_the_visible_headline_wins_over_a_declared_title_that_is_another_headline() -> None:
    head = '<title>Breaking: the latest from Asia | Example News</title><meta property="og:title" content="Live">'
    article = extract_article(_page("de", head, "", BODY), "https://news.example.org/a/b-c-d")
    assert article.title == "Putin und Kim unterzeichnen Abkommen in Pjöngjang"


def test_entities_in_a_declared_title_are_decoded() -> None:
    head = '<meta property="og:title" content="Putin &amp;amp; Kim unterzeichnen Abkommen in Pj&#246;ngjang">'
    article = extract_article(_page("de", head, "", BODY), "https://news.example.org/a/b-c-d")
    assert article.title == "Putin & Kim unterzeichnen Abkommen in Pjöngjang"


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ('<p class="byline">김연숙 기자 (nomad@yna.co.kr)</p>', "김연숙"),
        ('<p class="autorenzeile">Von Anna Schmidt, ARD-Studio Tokio</p>', "Anna Schmidt"),
        ('<span>By <a rel="author" href="/authors/sm">Sarah Miller</a></span>', "Sarah Miller"),
    ],
)
def test_the_author_is_read_from_the_byline_without_role_or_address(byline: str, expected: str) -> None:
    article = extract_article(_page("de", "", byline, BODY), "https://news.example.org/a/b-c-d")
    assert article.author == expected


def test_a_short_real_article_is_kept() -> None:
    brief = "<p>Nordkorea hat am Morgen erneut eine ballistische Rakete ins Japanische Meer abgefeuert.</p>"
    article = extract_article(_page("de", "", "", brief), "https://news.example.org/a/b-c-d")
    assert "Nordkorea hat am Morgen erneut" in article.text


@pytest.mark.parametrize(
    ("url", "title", "body", "reason"),
    [
        (
            "https://news.example.org/a/b-c-d",
            "Just a moment...",
            "<p>Checking if the site connection is secure. Enable JavaScript and cookies to continue.</p>",
            "a bot wall or challenge page",
        ),
        (
            "https://news.example.org/a/b-c-d",
            "404 - Page not found | Example News",
            "<p>Sorry, the page you were looking for does not exist or has been moved to another address.</p>",
            "an error page",
        ),
    ],
)
def test_bot_walls_and_error_pages_are_refused_with_their_reason(url: str, title: str, body: str, reason: str) -> None:
    page = f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>".encode()
    with pytest.raises(ExtractionError, match=reason):
        extract_article(page, url)


def test_a_front_page_is_kept() -> None:
    article = extract_article(_page("de", "<title>Example News</title>", "", BODY), "https://news.example.org/")
    assert "Beistandspflicht" in article.text


def test_an_article_about_captchas_is_not_taken_for_a_bot_wall() -> None:
    text = "".join(f"<p>In study {n}, researchers found that a captcha costs users {n} seconds.</p>" for n in range(30))
    page = f"<html><head><title>Why captchas fail</title></head><body><article>{text}</article></body></html>"
    assert (
        extract_article(page.encode(), "https://news.example.org/tech/why-captchas-fail").title == "Why captchas fail"
    )
