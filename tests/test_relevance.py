"""Relevance: the quality gate on the shared labelled data, hard negatives, explanations, and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from bench import learning
from bench.relevance import evaluate, keyword_baseline, load_items, probe_figures
from extractors.learning import DENSE, fit, from_json
from extractors.relevance import Reading, TopicProfile, _term_pattern, hand_prior, profile_for, read, score
from extractors.topic import TopicError, parse_topic
from flows.judging import SHIPPED_MODEL, shipped_model
from flows.settings import load_topic, seed_texts

BASELINE = Path(__file__).parent / "baselines" / "relevance.json"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def profile() -> TopicProfile:
    """The profile newsmon scores with: the topic and the shipped learned parameters."""
    return profile_for(load_topic(), model=shipped_model())


@pytest.fixture(scope="module")
def hand() -> TopicProfile:
    """The transparent score's hand weights alone: where a topic without learned parameters starts."""
    return profile_for(load_topic())


def test_quality_does_not_fall_below_the_pinned_baseline(hand: TopicProfile) -> None:
    """Cross-validated figures (folds by feed site and article outlet, as bench/relevance.py prints them): a
    change may raise them (then update the baseline with `python -m bench.relevance --json FILE`), never
    silently lower them."""
    items = load_items()
    prepared = learning.prepare(hand, items)
    prior = hand_prior(hand.threshold)
    scores = learning.cross_validated(hand, prepared, learning.folds(items), lambda samples: fit(samples, prior))
    index = {id(item): i for i, item in enumerate(items)}
    figures = evaluate(items, lambda item: scores[index[id(item)]] >= hand.threshold)
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))
    _assert_at_least(figures, {name: value for name, value in pinned.items() if not name.startswith("probe")})


def test_the_written_probe_articles_keep_their_figures(profile: TopicProfile) -> None:
    """The shipped model on bench/labels/probe_articles.jsonl (articles written for the benchmark, measured
    only): a change to the terms or the evidence may raise these figures, never silently lower them."""
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))
    probes = {name: value for name, value in pinned.items() if name.startswith("probe")}
    assert probes
    _assert_at_least(probe_figures(lambda title, text: score(profile, title, text).is_relevant), probes)


def _assert_at_least(figures: dict[str, tuple[float, float, float, int]], pinned: dict[str, list[float]]) -> None:
    for name, (precision, recall, f1) in pinned.items():
        got = figures[name]
        assert got[0] >= precision - 1e-9, f"{name} precision {got[0]:.3f} < {precision:.3f}"
        assert got[1] >= recall - 1e-9, f"{name} recall {got[1]:.3f} < {recall:.3f}"
        assert got[2] >= f1 - 1e-9, f"{name} F1 {got[2]:.3f} < {f1:.3f}"


def test_full_text_beats_the_keyword_query(profile: TopicProfile) -> None:
    items = [item for item in load_items() if item.set == "articles"]
    ours = evaluate(items, lambda item: score(profile, item.title, item.text).is_relevant)["articles"]
    theirs = evaluate(items, lambda item: keyword_baseline(item.title, item.text))["articles"]
    assert ours[0] > theirs[0] and ours[2] > theirs[2]


