"""The byline search: trafilatura's, without its copy of the tree and its regular expressions."""

from __future__ import annotations

import gzip
from copy import deepcopy

import trafilatura
from trafilatura.metadata import extract_author

from extractors.articles import extract_article
from extractors.authors import Publisher, choose_author, raw_byline
from extractors.bylines import byline_search
from tests.conftest import EXTRACTION, SHARED

HTMLDATE = SHARED / "extraction" / "htmldate" / "html"


def test_the_byline_search_finds_what_trafilaturas_extract_author_finds_on_real_pages() -> None:
    files = sorted((EXTRACTION / "html").glob("*.html.gz")) + sorted(HTMLDATE.glob("*.html.gz"))[::4]
    found = 0
    for file in files:
        tree = trafilatura.load_html(gzip.decompress(file.read_bytes()))
        if tree is None:
            continue
        expected = extract_author(tree)
        assert byline_search(deepcopy(tree)) == expected, file.name
        found += expected is not None
    assert found > 50  # the comparison saw real bylines, not only pages without one


def _choose(meta: str | None, byline: str | None, site: str | None, url: str) -> str | None:
    return choose_author(meta, lambda: raw_byline(byline), Publisher(site, url))


def test_the_publisher_named_beside_the_writer_is_not_an_author() -> None:
    # meta author "Die Tagespost", the JSON-LD's writer beside it (trafilatura joins the two)
    for url in ("https://www.die-tagespost.de/a", "https://die-tagespost.de/a"):
        assert _choose("Die Tagespost; Christoph von Ritter", None, "die-tagespost.de", url) == "Christoph von Ritter"
    # a person's blog under its owner's name keeps the owner
    assert _choose("Patrick Danowski", None, "Bibliothek 2.0", "https://www.danowski.de/a") == "Patrick Danowski"


def test_a_meta_author_that_is_the_site_gives_way_to_the_byline_or_to_nothing() -> None:
    assert _choose("NDR", "Autor/in: Korinna Hennig", "ndr", "https://www.ndr.de/a") == "Korinna Hennig"
    site = "HSS - Hanns-Seidel-Stiftung e.V."
    assert _choose("Hanns-Seidel-Stiftung e V", None, site, "https://www.hss.de/a") is None


def test_a_visible_byline_naming_the_site_is_kept_unless_it_is_the_domain_written_out() -> None:
    assert _choose(None, "Artikel von: hausinfo", None, "https://www.hausinfo.ch/a") == "Hausinfo"
    assert _choose(None, "Par sudinfo.be", "sudinfo.be", "https://www.sudinfo.be/a") is None


def test_a_byline_loses_its_address_and_cue() -> None:
    assert raw_byline("Lüder Hoppe info@buero-hoppe.de") == "Lüder Hoppe"
    assert raw_byline("Par Jean Dupont") == "Jean Dupont"
    assert raw_byline("Written by Jane Doe and John Roe") == "Jane Doe; John Roe"


def test_a_placeholder_is_no_author() -> None:
    assert _choose("Unbenannt", None, None, "https://example.org/a") is None
    assert _choose("Admin; Jane Doe", None, None, "https://example.org/a") == "Jane Doe"
    assert _choose(None, "Vom Support Team", None, "https://x.org/a") is None  # German "from the", then furniture


def test_what_bylines_run_into_the_name_is_cut_off() -> None:
    assert _choose("Jeff Foust Monday; November", None, None, "https://x.org/a") == "Jeff Foust"  # the date
    assert _choose("Amy Kuperinsky; NJ Advance Media for NJ.com", None, None, "https://x.org/a") == (
        "Amy Kuperinsky; NJ Advance Media"
    )
    assert _choose("Phil Helsel is a reporter for NBC News", None, None, "https://x.org/a") == "Phil Helsel"
    assert _choose("Analysis by Chris Cillizza; CNN Editor-at-large", None, None, "https://x.org/a") == "Chris Cillizza"
    assert _choose("Troy Smith; Troy L Smith", None, None, "https://x.org/a") == "Troy L Smith"
    assert _choose("Centre for European Reform", None, None, "https://x.org/a") == "Centre for European Reform"
    assert _choose("Art Edwards says", None, None, "https://x.org/a") is None  # a commenter


def test_the_copyright_holder_is_a_publisher() -> None:
    publisher = Publisher("Wired", "https://www.wired.com/a", ["Copyright (c) Condé Nast 2019"])
    assert choose_author("Condé Nast; Molly Wood", lambda: None, publisher) == "Molly Wood"


def test_an_article_names_its_writer_not_its_publishers_parent() -> None:
    """Through extract_article: the meta author that names the JSON-LD's publisher is dropped beside the writer."""
    ld = (
        '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Troops arrive",'
        ' "author": [{"@type": "Person", "name": "Molly Wood"}],'
        ' "publisher": {"@type": "Organization", "name": "Conde Nast"}}'
    )
    page = (
        '<html lang="en"><head><title>Troops arrive</title><meta name="author" content="Conde Nast">'
        '<meta property="og:site_name" content="Wired">'
        f'<script type="application/ld+json">{ld}</script></head><body><article><h1>Troops arrive</h1>'
        + "<p>North Korean troops arrived in the Kursk region on Monday, officials said in a statement.</p>" * 5
        + "</article></body></html>"
    )
    article = extract_article(page.encode(), "https://www.wired.com/story/troops")
    assert article.author == "Molly Wood"
