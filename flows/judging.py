"""The analyst's judgments and the model they teach: `newsmon label`, and the profile every scorer uses.

The model in force is fitted, whenever a profile is built, from the parameters shipped in
seeds/relevance_model.json (learned from the shared labelled sample; `python -m bench.relevance --fit-shipped`
rebuilds them) and the judgments in the warehouse: the same judgments give the same model, so nothing but the
judgments needs storing, and a rescore, which rewrites scores, leaves them alone. A topic without a shipped
file starts from the hand weights of its terms and seeds.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from extractors.learning import Model, Sample, fit, from_json
from extractors.relevance import Reading, TopicProfile, as_judged, hand_prior, profile_for, read, score
from extractors.urls import InvalidURL, canonicalize
from flows.settings import SEEDS_DIR, Settings, load_settings
from warehouse import judgments as store
from warehouse.judgments import Judgment

SHIPPED_MODEL = SEEDS_DIR / "relevance_model.json"
FOLDS = 5  # cross-validation of the judgments, folds grouped by site


def shipped_model(path: Path = SHIPPED_MODEL) -> Model | None:
    """The shipped parameters, or None for a topic that has none (it then starts from its hand weights)."""
    try:
        return from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def profile(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> TopicProfile:
    """The profile that scores: the topic, the threshold, and the model of the shipped parameters and the
    judgments stored in the warehouse `con` (none: the shipped parameters alone)."""
    base = profile_for(settings.topic, settings.relevance.threshold)
    judged = store.latest_judgments(con) if con is not None else []
    return with_model(settings, learn(base, judged))


def profile_without_writing(settings: Settings) -> TopicProfile:
    """The profile for `newsmon score`, which writes nothing: the judgments are read if the warehouse can be
    opened for reading (not while a run writes to it: then the shipped parameters alone, and a note)."""
    from warehouse.db import connect

    try:
        con = connect(settings.warehouse, read_only=True)
    except Exception as exc:  # noqa: BLE001 - any reason the warehouse cannot be read: score without judgments
        print(f"newsmon: scoring without the judgments ({exc})", file=sys.stderr)
        return profile(settings)
    try:
        return profile(settings, con)
    except duckdb.Error as exc:  # a warehouse from before judgments existed
        print(f"newsmon: scoring without the judgments ({exc})", file=sys.stderr)
        return profile(settings)
    finally:
        con.close()


def with_model(settings: Settings, model: Model | None) -> TopicProfile:
    return profile_for(settings.topic, settings.relevance.threshold, model)


def learn(base: TopicProfile, judged: Sequence[Judgment], prior: Model | None = None) -> Model | None:
    """The model of `prior` (default: the shipped one) and `judged`. None only for a topic with neither: the hand
    weights then decide, as before anything was learned."""
    start = prior if prior is not None else shipped_model()
    if not judged:
        return start
    samples = _samples(base, judged)
    return fit(samples, start if start is not None else hand_prior(base.threshold), judgments=len(judged))


def _samples(base: TopicProfile, judged: Sequence[Judgment]) -> list[Sample]:
    """What a model learns from: texts that name every side (the others are off whatever it learns)."""
    samples = []
    for judgment in judged:
        reading = read(base, judgment.title, judgment.text)
        if isinstance(reading, Reading):
            samples.append(Sample(reading.evidence, judgment.label == "on"))
    return samples


# --- newsmon label ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    precision: float
    recall: float
    f1: float
    n: int

    def render(self) -> str:
        return f"P {self.precision:.3f} R {self.recall:.3f} F1 {self.f1:.3f}"


def cross_validated(
    base: TopicProfile, judged: Sequence[Judgment], learned_from: set[str] | None = None
) -> Figures | None:
    """P/R/F1 of the model over `judged`, each judgment predicted by a model fitted on the other folds (folds
    by site). `learned_from`: learn only from these judgments (by `what`), to measure the model before a batch.
    None when there are too few judgments or sites to fold."""
    sites = sorted({_site(j.what) for j in judged})
    if len(judged) < 4 or len(sites) < 2:
        return None
    k = min(FOLDS, len(sites))
    fold_of = {site: i % k for i, site in enumerate(sites)}
    tp = fp = fn = 0
    for fold in range(k):
        train = [
            j for j in judged if fold_of[_site(j.what)] != fold and (learned_from is None or j.what in learned_from)
        ]
        model = learn(base, train)
        scorer = replace(base, model=model)
        for j in judged:
            if fold_of[_site(j.what)] == fold:
                predicted, actual = score(scorer, j.title, j.text).is_relevant, j.label == "on"
                tp += predicted and actual
                fp += predicted and not actual
                fn += actual and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Figures(precision, recall, f1, len(judged))


def _site(what: str) -> str:
    return what.split("//", 1)[-1].split("/", 1)[0] if "//" in what else what


class LabelError(ValueError):
    """A judgment that cannot be taken."""


def _label(value: object) -> str:
    if value not in ("on", "off"):
        raise LabelError(f'label must be "on" or "off", not {value!r}')
    return str(value)


def _what(url: object, title: str | None, text: str) -> str:
    if isinstance(url, str) and url.strip():
        try:
            return canonicalize(url.strip())
        except InvalidURL:
            pass
    return "text:" + hashlib.sha256(f"{title or ''}\n{text}".encode()).hexdigest()


def judgments_from_file(
    lines: Sequence[str], who: str | None, now: datetime, source: str
) -> tuple[list[Judgment], list[str]]:
    """The judgments of JSON lines (the fields `newsmon score` reads, plus "label"), and one message per bad line."""
    from extractors.feeds import plain_text

    taken, bad = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise LabelError("not a JSON object")
            fields = {k: item.get(k) for k in ("title", "summary", "description", "text")}
            if not all(v is None or isinstance(v, str) for v in fields.values()):
                raise LabelError("title, summary, description and text must be strings")
            label = _label(item.get("label"))
            title = plain_text(fields["title"]) or None
            text = fields["text"] or plain_text(fields["summary"] or fields["description"]) or ""
            if not (title or text):
                raise LabelError("no title and no text to judge")
        except ValueError as exc:
            bad.append(f"line {number}: {exc}")
            continue
        when = now + timedelta(microseconds=number)  # a later line about the same text wins
        taken.append(Judgment(_what(item.get("url"), title, text), label, who, when, title, text, source))
    return taken, bad


def cmd_label(args: argparse.Namespace) -> int:
    """`newsmon label URL on|off` or `newsmon label FILE.jsonl`: record judgments and say what they changed."""
    from warehouse.db import connect

    settings = load_settings(args.config)
    who = args.who or getpass.getuser()
    now = datetime.now(UTC)
    if args.label is None and "://" in args.target:
        print(
            f"newsmon label: say whether {args.target} is on or off the topic: `newsmon label URL on|off`",
            file=sys.stderr,
        )
        return 2  # a bad argument (README: exit status 2)
    bad: list[str] = []
    # Judging a file may come before the first run (the scorer learns from it at once); a URL needs an article.
    con = connect(settings.warehouse, create=args.label is None)
    try:
        if args.label is not None:
            try:
                url = canonicalize(args.target)
                label = _label(args.label)
            except (InvalidURL, LabelError) as exc:
                print(f"newsmon label: {exc}", file=sys.stderr)
                return 2  # a bad argument (README: exit status 2)
            article = store.article_for_judgment(con, url)
            if article is None:
                print(f"newsmon label: no stored article at {url}", file=sys.stderr)
                return 1
            new = [Judgment(url, label, who, now, article[0], article[1], "url")]
        else:
            lines = Path(args.target).read_text(encoding="utf-8").splitlines()
            new, bad = judgments_from_file(lines, who, now, f"file:{Path(args.target).name}")
        for message in bad:
            print(f"newsmon label: {message}", file=sys.stderr)
        print(_report(settings, con, new))
    finally:
        con.close()
    return 1 if bad else 0


def _report(settings: Settings, con: duckdb.DuckDBPyConnection, new: Sequence[Judgment]) -> str:
    """Record `new` and tell what changed: judgments, cross-validated figures, articles that change side."""
    base = profile_for(settings.topic, settings.relevance.threshold)
    before = store.latest_judgments(con)
    before_profile = with_model(settings, learn(base, before))
    added = store.add_judgments(con, new)
    after = store.latest_judgments(con)
    after_profile = with_model(settings, learn(base, after))
    lines = [f"{added} judgment(s) recorded ({len(new) - added} already in force); {len(after)} in force now"]
    unlearnable = sum(1 for j in new if not isinstance(read(base, j.title, j.text), Reading))
    if unlearnable:
        lines.append(f"{unlearnable} of them do not name every side: such texts stay off whatever is learned")
    old = cross_validated(base, after, learned_from={j.what for j in before})
    now = cross_validated(base, after)
    if old is not None and now is not None:
        lines.append(
            f"cross-validated on the {now.n} judgments (folds by site): before {old.render()}, after {now.render()}"
        )
    else:
        lines.append("too few judgments or sites to cross-validate yet (4 judgments from 2 sites at least)")
    # What a rescore would change, against what is stored now (not against the model before: the stored
    # scores may come from an older one); a judged article takes its judgment's side.
    judged = {j.what: j.label for j in after}
    moved = on = 0
    for url, title, text, stored in store.articles_texts(con):
        will = as_judged(score(after_profile, title, text), judged.get(url)).is_relevant
        was = bool(stored)
        moved += was != will
        on += will and not was
    lines.append(
        f"a rescore would move {moved} stored article(s): {on} onto the topic, {moved - on} off it "
        f"(model {before_profile.version} → {after_profile.version}; `newsmon rescore` applies it)"
    )
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """`newsmon label`, for flows/cli.py's build_parser."""
    label = sub.add_parser(
        "label",
        parents=[common],
        help='judge stored articles (URL on|off) or texts (a JSONL file with "label") as on or off the topic',
    )
    label.add_argument(
        "target", help="a stored article's URL, or a JSONL file: the fields `newsmon score` reads + label"
    )
    label.add_argument("label", nargs="?", choices=("on", "off"), help="with a URL: the judgment")
    label.add_argument("--who", help="the analyst's name (default: the user name)")
    label.set_defaults(func=cmd_label)
