"""Near-duplicates: the measured quality on pairs built from the shared data, and the fingerprint itself."""

from __future__ import annotations

from bench.duplicates import measure, pairs, syndicate
from extractors.duplicates import containment, fingerprint, is_copy, jaccard, signature, similarity


def test_syndicated_copies_are_found_and_same_event_reports_are_not() -> None:
    syndicated, same_event = pairs()
    assert len(syndicated) >= 50 and len(same_event) >= 50
    figures = measure()
    assert figures["precision"] >= 0.95
    assert figures["recall"] >= 0.95


def test_minhash_estimates_the_true_jaccard() -> None:
    syndicated, same_event = pairs()
    for a, b in syndicated[:20] + same_event[:20]:
        sa, sb = signature(a), signature(b)
        assert sa is not None and sb is not None
        assert abs(similarity(sa, sb) - jaccard(a, b)) < 0.15


def test_fingerprints_are_stable_and_short_texts_have_none() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    first, second = fingerprint(text), fingerprint(text)
    assert first is not None and first == second and len(first.bands) == 64
    assert fingerprint("too short to tell") is None


def test_a_trimmed_copy_in_other_boilerplate_is_a_copy_of_its_source() -> None:
    syndicated, _ = pairs()
    source, other = syndicated[0][0], syndicated[5][0]
    copy = syndicate(source, other)
    fa, fb = fingerprint(source), fingerprint(copy)
    assert fa is not None and fb is not None
    assert is_copy(fa.signature, fa.shingles, fb.signature, fb.shingles)
    assert containment(fa.signature, fa.shingles, fb.signature, fb.shingles) > 0.7
