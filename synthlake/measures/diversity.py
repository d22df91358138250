"""Diversity of a set of texts, and its similarity to real data (Li et al.; Cox et al. 2021).

On L2-normalised embeddings, with cosine distance d(i, j) = 1 - x_i . x_j:

* remote clique score: mean over i of the mean distance from i to every other instance;
* chamfer distance score: mean over i of the distance from i to its nearest other instance.

Both leave out an instance's distance to itself; a repeated text is another instance
(distance 0), not the same one. Both depend on n, so sources are compared at one n.
Policy for small sets: n = 0 or n = 1 give NaN (there is no other instance); n = 2 is
the distance between the two.

Both are exact and never hold the n x n matrix:
* remote clique in O(n d): with s = sum_j x_j, sum_{j != i} x_i . x_j = x_i . s - x_i . x_i;
* chamfer by blocked matrix products, keeping only each row's best similarity.

`similarity_to_real`: for each real test text, the mean of its top-5 cosine similarities
to a source's texts, averaged over the real test texts.
"""

from __future__ import annotations

import numpy as np

from synthlake.catalog import TaskSpec
from synthlake.lake import Lake

BLOCK_BYTES = 256 * 2**20  # memory for one block of similarities


def normalise(vectors: np.ndarray) -> np.ndarray:
    x = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("zero vector: cosine distance is undefined")
    return x / norms


def remote_clique(vectors: np.ndarray) -> float:
    x = normalise(vectors).astype(np.float64)  # float64 sums: exact to 1e-12 at any n
    n = len(x)
    if n < 2:
        return float("nan")
    total = x.sum(axis=0)
    similarity_to_others = (x @ total - np.einsum("ij,ij->i", x, x)) / (n - 1)
    return float(np.mean(1.0 - similarity_to_others))