@pytest.mark.parametrize(
    "title",
    [
        "North Korea fires ballistic missile into the sea, South Korea says",
        "Putin and Xi pledge deeper military ties in Beijing",
        "Ukraine says Russia launched 90 drones overnight on Kyiv",
        "Putin gifts Kim Jong Un a limousine",
        "Russia opens direct flight route between Moscow and Pyongyang",
        "Kim Kardashian wears Russian designer at North Korea-themed party",
    ],
)
def test_hard_negatives_stay_out(profile: TopicProfile, title: str) -> None:
    assert not score(profile, title, "").is_relevant


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("North Korean troops fight alongside Russian forces in Kursk", ""),
        ("Putin and Kim sign mutual defence treaty in Pyongyang", "The pact obliges each side to give military aid."),
        ("북한, 러시아에 포탄 수백만 발 공급", "북한이 러시아에 포탄과 미사일을 공급했다고 국정원이 밝혔다."),
        (
            "Nordkorea schickt Soldaten nach Russland",
            "Nordkoreanische Truppen kämpfen in Kursk.",
        ),
        ("Triều Tiên gửi binh sĩ tới Nga", "Binh sĩ Triều Tiên được triển khai để hỗ trợ quân đội Nga tại Kursk."),
    ],
)
def test_the_topic_is_recognised_in_each_language(profile: TopicProfile, title: str, text: str) -> None:
    assert score(profile, title, text).is_relevant


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # The hidden sample's kinds of false positive (issue 10): contacts that are not military, forums.
        ("North Korea and Russia sign deal to expand trade and tourism", "Officials agreed to raise trade."),
        ("Russia sends flour and wheat to North Korea as humanitarian aid", "The embassy said 25,000 tonnes came."),
        (
            "US sanctions entities in Russia, Iran and North Korea over cyber attacks",
            "The Treasury imposed sanctions on hackers linked to Russia, Iran and North Korea.",
        ),
        (
            "UN Security Council deadlocked as Russia and China block new North Korea statement",
            "Russia and China opposed a statement condemning North Korea's latest ICBM launch.",
        ),
    ],
)
def test_civil_contacts_and_forums_count_against_the_topic(profile: TopicProfile, title: str, text: str) -> None:
    result = score(profile, title, text)
    assert not result.is_relevant
    assert "a civil matter, no military term" in result.why or "a forum, the sides unlinked" in result.why


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # A civil word beside a military one, and a forum where the sides are linked: the topic still.
        ("Russia to offer food for North Korean weapons", "Moscow would send food in exchange for munitions."),
        ("UN panel says North Korea shipped missiles to Russia", "The report names rail deliveries of arms."),
    ],
)
def test_a_civil_word_or_a_forum_does_not_outweigh_military_ties(profile: TopicProfile, title: str, text: str) -> None:
    reading = read(profile, title, text)
    assert isinstance(reading, Reading)
    assert reading.evidence.dense[DENSE.index("a civil matter, no military term")] == 0
    assert reading.evidence.dense[DENSE.index("a forum, the sides unlinked in the headline")] == 0
    assert score(profile, title, text).is_relevant


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # Summits, visits and troops in the words civil contacts use too (found by a review of version 4): travel,
        # flights, health, the economy, the Workers' Party, "thiệt mạng" (killed), Flugkörper (missiles).
        ("Kim Jong Un travels to Russia for talks with Putin", "The North Korean leader left Pyongyang by train."),
        ("Putin flies to Pyongyang for first visit in 24 years", "Kim Jong Un greeted Putin after his flight."),
        ("Kim Jong Un's health in question ahead of Putin summit", "Kim met Putin last year."),
        ("Putin and Kim pledge to expand economic and cultural ties", "The two leaders met in Pyongyang."),
        ("Shoigu meets Kim Jong Un in Pyongyang", "He was greeted by Kim, the Workers' Party of Korea leader."),
        (
            "Hàng nghìn quân Triều Tiên thiệt mạng khi chiến đấu cho Nga",
            "Theo tình báo Hàn Quốc, số quân Triều Tiên thiệt mạng đã tăng.",
        ),
        ("Russland liefert Nordkorea Technik für Flugkörper", ""),
        # Leaders' meetings worded with verbs the relation terms lacked before version 4 (the hidden misses' kind).
        ("Kim Jong Un reist nach Russland zu Putin", ""),
        ("러시아 항공우주군 사령관 방북…김정은 접견", ""),
        ("Nga và Triều Tiên ký hiệp định đối tác chiến lược toàn diện", "Ông Putin và ông Kim Jong-un ký văn kiện."),
    ],
)
def test_summits_and_troops_stay_on_the_topic_whatever_else_they_name(
    profile: TopicProfile, title: str, text: str
) -> None:
    assert score(profile, title, text).is_relevant


@pytest.mark.parametrize(
    ("title", "linked"),
    [
        ("Russia and North Korea sign a pact", True),
        ("Russia and North Korea, Seoul says, sign a pact", True),
        ("Countries like China, Russia and North Korea should no longer be called hostile", False),
        ("Russia, North Korea and Iran are challenging the order, Blinken says", False),
        ("The US, Russia and North Korea at odds", False),
        ("At UN debate, envoys trade accusations over Russia, North Korea, Iran and China", False),
        ("Russland, Nordkorea, Iran und China im Visier", False),
        ("Russland und Nordkorea, Waffen und Soldaten: Was wir wissen", True),
        ("Russia And North Korea, Kim Says, Are Now 'Inseparable'", True),
        ("Russland, Nordkorea und Iran rücken zusammen", False),
    ],
)
def test_a_list_of_three_states_does_not_pair_the_sides(profile: TopicProfile, title: str, linked: bool) -> None:
    reading = read(profile, title, "")
    assert isinstance(reading, Reading)
    assert reading.lead_linked is linked


