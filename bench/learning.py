"""Cross-validation of the learned relevance model on ../shared/data/topic, folds grouped by feed and outlet.

An item is never scored by a model that saw its feed's site or its article's outlet: the folds hold whole
groups (bench.relevance.Item.group), as the hidden test set holds items the method never saw. Also: the
learning curve (F1 on held-out folds against the number of judgments learned from, starting from the hand
weights), the "half of a new sample" test (the model of the other folds, then judgments for half of the
held-out groups, measured on the other half), and the fit of the shipped parameters (seeds/).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.relevance import Item
from extractors.learning import Model, Sample, fit, to_json
from extractors.relevance import Reading, TopicProfile, decide, hand_prior, read

FOLDS = 5
SHIPPED = Path(__file__).resolve().parents[1] / "seeds" / "relevance_model.json"
SHIPPED_BASIS = "the shared labelled sample (535 feed items of 2023, 56 articles)"


@dataclass(frozen=True)
class Prepared:
    """Items read once by the profile (the reading does not depend on the model)."""

    items: list[Item]
    readings: list[Reading | None]  # None: a side is missing or an exclusion matched: off whatever is learned

    def samples(self, indices: Sequence[int]) -> list[Sample]:
        return [
            Sample(reading.evidence, self.items[i].label == "on")
            for i in indices
            if (reading := self.readings[i]) is not None
        ]


def prepare(profile: TopicProfile, items: list[Item]) -> Prepared:
    readings = []
    for item in items:
        reading = read(profile, item.title, item.text)
        readings.append(reading if isinstance(reading, Reading) else None)
    return Prepared(items, readings)


def folds(items: Sequence[Item], k: int = FOLDS) -> list[int]:
    """A fold number for each item: whole groups, the largest first into the smallest fold (deterministic)."""
    sizes: dict[str, int] = defaultdict(int)
    for item in items:
        sizes[item.group] += 1
    load = [0] * k
    fold_of: dict[str, int] = {}
    for group, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        target = min(range(k), key=lambda f: (load[f], f))
        fold_of[group] = target
        load[target] += size
    return [fold_of[item.group] for item in items]


def probabilities(profile: TopicProfile, prepared: Prepared, model: Model, indices: Sequence[int]) -> dict[int, float]:
    """The model's score of each item (0 for an item no model can make relevant)."""
    scored = TopicProfile(**{**profile.__dict__, "model": model})
    return {i: decide(scored, reading).score if (reading := prepared.readings[i]) is not None else 0.0 for i in indices}


def cross_validated(
    profile: TopicProfile,
    prepared: Prepared,
    fold_of: list[int],
    fitter: Callable[[list[Sample]], Model],
) -> dict[int, float]:
    """Each item's score by the model fitted on the other folds."""
    scores: dict[int, float] = {}
    for fold in sorted(set(fold_of)):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        test = [i for i, f in enumerate(fold_of) if f == fold]
        scores.update(probabilities(profile, prepared, fitter(prepared.samples(train)), test))
    return scores


def learning_curve(
    profile: TopicProfile, prepared: Prepared, fold_of: list[int], sizes: Sequence[int], repeats: int = 3
) -> list[tuple[int, float, float]]:
    """(judgments, F1 on feed items, F1 on articles) on the held-out folds, starting from the hand weights with
    `n` judgments drawn at random from the other folds (the mean of `repeats` draws)."""
    curve = []
    prior = hand_prior(profile.threshold)
    for size in sizes:
        f1s: list[tuple[float, float]] = []
        for repeat in range(repeats if size else 1):
            rng = random.Random(repeat)
            scores: dict[int, float] = {}
            for fold in sorted(set(fold_of)):
                train = [i for i, f in enumerate(fold_of) if f != fold]
                test = [i for i, f in enumerate(fold_of) if f == fold]
                chosen = rng.sample(train, min(size, len(train)))
                model = fit(prepared.samples(chosen), prior)
                scores.update(probabilities(profile, prepared, model, test))
            f1s.append(
                (
                    _f1(prepared.items, scores, profile.threshold, "feed_items"),
                    _f1(prepared.items, scores, profile.threshold, "articles"),
                )
            )
        curve.append((size, sum(f[0] for f in f1s) / len(f1s), sum(f[1] for f in f1s) / len(f1s)))
    return curve


def half_sample(profile: TopicProfile, prepared: Prepared, fold_of: list[int]) -> tuple[float, float, int]:
    """F1 on half of each held-out fold before and after learning from judgments on the other half (halves by
    group), the model before being the one fitted on the other folds; and the number of judgments used."""
    prior = hand_prior(profile.threshold)
    before: dict[int, float] = {}
    after: dict[int, float] = {}
    used = 0
    for fold in sorted(set(fold_of)):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        held = [i for i, f in enumerate(fold_of) if f == fold]
        groups = sorted({prepared.items[i].group for i in held})
        judged_groups = set(groups[::2])
        judged = [i for i in held if prepared.items[i].group in judged_groups]
        test = [i for i in held if prepared.items[i].group not in judged_groups]
        shipped = fit(prepared.samples(train), prior)
        learned = fit(prepared.samples(judged), shipped, judgments=len(judged))
        used += len(judged)
        before.update(probabilities(profile, prepared, shipped, test))
        after.update(probabilities(profile, prepared, learned, test))
    return _f1(prepared.items, before, profile.threshold), _f1(prepared.items, after, profile.threshold), used


def new_kind(profile: TopicProfile, prepared: Prepared, shipped_from: str) -> tuple[float, float, int]:
    """A new sample of another kind: the model learned from the set `shipped_from` alone, then judgments for
    half of the other set's groups (alternate groups, both ways round), F1 on the half not judged."""
    prior = hand_prior(profile.threshold)
    items = prepared.items
    shipped = fit(prepared.samples([i for i, item in enumerate(items) if item.set == shipped_from]), prior)
    other = [i for i, item in enumerate(items) if item.set != shipped_from]
    groups = sorted({items[i].group for i in other})
    halves = [set(groups[::2]), set(groups[1::2])]
    before: dict[int, float] = {}
    after: dict[int, float] = {}
    used = 0
    for judged_groups, tested_groups in (halves, halves[::-1]):
        judged = [i for i in other if items[i].group in judged_groups]
        test = [i for i in other if items[i].group in tested_groups]
        learned = fit(prepared.samples(judged), shipped, judgments=len(judged))
        used += len(judged)
        before.update(probabilities(profile, prepared, shipped, test))
        after.update(probabilities(profile, prepared, learned, test))
    return _f1(items, before, profile.threshold), _f1(items, after, profile.threshold), used


def _f1(items: list[Item], scores: dict[int, float], threshold: float, subset: str | None = None) -> float:
    tp = fp = fn = 0
    for i, value in scores.items():
        if subset is not None and items[i].set != subset:
            continue
        predicted, actual = value >= threshold, items[i].label == "on"
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def fit_shipped(profile: TopicProfile, prepared: Prepared) -> Model:
    """The parameters seeds/ ships: learned from every shared labelled item, from the hand weights."""
    samples = prepared.samples(range(len(prepared.items)))
    return fit(samples, hand_prior(profile.threshold), basis=SHIPPED_BASIS)


def write_shipped(model: Model, path: Path = SHIPPED) -> None:
    path.write_text(to_json(model), encoding="utf-8")
