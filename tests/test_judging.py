"""Judgments: `newsmon label` by URL and by file, a bad line, judgments surviving a rescore, a score that moves.

The warehouse is a real one, filled by a real pipeline run over pages served on loopback.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import query, run, write_config
from tests.site import Route, Site, rss

ROOT = Path(__file__).resolve().parents[1]

# Pages on and around the topic: every one names both sides, so that the learned model weighs each of them.
PAGES = {
    "treaty": (
        "Putin and Kim sign a mutual defence treaty in Pyongyang",
        "Russia and North Korea signed a treaty that obliges each side to give military aid if attacked. "
        "The pact was signed during Vladimir Putin's visit to Pyongyang. Kim Jong Un called it an alliance.",
    ),
    "shells": (
        "North Korea ships artillery shells to Russia by rail",
        "Pyongyang sent millions of artillery shells to Moscow, South Korea's intelligence service said. "
        "The munitions are used by Russian troops in Ukraine, officials in Seoul said.",
    ),
    "glacier": (
        "Glacier tour operators in Russia court North Korean visitors",
        "A travel agency in Vladivostok said North Korea and Russia agreed to reopen glacier tours. "
        "The glacier trips will start in spring, the agency said, and North Korean guides will join them.",
    ),
    "flights": (
        "Russia opens a flight route to North Korea",
        "A Russian airline began flights between Moscow and Pyongyang, the first in decades. "
        "North Korea welcomed the route, state media said.",
    ),
}


def _page(title: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{sentence}.</p>" for sentence in text.split(". "))
    return (
        f'<html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>'
        f"{paragraphs}<p>This report was written for a test of newsmon's judgments and says nothing more.</p>"
        "</article></body></html>"
    ).encode()


def newsmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


@pytest.fixture(scope="module")
def stored(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding the PAGES as stored, scored articles, made once by a real pipeline run."""
    made = tmp_path_factory.mktemp("stored")
    site = Site()
    try:
        items = []
        for key, (title, text) in PAGES.items():
            site.routes[f"/news/{key}"] = Route(body=_page(title, text))
            items.append({"title": title, "link": site.url(f"/news/{key}"), "guid": f"urn:{key}"})
        site.routes["/feed.xml"] = Route(body=rss("Test news", items), content_type="application/rss+xml")
        run(write_config(made, [site.url("/feed.xml")]))
    finally:
        site.close()
    assert len(query(made, "SELECT url FROM articles WHERE url LIKE '%/news/%'")) == len(PAGES)
    return made / "wh"


@pytest.fixture
def warehouse(stored: Path, tmp_path: Path) -> Path:
    """A config whose warehouse is a fresh copy of the stored one."""
    shutil.copytree(stored, tmp_path / "wh")
    return write_config(tmp_path, [])


def _url(tmp_path: Path, key: str) -> str:
    return str(query(tmp_path, "SELECT url FROM articles WHERE url LIKE ?", [f"%/news/{key}"])[0][0])


def test_labelling_a_stored_article_by_url_records_the_text_judged(warehouse: Path, tmp_path: Path) -> None:
    url = _url(tmp_path, "flights")
    result = newsmon("label", "--config", str(warehouse), url, "off", "--who", "analyst@example.org")
    assert result.returncode == 0, result.stderr
    assert "1 judgment(s) recorded" in result.stdout
    assert "a rescore would move" in result.stdout
    rows = query(tmp_path, "SELECT what, label, who, title, text, source FROM judgments")
    assert len(rows) == 1
    what, label, who, title, text, source = rows[0]
    assert (what, label, who, source) == (url, "off", "analyst@example.org", "url")
    assert title == PAGES["flights"][0] and "first in decades" in text
    again = newsmon("label", "--config", str(warehouse), url, "off")
    assert "0 judgment(s) recorded (1 already in force)" in again.stdout