@pytest.mark.parametrize(
    "title",
    [
        "Nga tập trận gần bán đảo Triều Tiên",  # "bán" (sell) begins "bán đảo", the peninsula
        "Thư ký Nga nói về Triều Tiên",  # "ký" (sign) ends "thư ký", a secretary
        "It is important for Russia to watch North Korea",  # "import" begins "important"
        # prefixes that began other words: "host*" hostile, "depart*" department, "tour*" tourists,
        # "inspect*" inspectors, "trip*" tripartite, "aid*" aides, "back*" background
        "Russia condemns hostile remarks as North Korea fires a missile",
        "State Department says Russia and the State Department of North Korea",
        "Russian tourists land in North Korea",
        "Russia rejects IAEA inspectors as North Korea stays silent",
        "Russia's aides warn of a tripartite plan, North Korea silent",
        "Russia: background to North Korea's elections",
    ],
)
def test_words_that_only_look_like_relation_verbs_do_not_link_the_sides(profile: TopicProfile, title: str) -> None:
    reading = read(profile, title, "")
    assert isinstance(reading, Reading)
    assert not reading.lead_linked


def test_kursk_is_a_place_in_russia_in_korean_as_in_english(profile: TopicProfile) -> None:
    for title in ("쿠르스크 전선에서 북한군 병사 생포", "North Korean soldier captured in Kursk"):
        reading = read(profile, title, "")
        assert isinstance(reading, Reading) and reading.meeting == 1 and reading.military == 1


@pytest.mark.parametrize(
    "title",
    [
        "Russia and North Korea launch a direct passenger train",
        "Moskau und Pjöngjang: Direkte Zugverbindung wieder aufgenommen",
    ],
)
def test_a_civil_headline_is_civil_whatever_the_background_says(profile: TopicProfile, title: str) -> None:
    """A civil matter in the lead, with no military term there, counts against the topic even when a later
    sentence naming one side recalls the war (articles give such background; feed items seldom do)."""
    text = (
        "The service will run twice a month. Russia has been cut off from Western routes since the start of "
        "the war in Ukraine, and officials said more links would follow."
    )
    reading = read(profile, title, text)
    assert isinstance(reading, Reading) and {"war", "ukraine"} & set(reading.terms)  # the background's terms
    assert reading.evidence.dense[DENSE.index("a civil matter, no military term")] == 1.0
    assert not score(profile, title, text).is_relevant


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Putin lands in Pyongyang to cheering crowds of students",
            "Putin and Kim signed a treaty with a mutual defence article. The pact commits Russia and North Korea "
            "to military assistance.",
        ),
        (
            "Lavrov visits North Korea's new tourist resort, thanks Kim for support",
            "Lavrov thanked Kim for sending troops to Kursk. North Korean soldiers fought beside Russian forces.",
        ),
    ],
)
def test_a_civil_word_in_the_lead_leaves_a_military_meeting_on_the_topic(
    profile: TopicProfile, title: str, text: str
) -> None:
    assert score(profile, title, text).is_relevant


@pytest.mark.parametrize(
    ("title", "on"),
    [
        # Found by a review of the version-4 terms: an outlet's name in a news-search headline, a relation word
        # inside another word (변수입니다, 유럽연합의, Reispreise, đón Tết, điều gì), "to"/"an" between the sides.
        ("Russland und Nordkorea vertiefen Zusammenarbeit - Handelsblatt", True),
        ("Kremlin confirms Kim Jong Un will visit Russia - Cybernews", True),
        ("North Korea fires missile into sea - The Moscow Times", False),
        ("Nordkorea liefert Russland Millionen Granaten - Handelsblatt", True),
        ("G7 condemns arms transfers from North Korea to Russia", True),
        ("G7-Außenminister verurteilen Waffenlieferungen Nordkoreas an Russland", True),
        ("러시아 대선 뒤 북한 외교 최대 변수입니다", False),
        ("러시아 반정부 인사 사망에 유럽연합의 규탄…북한은 침묵", False),
        ("Russland: Reispreise steigen – auch Nordkorea betroffen", False),
        ("Người dân Nga đón Tết, Triều Tiên tổ chức diễu hành", False),
        ("Nga bầu cử tổng thống: điều gì chờ đợi Triều Tiên?", False),
        ("Russia sends 50,000 tonnes of rice to North Korea", False),
        # German helping and supplying; the genitive of a capital ("Moskaus", "Pjöngjangs")
        ("Nordkorea hat Russland aus der Munitionskrise geholfen", True),
        ("Pjöngjang entsendet Soldaten zur Unterstützung Moskaus", True),
    ],
)
def test_outlets_and_look_alike_words_decide_nothing(profile: TopicProfile, title: str, on: bool) -> None:
    assert score(profile, title, "").is_relevant is on


