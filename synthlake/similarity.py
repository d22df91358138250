"""Text similarity shared by generation (rejections) and the quality checks (verdicts):
one definition, so a set that generation accepts is a set the checks pass.

Character n-grams (3-5, within word boundaries), hashed and L2-normalised, compared by
cosine. No fitted vocabulary or IDF: the similarity of two texts depends on those two
texts only, whichever corpus they sit in. Robust to small edits, casing and punctuation.
"""

from __future__ import annotations

import re

import numpy as np

BLOCK = 1024


def normalized(text: str) -> str:
    """Key for exact-duplicate detection: case and punctuation folded."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def vectors(texts: list[str]):
    from sklearn.feature_extraction.text import HashingVectorizer

    hashing = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**20,
                                alternate_sign=False, norm="l2", lowercase=True)
    return hashing.transform(texts)


def near_duplicate_flags(texts: list[str], threshold: float,
                         eligible: np.ndarray | None = None) -> np.ndarray:
    """In order: True for a text whose cosine similarity to an earlier eligible, unflagged
    text reaches `threshold`. Blocks of rows: the n x n matrix is never held."""
    n = len(texts)
    flags = np.zeros(n, dtype=bool)
    if n < 2:
        return flags
    eligible = np.ones(n, dtype=bool) if eligible is None else eligible
    matrix = vectors(texts)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        block = (matrix[start:stop] @ matrix[:stop].T).toarray()
        for i in range(start, stop):
            earlier = eligible[:i] & ~flags[:i]
            flags[i] = eligible[i] and bool((block[i - start, :i][earlier] >= threshold).any())
    return flags


def similar_to_any(texts: list[str], references: list[str], threshold: float) -> list[bool]:
    """For each text: equal (normalized) to a reference, or cosine >= threshold to one."""
    if not texts or not references:
        return [False] * len(texts)
    keys = {normalized(r) for r in references}
    refs = vectors(references)
    out: list[bool] = []
    for start in range(0, len(texts), BLOCK):
        chunk = texts[start:start + BLOCK]
        best = np.asarray((vectors(chunk) @ refs.T).max(axis=1).todense()).ravel()
        out += [normalized(t) in keys or bool(b >= threshold) for t, b in zip(chunk, best, strict=True)]
    return out
