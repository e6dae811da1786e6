"""Near-duplicate texts (syndicated copies): MinHash signatures of word shingles, banded for lookup.

Two copies of one wire story share almost all of their 5-word shingles even when each outlet adds its own
boilerplate, changes the headline or trims the last paragraph; two reports of one event written separately
share almost none. The Jaccard similarity of the shingle sets separates them, and MinHash estimates it from
128 numbers per article, which the warehouse stores and bands (32 bands of 4) for candidate lookup.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS, ROWS = 64, 2  # NUM_PERM = BANDS * ROWS; a pair with Jaccard 0.3 shares a band with probability 0.998
# Estimated containment (the share of the shorter text's shingles that the longer one has) at or above which
# a later article is a copy of an earlier one. Containment, not Jaccard: a copy wrapped in much boilerplate,
# or trimmed, keeps nearly all of the shorter text. Calibrated with bench/duplicates.py on pairs built from
# ../shared/data: syndicated copies (re-headlined, last paragraph cut, other boilerplate) 0.71-1.0 (estimated;
# exact 0.74-1.0); reports of one event by different outlets (Korean agency quotes shared) at most 0.38; a
# news agency's successive rewrites of one story ("2nd LD", "3rd LD": new lead, new paragraphs) 0.65 (exact
# 0.66), which 0.6 called a copy: an article that is not the same text was marked duplicate_of. 0.68 sits
# between the two, nearer the rewrites, as MinHash's estimate errs by about 0.04 either way at 128 values.
DUPLICATE_THRESHOLD = 0.68
MIN_SHINGLES = 8  # texts shorter than this are never called copies: too little to tell

# Multiply-shift hashing (Dietzfelbinger): (a * x + b) mod 2^64, top 32 bits, with a odd. uint64 arithmetic
# wraps in numpy, which is the "mod 2^64". (A small `a` with a Mersenne modulus, tried first, keeps the order
# of the shingles nearly the same in every permutation, and the estimates were wrong: 0.66 for a true 0.22.)
_rng = np.random.default_rng(20241107)  # fixed: signatures must be comparable across runs and machines
_A = _rng.integers(0, np.iinfo(np.uint64).max, size=NUM_PERM, dtype=np.uint64, endpoint=True) | np.uint64(1)
_B = _rng.integers(0, np.iinfo(np.uint64).max, size=NUM_PERM, dtype=np.uint64, endpoint=True)
_SHIFT = np.uint64(32)
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> np.ndarray:
    """32-bit hashes of the text's word 5-grams (lower-cased, punctuation ignored)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return np.zeros(0, dtype=np.uint64)
    grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    # CRC-32 is enough of a 32-bit hash for shingles: the permutations do the mixing.
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))


def signature(text: str) -> tuple[int, ...] | None:
    """The MinHash signature of a text; None when it is too short to compare."""
    hashes = shingles(text)
    return _signature(hashes) if len(hashes) >= MIN_SHINGLES else None


def _signature(hashes: np.ndarray) -> tuple[int, ...]:
    permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) >> _SHIFT
    return tuple(int(v) for v in permuted.min(axis=1))


def bands(sig: Sequence[int]) -> list[int]:
    """One 63-bit hash per band of ROWS signature values (a band's index is its position)."""
    out = []
    for band in range(BANDS):
        chunk = ",".join(str(v) for v in sig[band * ROWS : (band + 1) * ROWS])
        out.append(int.from_bytes(hashlib.blake2b(chunk.encode(), digest_size=8).digest(), "little") >> 1)
    return out


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(np.asarray(a, dtype=np.uint64) == np.asarray(b, dtype=np.uint64))) / NUM_PERM


def containment(a: Sequence[int], size_a: int, b: Sequence[int], size_b: int) -> float:
    """Estimated share of the smaller shingle set found in the larger, from the Jaccard estimate and sizes."""
    j = similarity(a, b)
    if not size_a or not size_b:
        return 0.0
    return min(j * (size_a + size_b) / ((1 + j) * min(size_a, size_b)), 1.0)


def is_copy(a: Sequence[int], size_a: int, b: Sequence[int], size_b: int) -> bool:
    """Whether two texts are copies of one text (syndication), by their signatures and shingle counts."""
    return containment(a, size_a, b, size_b) >= DUPLICATE_THRESHOLD


@dataclass(frozen=True)
class Fingerprint:
    signature: tuple[int, ...]
    shingles: int  # the number of distinct shingles
    bands: tuple[int, ...]


def fingerprint(text: str) -> Fingerprint | None:
    """Signature, shingle count and band hashes of a text; None when it is too short to compare."""
    hashes = shingles(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    sig = _signature(hashes)
    return Fingerprint(sig, len(hashes), tuple(bands(sig)))


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (for calibration and tests)."""
    x, y = set(shingles(a).tolist()), set(shingles(b).tolist())
    return len(x & y) / len(x | y) if x | y else 0.0