@pytest.mark.parametrize("joined", [" ", "-", "\u2011", "\u2010", "\u2013", "\xa0", "\t"])
def test_kim_jong_un_is_no_forum(profile: TopicProfile, joined: str) -> None:
    reading = read(profile, f"Kim Jong{joined}Un and Putin hold talks", "Kim met Putin at the cosmodrome.")
    assert isinstance(reading, Reading)
    assert reading.evidence.dense[DENSE.index("a forum, the sides unlinked in the headline")] == 0
    at_the_un = read(profile, "Russia and China shield North Korea at the UN", "")
    assert isinstance(at_the_un, Reading)
    assert at_the_un.evidence.dense[DENSE.index("a forum, the sides unlinked in the headline")] == 1


def test_parameters_from_before_the_evidence_against_still_load() -> None:
    data = json.loads(SHIPPED_MODEL.read_text(encoding="utf-8"))
    for name in DENSE[10:]:
        del data["dense"][name]
        del data["precision"][name]
    model = from_json(json.dumps(data))
    assert model.dense[10:] == (0.0,) * len(DENSE[10:])
    assert model.dense[:10] == shipped_model().dense[:10]  # type: ignore[union-attr]
    without_precision = json.loads(json.dumps(data))
    del without_precision["precision"][DENSE[3]]
    with pytest.raises(ValueError, match="precision"):
        from_json(json.dumps(without_precision))
    del data["dense"][DENSE[0]]
    with pytest.raises(ValueError, match="other evidence"):
        from_json(json.dumps(data))


def test_every_score_says_why(profile: TopicProfile) -> None:
    result = score(profile, "North Korea ships artillery shells to Russia", "Pyongyang sent the munitions by rail.")
    assert 0 <= result.score <= 1
    assert {"north korea", "russia", "artillery"} <= set(result.matched)
    assert result.nearest_seed in {seed.seed_id for seed in load_topic().seeds}
    assert "Russia and North Korea together" in result.why


def test_score_command_adds_scores_and_names_bad_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"title": "North Korea sends troops to Russia", "summary": "<p>Soldiers deployed to Kursk</p>", "url": "u1"}\n'
        "{broken\n"
        '{"title": "Taylor Swift tour dates", "description": "Concerts in Europe"}\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "score", str(source)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line.get("url"), line["is_relevant"]) for line in lines] == [("u1", True), (None, False)]
    assert all(0 <= line["relevance"] <= 1 for line in lines)
    assert "line 2:" in result.stderr
    assert result.returncode == 1


def test_a_headline_that_links_the_sides_counts_more_than_one_that_names_both(profile: TopicProfile) -> None:
    linked = score(profile, "North Korea sends artillery shells to Russia", "")
    named = score(profile, "China and Russia block a UN response to North Korea's missile launches", "")
    assert "linked in the headline" in linked.why
    assert "both in the headline" in named.why
    assert linked.score > named.score


@pytest.mark.parametrize(
    ("title", "text", "counts"),
    [
        ("Kim and Putin may meet at a spaceport", "Kim Jong Un is expected to travel by train.", True),
        ("Kim and Putin may meet at a spaceport", "North Korea's leader is expected to travel by train.", True),
        ("Minister Kim meets Putin in Moscow", "South Korea's minister discussed trade.", False),
    ],
)
def test_a_short_name_counts_only_beside_a_full_one(profile: TopicProfile, title: str, text: str, counts: bool) -> None:
    """`aliases` ("Kim") count for their side only in a text that names the side otherwise too."""
    result = score(profile, title, text)
    assert ("does not name North Korea" not in result.why) is counts


def test_a_topic_group_with_an_unknown_key_is_refused() -> None:
    toml_text = (ROOT / "seeds" / "topic.toml").read_text(
        encoding="utf-8"
    ) + '\n[[relevance.groups]]\nname = "X"\nterms = ["x"]\nalias = ["y"]\n'
    with pytest.raises(TopicError, match=r"\[\[relevance.groups\]\] X: unknown keys \['alias'\]"):
        parse_topic(toml_text, seed_texts())


