"""Text similarity shared by generation (rejections) and the quality checks (verdicts):
one definition, so a set that generation accepts is a set the checks pass.

Character n-grams (3-5, within word boundaries), hashed and L2-normalised, compared by
cosine. No fitted vocabulary or IDF: the similarity of two texts depends on those two
texts only, whichever corpus they sit in. Robust to small edits, casing and punctuation.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

REFERENCE_CHUNK = 512


def normalized(text: str) -> str:
    """Key for exact-duplicate detection: case and punctuation folded."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def vectors(texts: list[str]):
    from sklearn.feature_extraction.text import HashingVectorizer

    hashing = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**20,
                                alternate_sign=False, norm="l2", lowercase=True)
    return hashing.transform(texts)


def near_duplicate_flags(texts: list[str], threshold: float,
                         eligible: np.ndarray | None = None, matrix=None) -> np.ndarray:
    """In order: True for a text whose cosine similarity to an earlier eligible, unflagged
    text reaches `threshold`. `matrix`: `vectors(texts)`, when the caller has it already.

    Exact, without the n x n work in sparse arithmetic: a dense sketch (below) proposes
    every pair whose estimated cosine is within `SKETCH_MARGIN` of the threshold, tile by
    tile with BLAS, and the exact cosine of only those pairs decides."""
    n = len(texts)
    flags = np.zeros(n, dtype=bool)
    if n < 2:
        return flags
    eligible = np.ones(n, dtype=bool) if eligible is None else eligible
    matrix = vectors(texts) if matrix is None else matrix
    near: dict[int, list[int]] = {}
    for i, j in _pairs_at_least(matrix, threshold):
        near.setdefault(i, []).append(j)
    for i in sorted(near):
        # Earlier texts are final by now: flags depend only on what came before.
        flags[i] = eligible[i] and any(eligible[j] and not flags[j] for j in near[i])
    return flags


SKETCH_BITS = 10
SKETCH_DIMS = 1 << SKETCH_BITS
# The sketch's estimate has a standard deviation of at most sqrt(2 / SKETCH_DIMS) = 0.044
# around the exact cosine (0.031 measured), so missing a pair at the threshold takes an
# error of about 10 standard deviations.
SKETCH_MARGIN = 0.3
TILE = 2048
PAIR_CHUNK = 50_000  # candidate pairs confirmed per sparse product


def _sketch(matrix) -> np.ndarray:
    """Feature hashing of the exact vectors into SKETCH_DIMS signed buckets (n x 1024,
    float32): inner products of sketches are unbiased estimates of exact cosines."""
    from scipy import sparse

    mixed = matrix.indices.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    # Top bits of a multiplicative hash pick the bucket, a low bit the sign.
    buckets = (mixed >> np.uint64(64 - SKETCH_BITS)).astype(np.int64)
    signs = np.where((mixed >> np.uint64(31)) & np.uint64(1), 1.0, -1.0)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    summed = sparse.csr_matrix((matrix.data * signs, (rows, buckets)),
                               shape=(matrix.shape[0], SKETCH_DIMS))
    return summed.toarray().astype(np.float32)


def _pairs_at_least(matrix, threshold: float):
    """Yield (i, j), j < i, with exact cosine >= threshold; memory bounded by one tile."""
    sketch = _sketch(matrix)
    n = matrix.shape[0]
    for r0 in range(0, n, TILE):
        rows = sketch[r0:r0 + TILE]
        for c0 in range(0, min(r0 + TILE, n), TILE):
            estimate = rows @ sketch[c0:c0 + TILE].T
            i, j = np.nonzero(estimate >= threshold - SKETCH_MARGIN)
            i, j = i + r0, j + c0
            keep = j < i
            i, j = i[keep], j[keep]
            for k in range(0, len(i), PAIR_CHUNK):
                a, b = i[k:k + PAIR_CHUNK], j[k:k + PAIR_CHUNK]
                exact = np.asarray(matrix[a].multiply(matrix[b]).sum(axis=1)).ravel()
                hit = exact >= threshold
                yield from zip(a[hit].tolist(), b[hit].tolist(), strict=True)


class References:
    """Texts a generated text must not repeat (demonstrations shown, real test texts),
    hashed once: their exact-duplicate keys and the dense sketch of each (4 KB a text: a
    test split of 5,000 long IMDb reviews takes 20 MB, where its sparse vectors would
    take hundreds). A generation run keeps the test split's across its final passes
    (hashing ag_news's 7,600 test texts again on every pass was most of a known-answer
    run's time). The exact cosine decides, for the pairs the sketch proposes."""

    def __init__(self, texts: list[str]):
        self.texts = sorted(set(texts))
        self.keys = {normalized(t) for t in self.texts}
        sketches = [_sketch(vectors(self.texts[start:start + REFERENCE_CHUNK]))
                    for start in range(0, len(self.texts), REFERENCE_CHUNK)]
        self.sketch = np.vstack(sketches) if sketches else np.zeros((0, SKETCH_DIMS), np.float32)

    def similar(self, texts: list[str], threshold: float, matrix=None) -> list[bool]:
        """For each text: equal (normalized) to a reference, or cosine >= threshold to
        one. `matrix`: `vectors(texts)`, when the caller has it already."""
        if not texts or not self.texts:
            return [False] * len(texts)
        hit = np.array([normalized(t) in self.keys for t in texts])
        matrix = vectors(texts) if matrix is None else matrix
        sketch = _sketch(matrix)
        for c0 in range(0, len(self.texts), TILE):
            i, j = np.nonzero(sketch @ self.sketch[c0:c0 + TILE].T >= threshold - SKETCH_MARGIN)
            open_ = ~hit[i]
            i, j = i[open_], j[open_] + c0
            for k in range(0, len(i), PAIR_CHUNK):
                a, b = i[k:k + PAIR_CHUNK], j[k:k + PAIR_CHUNK]
                refs, position = np.unique(b, return_inverse=True)
                chosen = vectors([self.texts[r] for r in refs])[position]
                exact = np.asarray(matrix[a].multiply(chosen).sum(axis=1)).ravel()
                hit[a[exact >= threshold]] = True
        return hit.tolist()


@lru_cache(maxsize=2)
def cached_references(texts: tuple[str, ...]) -> References:
    """`References(texts)`, kept for the next runs of the process on the same texts: a
    real test split is the same for every method, error-driven round and trial."""
    return References(list(texts))


def similar_to_any(texts: list[str], references: list[str], threshold: float,
                   matrix=None) -> list[bool]:
    """`References(references).similar(texts, threshold, matrix)`: for each text, equal
    (normalized) to a reference or cosine >= threshold to one."""
    return References(references).similar(texts, threshold, matrix)