def test_an_article_judged_off_is_off_after_a_rescore_and_the_preview_counts_from_what_is_stored(
    warehouse: Path, tmp_path: Path
) -> None:
    url = _url(tmp_path, "treaty")
    assert query(tmp_path, "SELECT is_relevant FROM articles WHERE url = ?", [url]) == [(True,)]
    judged = newsmon("label", "--config", str(warehouse), url, "off", "--who", "analyst")
    assert judged.returncode == 0, judged.stderr
    moved = re.search(r"a rescore would move (\d+) stored article\(s\): 0 onto the topic, (\d+) off it", judged.stdout)
    assert moved and moved.group(1) == moved.group(2) and int(moved.group(1)) >= 1, judged.stdout
    rescored = newsmon("rescore", "--config", str(warehouse))
    assert rescored.returncode == 0, rescored.stderr
    sql = "SELECT is_relevant, relevance_why, relevance FROM articles WHERE url = ?"
    ((is_relevant, why, _),) = query(tmp_path, sql, [url])
    assert is_relevant is False and why.startswith("judged off the topic by analyst; the model alone: ")
    relevant = query(tmp_path, "SELECT count(*) FILTER (is_relevant) FROM articles")[0][0]
    assert f"{relevant} relevant (before: {relevant + int(moved.group(1))})" in rescored.stdout
    # One judgment against what the shipped model learned from hundreds moves little: the seeds stay on (with
    # the prior held at DENSE_L2 alone, this one judgment turned 8 of the 9 articles off, the seeds included).
    assert query(tmp_path, "SELECT bool_and(is_relevant) FROM articles WHERE is_seed") == [(True,)]
    again = newsmon("label", "--config", str(warehouse), url, "off")
    assert "a rescore would move 0 stored article(s)" in again.stdout


def test_a_url_without_on_or_off_or_with_another_label_is_a_usage_error(warehouse: Path) -> None:
    missing = newsmon("label", "--config", str(warehouse), "https://example.org/a")
    assert missing.returncode == 2 and "say whether https://example.org/a is on or off" in missing.stderr
    maybe = newsmon("label", "--config", str(warehouse), "https://example.org/a", "maybe")
    assert maybe.returncode == 2


def test_labelling_an_article_that_is_not_stored_changes_nothing(warehouse: Path, tmp_path: Path) -> None:
    result = newsmon("label", "--config", str(warehouse), "https://example.org/never-stored", "on")
    assert result.returncode == 1
    assert "no stored article" in result.stderr
    assert query(tmp_path, "SELECT count(*) FROM judgments") == [(0,)]


def test_labelling_a_file_takes_the_good_lines_and_names_the_bad_ones(warehouse: Path, tmp_path: Path) -> None:
    source = tmp_path / "judged.jsonl"
    source.write_text(
        json.dumps({"title": "North Korea sends troops to Russia", "summary": "<p>Kursk</p>", "label": "on"})
        + "\n"
        + '{"title": "Russia and North Korea", "label": "maybe"}\n'
        + "{broken\n"
        + json.dumps({"title": "Moscow and Pyongyang open flights", "url": "https://a.example/f", "label": "off"})
        + "\n",
        encoding="utf-8",
    )
    result = newsmon("label", "--config", str(warehouse), str(source))
    assert result.returncode == 1
    assert "line 2:" in result.stderr and "line 3:" in result.stderr
    assert "line 1:" not in result.stderr and "line 4:" not in result.stderr
    rows = query(tmp_path, "SELECT what, label, source FROM judgments ORDER BY label")
    assert [(label, source) for _, label, source in rows] == [("off", "file:judged.jsonl"), ("on", "file:judged.jsonl")]
    assert rows[0][0] == "https://a.example/f" and rows[1][0].startswith("text:")


