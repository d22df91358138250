"""Uncertainty of what the classifiers score: bootstrap intervals over the test texts.

Every figure here resamples the real test texts (with replacement, seeded) through
`scipy.stats.bootstrap`, vectorised over resamples: the statistic is computed for a whole
batch of resamples at once from one-hot counts, never in a Python loop.

    score_intervals(gold, predicted, n_labels)   95% percentile intervals of macro-F1 and
                                                 accuracy of one run
    paired_difference(gold, runs_a, runs_b, n)   macro-F1 of A minus B on the same test
                                                 texts, each side the mean over its seeds;
                                                 the resamples are shared (paired), so the
                                                 texts both get right or wrong cancel out

Macro-F1 is scikit-learn's with `labels` = every label and `zero_division=0`: per label
2 TP / (2 TP + FP + FN), 0 where that is 0 / 0, averaged over the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95


def confusion(gold: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    """Counts (..., gold label, predicted label) over the last axis (texts); any leading
    axes are resamples. One `bincount` for the whole batch."""
    gold, predicted = np.broadcast_arrays(gold, predicted)
    lead = gold.shape[:-1]
    cells = int(np.prod(lead, dtype=int))
    offset = (np.arange(cells) * n_labels * n_labels).reshape(*lead, 1) if lead else 0
    codes = offset + gold * n_labels + predicted
    counts = np.bincount(codes.ravel(), minlength=cells * n_labels * n_labels)
    return counts.reshape(*lead, n_labels, n_labels)


def macro_f1(gold: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    """Macro-F1 over the last axis (texts); any leading axes are resamples."""
    counts = confusion(gold, predicted, n_labels)
    tp = np.diagonal(counts, axis1=-2, axis2=-1)
    fp = counts.sum(axis=-2) - tp
    fn = counts.sum(axis=-1) - tp
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0)
    return f1.mean(axis=-1)


def accuracy(gold: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return (gold == predicted).mean(axis=-1)


def bootstrap(arrays: tuple[np.ndarray, ...], statistic, seed: int,
              resamples: int = RESAMPLES):
    """scipy's seeded percentile bootstrap, resampling the texts (last axis) of all
    `arrays` together (paired), 200 resamples per vectorised batch."""
    from scipy import stats

    return stats.bootstrap(arrays, statistic, n_resamples=resamples, paired=True,
                           vectorized=True, axis=-1, confidence_level=CONFIDENCE,
                           method="percentile", batch=200, rng=np.random.default_rng(seed))


def score_intervals(gold, predicted, n_labels: int, seed: int = 0,
                    resamples: int = RESAMPLES) -> dict[str, float]:
    """macro_f1_low | macro_f1_high | accuracy_low | accuracy_high of one run."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    f1 = bootstrap((gold, predicted), lambda g, p, axis=-1: macro_f1(g, p, n_labels),
                    seed, resamples).confidence_interval
    acc = bootstrap((gold, predicted), lambda g, p, axis=-1: accuracy(g, p),
                     seed, resamples).confidence_interval
    return {"macro_f1_low": float(f1.low), "macro_f1_high": float(f1.high),
            "accuracy_low": float(acc.low), "accuracy_high": float(acc.high)}


@dataclass
class Difference:
    """Macro-F1 of A minus B (each the mean over its seeds), its 95% paired-bootstrap
    interval and two-sided p-value (twice the smaller share of resampled differences on
    either side of 0; never below 1 / resamples)."""

    difference: float
    low: float
    high: float
    p_value: float
    n_test: int

    @property
    def distinguishable(self) -> bool:
        return not (self.low <= 0.0 <= self.high)


def paired_difference(gold, runs_a: list, runs_b: list, n_labels: int, seed: int = 0,
                      resamples: int = RESAMPLES) -> Difference:
    """`runs_a`, `runs_b`: predictions of each seed of A and of B on the same test texts."""
    gold = np.asarray(gold)
    k = len(runs_a)

    def statistic(g, *predictions, axis=-1):
        a = np.mean([macro_f1(g, p, n_labels) for p in predictions[:k]], axis=0)
        b = np.mean([macro_f1(g, p, n_labels) for p in predictions[k:]], axis=0)
        return a - b

    arrays = (gold, *map(np.asarray, runs_a), *map(np.asarray, runs_b))
    result = bootstrap(arrays, statistic, seed, resamples)
    spread = result.bootstrap_distribution
    p_value = min(1.0, 2 * min((spread <= 0).mean(), (spread >= 0).mean()))
    return Difference(float(statistic(*arrays)), float(result.confidence_interval.low),
                      float(result.confidence_interval.high), max(p_value, 1 / resamples),
                      len(gold))


def baselines_of(source: str) -> list[str]:
    """What a training source is compared with: size-matched real data, all real data,
    and for a filtered synthetic source its unfiltered counterpart (all real data is the
    reference of the others, compared with none)."""
    from synthlake.vocabulary import FILTERED, UNFILTERED, TrainSource

    if source == TrainSource.REAL_FULL:
        return []
    unfiltered = {FILTERED[m]: UNFILTERED[m] for m in FILTERED}
    found = [TrainSource.REAL, TrainSource.REAL_FULL] + (
        [unfiltered[source]] if source in unfiltered else [])
    return [str(b) for b in found if b != source]


def by_source(predicted: dict[tuple[str, str, int], list]) -> dict[tuple[str, str], list]:
    """Each (source, classifier)'s predictions, one per seed in seed order."""
    runs: dict[tuple[str, str], list] = {}
    for (source, classifier, _seed), found in sorted(predicted.items(), key=lambda kv: kv[0]):
        runs.setdefault((source, classifier), []).append(found)
    return runs


def comparisons(task: str, gold, predicted: dict[tuple[str, str, int], list[int]],
                n_labels: int) -> list[dict]:
    """`comparisons` rows: every source against each of its baselines (`baselines_of`)
    trained with the same classifier, paired on the same test texts, pooled over seeds.

        task | train_source | classifier | baseline | seeds | baseline_seeds | n_test |
        difference (source minus baseline macro-F1) | low | high | p_value |
        distinguishable (the 95% interval excludes 0)
    """
    runs = by_source(predicted)
    rows = []
    for (source, classifier), mine in runs.items():
        for baseline in baselines_of(source):
            theirs = runs.get((baseline, classifier))
            if theirs is None:
                continue
            found = paired_difference(gold, mine, theirs, n_labels)
            rows.append({"task": task, "train_source": source, "classifier": classifier,
                         "baseline": baseline, "seeds": len(mine), "baseline_seeds": len(theirs),
                         "n_test": found.n_test, "difference": found.difference,
                         "low": found.low, "high": found.high, "p_value": found.p_value,
                         "distinguishable": found.distinguishable})
    return rows
