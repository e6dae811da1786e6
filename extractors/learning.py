"""The learned part of relevance: a logistic model over the score's evidence and the text's n-grams.

A text's `Evidence` is a few numbers the transparent score already computes (do the sides meet in the
headline, in how many sentences, with military or relation terms, how close to a seed) and the distinct word
n-grams (words, word pairs) and, for unspaced scripts (Korean, Chinese, Japanese), character n-grams of the
title and the sentences that name a side. A `Model` weighs them: probability = sigmoid(bias + dense·w +
grams·v), with each present n-gram worth GRAM_SCALE / sqrt(number of n-grams), so that a long article and a
headline weigh alike.

`fit` learns the weights by L2-regularised logistic regression *centred on a prior model*: the weights shipped
in seeds/ (learned from the shared labelled sample) or, for a topic with none, the hand weights of the
transparent score. A few judgments thus move the model a little from what it knew; many move it far. The bias
and dense weights are held to the prior as firmly as the prior's own data fixed them (`Model.precision`). Fitting
needs scipy; scoring is plain Python over a dict, so that a worker process never imports scipy.

Pure: values in, values out; the caller reads and writes the parameters (`to_json`, `from_json`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

# The score's evidence, in this order (extractors/relevance.py computes it).
DENSE = (
    "sides linked in the headline",
    "sides named in the headline",
    "meetings with a military term",
    "meetings with a relation term",
    "share of meeting sentences",
    "closeness to a seed",
    "sides meet",
    "meeting sentences",
    "military term in the headline",
    "relation term in the headline",
    # Since scorer version 4: evidence against the topic, from its `civil` and `forums` terms.
    "a civil matter, no military term",
    "a forum, the sides unlinked in the headline",
)
_FIRST_DENSE = 10  # the evidence every parameter file names; files from before version 4 name no more
# Each present n-gram counts GRAM_SCALE / sqrt(n-grams in the text): a headline of ~10 n-grams gives each
# ~0.3, a long article's evidence of ~1,000 n-grams ~0.03. The scale only sets the regularisation's unit.
GRAM_SCALE = 1.0
_WORD = re.compile(r"\w+", re.UNICODE)
_UNSPACED_RUN = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\u3040-\u30ff\u4e00-\u9fff]{2,}")


@dataclass(frozen=True)
class Evidence:
    dense: tuple[float, ...]  # one value per DENSE name, each in [0, 1]
    grams: tuple[str, ...]  # distinct n-grams


@dataclass(frozen=True, eq=False)
class Model:
    bias: float
    dense: tuple[float, ...]
    grams: Mapping[str, float] = field(repr=False)
    judgments: int = 0  # how many of the analyst's judgments it was fitted on (beyond its prior)
    basis: str = ""  # what it was learned from, in words
    version: str = ""  # a digest of the parameters, part of a profile's version
    # How firmly the data behind it fixes the bias and each dense weight (the diagonal of the fit's Hessian: a
    # Laplace approximation of what it learned); a later fit from this model is held to it with this strength.
    # Empty: DENSE_L2 (the hand weights, which no data fixed).
    precision: tuple[float, ...] = ()

    def logit(self, evidence: Evidence) -> float:
        value = self.bias + sum(w * x for w, x in zip(self.dense, evidence.dense, strict=True))
        if evidence.grams:
            get = self.grams.get
            value += sum(get(g, 0.0) for g in evidence.grams) * _gram_value(len(evidence.grams))
        return value

    def probability(self, evidence: Evidence) -> float:
        return _sigmoid(self.logit(evidence))

    def strongest(self, evidence: Evidence, count: int = 3) -> list[tuple[str, float]]:
        """The evidence that weighed most, (name, contribution to the logit), strongest first."""
        unit = _gram_value(len(evidence.grams)) if evidence.grams else 0.0
        parts = [(name, w * x) for name, w, x in zip(DENSE, self.dense, evidence.dense, strict=True) if x]
        parts += [(f"“{g.lstrip('#')}”", self.grams[g] * unit) for g in evidence.grams if g in self.grams]
        parts.sort(key=lambda part: abs(part[1]), reverse=True)
        return [part for part in parts[:count] if abs(part[1]) >= 0.05]


def _gram_value(count: int) -> float:
    return GRAM_SCALE / math.sqrt(count)


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    e = math.exp(value)
    return e / (1.0 + e)


def grams(text: str) -> tuple[str, ...]:
    """The distinct n-grams of a text: lower-cased words and word pairs; in unspaced scripts also the character
    pairs of each run of such characters (marked "#"), which find a Korean noun inside its
    particles."""
    words = [w for w in _WORD.findall(text.lower()) if not w.isdigit()]
    found = set(words)
    found.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    for run in _UNSPACED_RUN.findall(text):
        found.update("#" + run[i : i + 2] for i in range(len(run) - 1))
    return tuple(found)


def prior_from_hand_weights(weights: Sequence[float], threshold: float, steepness: float) -> Model:
    """The model a topic starts with when nothing was learned yet: the transparent score's own weights,
    logit = steepness * (hand score - threshold), no n-gram weights."""
    dense = tuple(steepness * w for w in weights)
    return _versioned(Model(-steepness * threshold, dense, {}, 0, "the topic's terms and seeds"))


def _versioned(model: Model) -> Model:
    digest = hashlib.sha256(to_json(model).encode()).hexdigest()[:12]
    return Model(model.bias, model.dense, model.grams, model.judgments, model.basis, digest, model.precision)


def to_json(model: Model) -> str:
    """The parameters as JSON text (n-grams sorted, weights rounded to 4 digits): the shipped file's form."""
    data = {
        "basis": model.basis,
        "judgments": model.judgments,
        "bias": round(model.bias, 4),
        "dense": {name: round(w, 4) for name, w in zip(DENSE, model.dense, strict=True)},
        "grams": {g: round(w, 4) for g, w in sorted(model.grams.items())},
    }
    if model.precision:
        data["precision"] = {name: round(h, 4) for name, h in zip(("bias", *DENSE), model.precision, strict=True)}
    return json.dumps(data, ensure_ascii=False, indent=0, sort_keys=False) + "\n"