def _judge_glacier_tours_off(tmp_path: Path, count: int) -> Path:
    """`count` texts about glacier tours between the two countries, judged off the topic."""
    lines = [
        {
            "title": f"Glacier tour {n}: Russia and North Korea agree on glacier trips",
            "summary": f"Russian and North Korean agencies signed a glacier tour deal, number {n}.",
            "url": f"https://tours{n % 4}.example/glacier/{n}",
            "label": "off",
        }
        for n in range(count)
    ]
    path = tmp_path / "glaciers.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_judgments_move_a_score_and_survive_a_rescore(warehouse: Path, tmp_path: Path) -> None:
    sql = "SELECT relevance, scored_with FROM articles WHERE url = ?"
    url = _url(tmp_path, "glacier")
    before, version_before = query(tmp_path, sql, [url])[0]
    result = newsmon("label", "--config", str(warehouse), str(_judge_glacier_tours_off(tmp_path, 12)))
    assert result.returncode == 0, result.stderr
    assert "12 judgment(s) recorded" in result.stdout
    assert "cross-validated on the 12 judgments (folds by site): before" in result.stdout
    rescored = newsmon("rescore", "--config", str(warehouse))
    assert rescored.returncode == 0, rescored.stderr
    after, version_after = query(tmp_path, sql, [url])[0]
    assert after < before - 0.01  # the glacier n-grams now weigh against the topic
    assert version_after != version_before  # the model is part of the version a score carries
    assert query(tmp_path, "SELECT count(*) FROM judgments") == [(12,)]
    newsmon("rescore", "--config", str(warehouse))
    assert query(tmp_path, "SELECT count(*) FROM judgments") == [(12,)]
    treaty = query(tmp_path, "SELECT is_relevant FROM articles WHERE url = ?", [_url(tmp_path, "treaty")])
    assert treaty == [(True,)]  # what the judgments did not speak of stays as it was


def test_a_later_judgment_of_the_same_article_wins(tmp_path: Path) -> None:
    """A changed mind adds a row (the history stays) and is the judgment in force; a repeat adds nothing."""
    from datetime import UTC, datetime, timedelta

    from warehouse.db import connect
    from warehouse.judgments import Judgment, add_judgments, latest_judgments

    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    labels = ["off", "on", "on", "off", "on"]
    con = connect(tmp_path / "wh")
    try:
        for minute, label in enumerate(labels):
            when = start + timedelta(minutes=minute)
            add_judgments(con, [Judgment("https://a.example/x", label, "ana", when, "T", "text", "url")])
        rows = con.execute("SELECT label FROM judgments ORDER BY judged_at").fetchall()
        assert [row[0] for row in rows] == ["off", "on", "off", "on"]  # the repeated "on" added nothing
        assert [(j.what, j.label) for j in latest_judgments(con)] == [("https://a.example/x", "on")]
    finally:
        con.close()


# A new sample of a kind the shipped parameters misjudge: agreements between the sides that are not military
# (the hidden set's false positives), beside deliveries of arms and troops. The agreements are on matters the
# topic's `civil` terms do not name (those it names count against the topic without any judgment).
_CIVIL = ["a film festival", "a zoo animal exchange", "a circus season", "an art exhibition", "a chess tournament",
          "a ballet season", "a fishing quota", "a weather station", "a language school", "a museum loan",
          "a book fair", "a music concert"]  # fmt: skip
_ARMS = ["artillery shells", "ballistic missiles", "rocket launchers", "troops", "engineers", "howitzers", "drones",
         "soldiers", "munitions", "anti-tank weapons", "rifles", "tanks"]  # fmt: skip
NEW_SAMPLE = [
    {
        "title": f"Russia and North Korea agree on {kind}",
        "summary": f"Moscow and Pyongyang signed a deal on {kind}, officials said. The agreement covers {kind} only.",
        "label": "off",
    }
    for kind in _CIVIL
] + [
    {
        "title": f"North Korea sends {kind} to Russia's army",
        "summary": f"Pyongyang delivered {kind} to Moscow for the war in Ukraine, intelligence officials said.",
        "label": "on",
    }
    for kind in _ARMS
]


def _f1_by_score_command(config: Path, path: Path) -> float:
    result = newsmon("score", "--config", str(config), str(path))
    assert result.returncode == 0, result.stderr
    pairs = [(line["is_relevant"], line["label"] == "on") for line in map(json.loads, result.stdout.splitlines())]
    tp = sum(p and a for p, a in pairs)
    wrong = sum(p != a for p, a in pairs)
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def test_judgments_for_half_of_a_new_sample_raise_f1_on_the_other_half(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    judged, held = tmp_path / "judged.jsonl", tmp_path / "held.jsonl"
    for path, part in ((judged, NEW_SAMPLE[0::2]), (held, NEW_SAMPLE[1::2])):
        path.write_text("".join(json.dumps(item) + "\n" for item in part), encoding="utf-8")
    before = _f1_by_score_command(config, held)
    result = newsmon("label", "--config", str(config), str(judged))
    assert result.returncode == 0, result.stderr
    after = _f1_by_score_command(config, held)
    assert after >= before + 0.03 and after >= 0.9, (before, after)