def _block_rows(n_columns: int) -> int:
    return int(np.clip(BLOCK_BYTES // (4 * max(n_columns, 1)), 64, 8192))


def two_nearest(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row: its largest cosine similarity to any *other* row, that row's index,
    and the second largest (-inf with fewer than three rows)."""
    x = normalise(vectors)
    n = len(x)
    best, second = np.empty(n, dtype=np.float32), np.full(n, -np.inf, dtype=np.float32)
    nearest = np.empty(n, dtype=np.int64)
    step = _block_rows(n)
    for start in range(0, n, step):
        stop = min(start + step, n)
        rows = np.arange(stop - start)
        block = x[start:stop] @ x.T  # (rows, n)
        block[rows, np.arange(start, stop)] = -np.inf  # not itself
        nearest[start:stop] = block.argmax(axis=1)
        best[start:stop] = block[rows, nearest[start:stop]]
        if n >= 3:
            block[rows, nearest[start:stop]] = -np.inf
            second[start:stop] = block.max(axis=1)
    return best, nearest, second


def nearest_other_similarity(vectors: np.ndarray) -> np.ndarray:
    """For each row, its largest cosine similarity to any *other* row."""
    return two_nearest(vectors)[0]


def chamfer(vectors: np.ndarray) -> float:
    if len(vectors) < 2:
        return float("nan")
    return float(np.mean(1.0 - nearest_other_similarity(vectors).astype(np.float64)))


def jackknife_intervals(vectors: np.ndarray, z: float = 1.96) -> dict[str, float]:
    """95% delete-one jackknife intervals of remote clique and chamfer (NaN under 3 texts).

    Not the bootstrap: a resample with replacement repeats texts, and a repeat is a
    neighbour at distance 0, which drags chamfer down. Each leave-one-out value is exact
    and cheap: remote clique from the sum of the vectors less the one left out; chamfer
    from each row's two nearest neighbours (leaving out a row's nearest makes its second
    the nearest)."""
    n = len(vectors)
    keys = ("remote_clique_low", "remote_clique_high", "chamfer_low", "chamfer_high")
    if n < 3:
        return dict.fromkeys(keys, float("nan"))
    x = normalise(vectors).astype(np.float64)
    rest = x.sum(axis=0) - x  # row k: the sum without row k
    clique = 1.0 - (np.einsum("ij,ij->i", rest, rest) - (n - 1)) / ((n - 1) * (n - 2))
    best, nearest, second = (a.astype(np.float64) if a.dtype != np.int64 else a
                             for a in two_nearest(vectors))
    total = np.sum(1.0 - best)
    moved = np.bincount(nearest, weights=best - second, minlength=n)  # rows whose nearest is k
    chamfer_out = (total - (1.0 - best) + moved) / (n - 1)
    found = {}
    for name, leave_one_out, full in (("remote_clique", clique, remote_clique(vectors)),
                                      ("chamfer", chamfer_out, float(np.mean(1.0 - best)))):
        se = np.sqrt((n - 1) / n * np.sum((leave_one_out - leave_one_out.mean()) ** 2))
        found[f"{name}_low"], found[f"{name}_high"] = full - z * se, full + z * se
    return found


def mean_top_k_similarity(queries: np.ndarray, corpus: np.ndarray, k: int = 5) -> float:
    """Mean over queries of the mean of their k highest cosine similarities to corpus."""
    if len(queries) == 0 or len(corpus) == 0:
        return float("nan")
    q, c = normalise(queries), normalise(corpus)
    k = min(k, len(c))
    means = np.empty(len(q), dtype=np.float64)
    step = _block_rows(len(c))
    for start in range(0, len(q), step):
        block = q[start:start + step] @ c.T
        top = np.partition(block, len(c) - k, axis=1)[:, len(c) - k:]
        means[start:start + step] = top.mean(axis=1)
    return float(means.mean())


def subsample(n_total: int, n: int, seed: int) -> np.ndarray:
    """Indices of a seeded sample of n of n_total (all, in order, when n >= n_total)."""
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


# Reference implementations, O(n^2) memory: for tests and benchmarks only.
def remote_clique_reference(vectors: np.ndarray) -> float:
    x = normalise(vectors).astype(np.float64)
    n = len(x)
    if n < 2:
        return float("nan")
    distance = 1.0 - x @ x.T
    return float(np.mean((distance.sum(axis=1) - np.diag(distance)) / (n - 1)))


def chamfer_reference(vectors: np.ndarray) -> float:
    x = normalise(vectors).astype(np.float64)
    if len(x) < 2:
        return float("nan")
    distance = 1.0 - x @ x.T
    np.fill_diagonal(distance, np.inf)
    return float(np.mean(distance.min(axis=1)))


# -- per task, from the `embeddings` table ----------------------------------------------
def measure_task(lake: Lake, spec: TaskSpec, run_id: str, *, seed: int = 0) -> tuple:
    """Write the task's partitions of `diversity_metrics` and `similarity_to_real`.

    `diversity_metrics`: task | source | label (a label, or ALL) | n_kind (full or
    comparison) | n | remote_clique | chamfer | remote_clique_low | remote_clique_high |
    chamfer_low | chamfer_high (95% jackknife) | embedder | sample_seed. `real` means the
    real train sample. The comparison n of a group is the smallest n of any source in it.

    `similarity_to_real`: task | source | n_source | n_real_test | mean_top5_similarity |
    embedder (real test texts against each source; `real` is the real train sample).
    """
    import pandas as pd
    import pyarrow as pa

    from synthlake.embed import vectors_of

    task = spec.name
    table = lake.read("embeddings", where={"task": task})
    frame = table.drop_columns(["vector"]).to_pandas()
    vectors = vectors_of(table)
    embedder = frame["model"].iloc[0] if len(frame) else ""
    is_test = (frame["source"] == "real") & (frame["split"] == "test")
    pool = frame[~is_test & ((frame["source"] != "real") | (frame["split"] == "train"))]
    groups = [("ALL", pool)] + [(lab, pool[pool["label"] == lab]) for lab in sorted(pool["label"].unique())]
    rows = []
    for label, group in groups:
        by_source = {s: g.index.to_numpy() for s, g in group.groupby("source")}
        n_cmp = min((len(ix) for ix in by_source.values()), default=0)
        for source, index in sorted(by_source.items()):
            for kind, n in (("full", len(index)), ("comparison", n_cmp)):
                chosen = vectors[index[subsample(len(index), n, seed)]]
                rows.append({"task": task, "source": source, "label": label, "n_kind": kind,
                             "n": len(chosen), "remote_clique": remote_clique(chosen),
                             "chamfer": chamfer(chosen), **jackknife_intervals(chosen),
                             "embedder": embedder, "sample_seed": seed})
    metrics = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
    test_vectors = vectors[frame.index[is_test].to_numpy()]
    similarity = pa.Table.from_pylist([{
        "task": task, "source": source, "n_source": len(g), "n_real_test": len(test_vectors),
        "mean_top5_similarity": mean_top_k_similarity(test_vectors, vectors[g.index.to_numpy()]),
        "embedder": embedder,
    } for source, g in sorted(pool.groupby("source"))])
    v1 = lake.write_partition("diversity_metrics", metrics, {"task": task}, run_id)
    v2 = lake.write_partition("similarity_to_real", similarity, {"task": task}, run_id)
    return metrics.to_pandas(), similarity.to_pandas(), (v1, v2)