def from_json(text: str) -> Model:
    """Read parameters written by to_json; ValueError if they do not fit this version of the features."""
    data = json.loads(text)
    dense = data.get("dense", {})
    # Parameters from before version 4 name only DENSE[:_FIRST_DENSE]: they weigh the later evidence 0 (not the
    # hand weights' negative prior), held as loosely as the hand weights, until the next fit learns it.
    names = set(DENSE[:_FIRST_DENSE]) if isinstance(dense, dict) and len(dense) == _FIRST_DENSE else set(DENSE)
    if not isinstance(dense, dict) or set(dense) != names:
        raise ValueError(f"model parameters name other evidence than {list(DENSE)}")
    held = data.get("precision")
    if held and set(held) != {"bias", *names}:
        raise ValueError("model parameters give a precision for other evidence than their weights")
    model = Model(
        float(data["bias"]),
        tuple(float(dense.get(name, 0.0)) for name in DENSE),
        {str(g): float(w) for g, w in data.get("grams", {}).items()},
        int(data.get("judgments", 0)),
        str(data.get("basis", "")),
        precision=tuple(float(held.get(name, DENSE_L2)) for name in ("bias", *DENSE)) if held else (),
    )
    return _versioned(model)


@dataclass(frozen=True)
class Sample:
    evidence: Evidence
    on_topic: bool
    weight: float = 1.0


# Regularisation, chosen by cross-validation grouped by feed site and outlet on ../shared/data/topic (the
# figures of bench/relevance.py; the values tried are in docs/relevance.md): the dense weights are few and
# transfer across outlets, so they may move more; n-gram weights are many and overfit, so they are held nearer
# their prior. DENSE_L2 holds the bias and dense weights only to a prior without a precision (the hand
# weights); from a fitted model (the shipped one) they are held by its precision (Model.precision).
DENSE_L2 = 0.3
GRAM_L2 = 1.0
# An on-topic judgment weighs this much more than an off-topic one: the analyst would rather read one story
# too many than miss one. On the same folds: at 1.0 and 1.5 the figures at threshold 0.5 are the same, and at
# 1.5 feed items hold F1 0.979 from threshold 0.5 to 0.6 (1.0: 0.5 only); see docs/relevance.md.
ON_WEIGHT = 1.5
MIN_DF = 2  # an n-gram enters the vocabulary when at least this many training texts hold it
MAX_GRAMS = 6000  # at most this many n-gram weights are kept, the strongest (the shipped file has ~950: 19 KB)
MIN_WEIGHT = 0.005  # smaller weights are dropped: at most 0.0015 of a headline's logit each


