"""The byline search: trafilatura's, without its copy of the tree and its regular expressions."""

from __future__ import annotations

import gzip
from copy import deepcopy

import trafilatura
from trafilatura.metadata import extract_author

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