def test_the_readme_example_for_a_new_topic_is_the_one_the_benchmark_measures() -> None:
    from bench.relevance import MINIMAL_RELEVANCE

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[relevance\]\n.*?)```", readme, re.S)
    assert block is not None
    assert tomllib.loads(block.group(1)) == tomllib.loads(MINIMAL_RELEVANCE)


def test_a_profile_version_names_its_definition() -> None:
    """Stored scores carry it (articles.scored_with), so a run can tell when they were made under another one."""
    topic = load_topic()
    version = profile_for(topic).version
    assert version == profile_for(load_topic()).version  # the same definition, the same version, every time
    assert profile_for(topic, threshold=0.6).version != version
    groups = (replace(topic.relevance.groups[0], aliases=("vlad",)), *topic.relevance.groups[1:])
    changed = replace(topic, relevance=replace(topic.relevance, groups=groups))
    assert profile_for(changed).version != version
    assert score(profile_for(topic), "North Korea sends shells to Russia", "").scored_with == version


def test_the_shipped_parameters_are_what_the_rebuild_command_learns(hand: TopicProfile) -> None:
    """seeds/relevance_model.json is rebuilt by `python -m bench.relevance --fit-shipped`; a rebuild on another
    machine may differ in the last digits, never in a decision."""
    items = load_items()
    refit = learning.fit_shipped(hand, learning.prepare(hand, items))
    shipped = from_json(SHIPPED_MODEL.read_text(encoding="utf-8"))
    assert max(abs(a - b) for a, b in zip(refit.dense, shipped.dense, strict=True)) < 0.01
    ours, theirs = profile_for(load_topic(), model=refit), profile_for(load_topic(), model=shipped)
    for item in items:
        assert score(ours, item.title, item.text).is_relevant == score(theirs, item.title, item.text).is_relevant
    assert all(len(gram.split()) <= 2 for gram in shipped.grams)  # weights of words and word pairs, no texts


def test_the_learned_score_says_which_evidence_weighed_most(profile: TopicProfile) -> None:
    result = score(profile, "North Korea ships artillery shells to Russia", "Pyongyang sent the munitions by rail.")
    assert "learned: " in result.why
    assert "Russia and North Korea together" in result.why
    assert result.scored_with == profile.version != profile_for(load_topic()).version


def test_a_topic_without_shipped_parameters_starts_from_its_hand_weights(tmp_path: Path) -> None:
    assert shipped_model(tmp_path / "none.json") is None
    hand = profile_for(load_topic())
    starting = profile_for(load_topic(), model=hand_prior(hand.threshold))
    for title in ("North Korea sends troops to Russia", "Putin gifts Kim Jong Un a limousine"):
        assert score(starting, title, "").is_relevant == score(hand, title, "").is_relevant


def test_terms_match_alike_in_lowered_text_and_with_case_folding() -> None:
    """The pattern for lower-cased text (a literal first letter, the word-start test after it) finds exactly
    what the case-folding one finds: at the text's start, after a letter (no match), across hyphens."""
    terms = _term_pattern(["north korea", "kim jong*", "troops", "pyongyang", "re:\\bdprk\\b", "북한"])
    text = (
        "North Korea sends TROOPS; xnorth korea, atroops; Kim Jong-un and KIM JONGUN met in Pyongyang. "
        "north-korea\nDPRK 북한군 북한"
    )
    for unspaced in (False, True):
        folded = [m.span() for m in terms.finditer(text, unspaced=unspaced)]
        lowered = [m.span() for m in terms.finditer(text.lower(), unspaced=unspaced, lowered=True)]
        assert folded == lowered
        assert len(folded) == (9 if unspaced else 7)  # xnorth and atroops are not word starts
    ranges = [(0, 30), (60, 95)]
    assert [m.span() for m in terms.finditer(text, unspaced=False, ranges=ranges)] == [
        m.span() for m in terms.finditer(text.lower(), unspaced=False, ranges=ranges, lowered=True)
    ]


def test_a_text_whose_lowering_changes_its_length_is_read_with_case_folding() -> None:
    """ "İ" lowers to two characters: the offsets of the lowered text would be wrong, so it is not used."""
    profile = profile_for(load_topic())
    plain = score(profile, "North Korea sends troops to Russia", "Putin and Kim signed the defence treaty.")
    turkish = score(profile, "İstanbul: North Korea sends troops to Russia", "Putin and Kim signed the defence treaty.")
    assert turkish.matched == plain.matched and turkish.is_relevant == plain.is_relevant