def fit(
    samples: Sequence[Sample],
    prior: Model,
    *,
    dense_l2: float = DENSE_L2,
    gram_l2: float = GRAM_L2,
    min_df: int = MIN_DF,
    on_weight: float = ON_WEIGHT,
    basis: str = "",
    judgments: int = 0,
) -> Model:
    """Weights that fit `samples`, pulled towards `prior` (an empty sample gives the prior back). The bias is
    held like the dense weights: a handful of judgments, all off the topic, must not shift every score."""
    if not samples:
        return prior
    import numpy as np
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    df: dict[str, int] = {}
    for sample in samples:
        for g in sample.evidence.grams:
            df[g] = df.get(g, 0) + 1
    vocabulary = sorted({g for g, n in df.items() if n >= min_df} | set(prior.grams))
    index = {g: i for i, g in enumerate(vocabulary)}
    rows, cols, values = [], [], []
    for row, sample in enumerate(samples):
        present = [index[g] for g in sample.evidence.grams if g in index]
        unit = _gram_value(len(sample.evidence.grams)) if sample.evidence.grams else 0.0
        rows += [row] * len(present)
        cols += present
        values += [unit] * len(present)
    x = csr_matrix((values, (rows, cols)), shape=(len(samples), len(vocabulary)))
    d = np.array([s.evidence.dense for s in samples], dtype=float)
    y = np.array([1.0 if s.on_topic else -1.0 for s in samples])
    s_weight = np.array([s.weight * (on_weight if s.on_topic else 1.0) for s in samples])
    centre_d = np.array(prior.dense)
    # The pull towards the prior, bias first: what the prior's own data fixed (its precision), else dense_l2.
    pull = np.array(prior.precision) if prior.precision else np.full(1 + len(DENSE), dense_l2)
    centre_g = np.array([prior.grams.get(g, 0.0) for g in vocabulary])
    n_dense = len(DENSE)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, wd, wg = theta[0], theta[1 : 1 + n_dense], theta[1 + n_dense :]
        z = b + d @ wd + x @ wg
        margin = y * z
        value = float(np.sum(s_weight * np.logaddexp(0.0, -margin)))
        residual = -y * s_weight * np.exp(-np.logaddexp(0.0, margin))  # -y·w·sigmoid(-margin)
        value += 0.5 * (float(np.sum(pull[1:] * (wd - centre_d) ** 2)) + pull[0] * (b - prior.bias) ** 2)
        value += 0.5 * gram_l2 * float(np.sum((wg - centre_g) ** 2))
        grad_b = residual.sum() + pull[0] * (b - prior.bias)
        grad_d = d.T @ residual + pull[1:] * (wd - centre_d)
        grad_g = x.T @ residual + gram_l2 * (wg - centre_g)
        grad = np.concatenate([[grad_b], grad_d, grad_g])
        return value, grad

    start = np.concatenate([[prior.bias], centre_d, centre_g])
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    theta = result.x
    weights = {g: float(w) for g, w in zip(vocabulary, theta[1 + n_dense :], strict=True) if abs(w) >= MIN_WEIGHT}
    if len(weights) > MAX_GRAMS:
        weights = dict(sorted(weights.items(), key=lambda item: abs(item[1]), reverse=True)[:MAX_GRAMS])
    dense = tuple(float(w) for w in theta[1 : 1 + n_dense])
    # The posterior's precision of the bias and dense weights (diagonal): the prior's pull plus the samples'
    # curvature at the optimum, sum of w·p·(1-p)·x².
    z = theta[0] + d @ theta[1 : 1 + n_dense] + x @ theta[1 + n_dense :]
    p = 1.0 / (1.0 + np.exp(-z))
    curvature = s_weight * p * (1.0 - p)
    features = np.hstack([np.ones((len(samples), 1)), d])
    precision = tuple(float(h) for h in pull + curvature @ (features**2))
    model = Model(float(theta[0]), dense, weights, prior.judgments + judgments, basis or prior.basis)
    return _versioned(replace(model, precision=precision))
