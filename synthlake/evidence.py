"""Uncertainty of what the classifiers score: a bootstrap over test texts x training draws.

At small n the largest source of variance is *which texts were drawn for training*, not
which were tested. Every figure that compares sources therefore resamples both, in one
shared set of resamples per task (`Resamples`), vectorised (one `bincount` per run):

- the real test texts, with replacement (the same resampled texts for every source, so
  a comparison is paired and texts both sides get right or wrong cancel out);
- the runs of each source, with replacement: a source whose training texts are drawn
  afresh by each seed (`Runs.drawn`: size-matched real data, a curve point, a share of
  a synthetic set) contributes its spread over draws this way;
- a *fixed* set (one set of generated texts, a classifier its seed does not change) is
  one draw of what its generator makes. It borrows the spread of one training draw of
  real data of its size (`draw_spread`: the size-matched real draws, or for an
  equivalent without them the real curve's point nearest it: their std times a Student
  t, the predictive spread of one more draw), so its interval says
  what another set from the same generator would score, assuming such
  sets vary as real draws of that size do. With no real draws to borrow from, the
  interval covers the test texts (and seeds) only, and its `covers` says so.

Every interval is the 2.5 and 97.5 percentiles of its resampled statistic; `covers`
says in words what was resampled.

    score(book, runs, reference)          the mean macro-F1 over a source's runs, with its
                                          interval
    difference(book, a, b, ref_a, ref_b)  macro-F1 of A minus B (seed means), its interval
                                          and two-sided p-value
    score_intervals(gold, predicted, n)   one run's test-set-only interval (`evaluations`)

Macro-F1 is scikit-learn's with `labels` = every label and `zero_division=0`: per label
2 TP / (2 TP + FP + FN), 0 where that is 0 / 0, averaged over the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
BATCH = 200  # resamples scored per bincount: bounds memory at BATCH x test texts


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
    """scipy's seeded percentile bootstrap of a statistic of texts alone (the last axis
    of all `arrays` resampled together), 200 resamples per vectorised batch: for figures
    with no training draws (`proxies`)."""
    from scipy import stats

    return stats.bootstrap(arrays, statistic, n_resamples=resamples, paired=True,
                           vectorized=True, axis=-1, confidence_level=CONFIDENCE,
                           method="percentile", batch=200, rng=np.random.default_rng(seed))


def percentiles(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail], axis=0)
    return float(low), float(high)


@dataclass
class Runs:
    """One training source x classifier: each seed's predictions on the test texts;
    `drawn`: each seed trained on a fresh draw of training texts (else one fixed set)."""

    predictions: list
    drawn: bool

    def __len__(self) -> int:
        return len(self.predictions)


class Resamples:
    """`resamples` bootstrap resamples of the test texts (seeded), shared by every figure
    of one task, and each run's macro-F1 on each of them (computed once per run)."""

    def __init__(self, gold, n_labels: int, seed: int = 0, resamples: int = RESAMPLES):
        self.gold, self.n_labels = np.asarray(gold), n_labels
        self.rng = np.random.default_rng(seed)
        self.index = self.rng.integers(0, len(self.gold), size=(resamples, len(self.gold)))
        self._f1: dict[int, np.ndarray] = {}

    @property
    def n_test(self) -> int:
        return len(self.gold)

    @property
    def size(self) -> int:
        return len(self.index)

    def point(self, predicted) -> float:
        return float(macro_f1(self.gold, np.asarray(predicted), self.n_labels))

    def f1(self, predicted) -> np.ndarray:
        """Macro-F1 of one run on every resample (resamples,)."""
        predicted = np.asarray(predicted)
        key = hash(predicted.tobytes())
        if key not in self._f1:
            self._f1[key] = np.concatenate([
                macro_f1(self.gold[rows], predicted[rows], self.n_labels)
                for rows in np.array_split(self.index, max(1, self.size // BATCH))])
        return self._f1[key]

    def matrix(self, runs: Runs) -> np.ndarray:
        return np.stack([self.f1(p) for p in runs.predictions])  # runs x resamples

    def seed_mean(self, runs: Runs) -> np.ndarray:
        """The mean over a resample (with replacement) of the runs, per test resample."""
        scores = self.matrix(runs)
        if len(scores) == 1:
            return scores[0]
        picks = self.rng.integers(0, len(scores), size=(self.size, len(scores)))
        return scores[picks, np.arange(self.size)[:, None]].mean(axis=1)

    def draw_spread(self, reference: Runs) -> np.ndarray:
        """Where one more training draw would land relative to the mean, per resample:
        the std of `reference`'s draws (their macro-F1 on the full test split) times a
        Student t with K - 1 degrees of freedom, the predictive spread of one new draw
        from K seen ones. (Resampling K = 5 seen draws would give a five-point
        distribution whose tails are too light for a 95% interval.)"""
        scores = [self.point(p) for p in reference.predictions]
        k = len(scores)
        return float(np.std(scores, ddof=1)) * self.rng.standard_t(k - 1, size=self.size)

    def replicate(self, runs: Runs, reference: Runs | None = None) -> np.ndarray:
        """A source's mean macro-F1 on every resample: its runs resampled, and for a
        fixed set one borrowed training draw's spread (`reference`, when it has 2 or
        more draws)."""
        found = self.seed_mean(runs)
        if reference is not None and borrows(runs, reference):
            found = found + self.draw_spread(reference)
        return found

    def covers(self, runs: Runs, reference: Runs | None = None) -> str:
        """What an interval of `runs` resampled, in words."""
        said = f"{self.n_test} test texts resampled"
        if runs.drawn:
            return f"{said} x {len(runs)} training draws resampled"
        said += "; one fixed training set" + (f", {len(runs)} seeds resampled"
                                              if len(runs) > 1 else "")
        if reference is not None and borrows(runs, reference):
            return f"{said}, plus one training draw's spread (from {len(reference)} real draws)"
        return f"{said} (no training-draw spread: no real draws to borrow it from)"


def borrows(runs: Runs, reference: Runs | None) -> bool:
    return not runs.drawn and reference is not None and len(reference) > 1


def mean_point(book: Resamples, runs: Runs) -> float:
    return float(np.mean([book.point(p) for p in runs.predictions]))


@dataclass
class Score:
    macro_f1: float  # mean over the runs
    low: float
    high: float
    covers: str


def score(book: Resamples, runs: Runs, reference: Runs | None = None) -> Score:
    return Score(mean_point(book, runs), *percentiles(book.replicate(runs, reference)),
                 book.covers(runs, reference))


@dataclass
class Difference:
    """Macro-F1 of A minus B (each the mean over its runs), its 95% interval and
    two-sided p-value (twice the smaller share of resampled differences on either side
    of 0; never below 1 / resamples)."""

    difference: float
    low: float
    high: float
    p_value: float
    n_test: int
    covers: str = ""

    @property
    def distinguishable(self) -> bool:
        return not (self.low <= 0.0 <= self.high)


def difference(book: Resamples, a: Runs, b: Runs, reference_a: Runs | None = None,
               reference_b: Runs | None = None) -> Difference:
    spread = book.replicate(a, reference_a) - book.replicate(b, reference_b)
    p_value = min(1.0, 2 * min((spread <= 0).mean(), (spread >= 0).mean()))
    return Difference(mean_point(book, a) - mean_point(book, b), *percentiles(spread),
                      max(p_value, 1 / book.size), book.n_test,
                      f"A: {book.covers(a, reference_a)}; B: {book.covers(b, reference_b)}")


def score_intervals(gold, predicted, n_labels: int, seed: int = 0,
                    resamples: int = RESAMPLES) -> dict[str, float]:
    """macro_f1_low | macro_f1_high | accuracy_low | accuracy_high of one run, over the
    test texts only (one run is one training draw)."""
    book = Resamples(gold, n_labels, seed, resamples)
    predicted = np.asarray(predicted)
    acc = np.concatenate([accuracy(book.gold[rows], predicted[rows])
                          for rows in np.array_split(book.index, max(1, book.size // BATCH))])
    f1_low, f1_high = percentiles(book.f1(predicted))
    acc_low, acc_high = percentiles(acc)
    return {"macro_f1_low": f1_low, "macro_f1_high": f1_high,
            "accuracy_low": acc_low, "accuracy_high": acc_high}


def baselines_of(source: str) -> list[str]:
    """What a training source is compared with: size-matched real data, all real data
    (or its capped sample), and for a filtered synthetic source its unfiltered
    counterpart (all real data is the reference of the others, compared with none)."""
    from synthlake.vocabulary import FILTERED, UNFILTERED, TrainSource

    if source in (TrainSource.REAL_FULL, TrainSource.REAL_CAPPED):
        return []
    unfiltered: dict[str, TrainSource] = {FILTERED[m]: UNFILTERED[m] for m in FILTERED}
    found = [TrainSource.REAL, TrainSource.REAL_FULL, TrainSource.REAL_CAPPED] + (
        [unfiltered[source]] if source in unfiltered else [])
    return [str(b) for b in found if b != source]


def reference_of(source: str, runs: dict[tuple[str, str], Runs], classifier: str) -> Runs | None:
    """The real draws a fixed set borrows its training-draw spread from: the size-matched
    real source of the same classifier (none for real data itself)."""
    from synthlake.vocabulary import TrainSource

    if source in (TrainSource.REAL, TrainSource.REAL_FULL, TrainSource.REAL_CAPPED):
        return None
    return runs.get((TrainSource.REAL.value, classifier))


def score_rows(task: str, book: Resamples, runs: dict[tuple[str, str], Runs],
               sizes: dict[str, int]) -> list[dict]:
    """`source_scores` rows: every source x classifier's mean macro-F1 and its interval.

        task | train_source | classifier | seeds | drawn | n_train | n_test | macro_f1 |
        low | high | covers
    """
    rows = []
    for (source, classifier), mine in runs.items():
        found = score(book, mine, reference_of(source, runs, classifier))
        rows.append({"task": task, "train_source": source, "classifier": classifier,
                     "seeds": len(mine), "drawn": mine.drawn, "n_train": sizes[source],
                     "n_test": book.n_test, "macro_f1": found.macro_f1, "low": found.low,
                     "high": found.high, "covers": found.covers})
    return rows


def comparisons(task: str, book: Resamples, runs: dict[tuple[str, str], Runs]) -> list[dict]:
    """`comparisons` rows: every source against each of its baselines (`baselines_of`)
    trained with the same classifier, on the same resampled test texts.

        task | train_source | classifier | baseline | seeds | baseline_seeds | n_test |
        difference (source minus baseline macro-F1) | low | high | p_value |
        distinguishable (the 95% interval excludes 0) | covers
    """
    rows = []
    for (source, classifier), mine in runs.items():
        for baseline in baselines_of(source):
            theirs = runs.get((baseline, classifier))
            if theirs is None:
                continue
            found = difference(book, mine, theirs, reference_of(source, runs, classifier),
                               reference_of(baseline, runs, classifier))
            rows.append({"task": task, "train_source": source, "classifier": classifier,
                         "baseline": baseline, "seeds": len(mine), "baseline_seeds": len(theirs),
                         "n_test": found.n_test, "difference": found.difference,
                         "low": found.low, "high": found.high, "p_value": found.p_value,
                         "distinguishable": found.distinguishable, "covers": found.covers})
    return rows


def paired_difference(gold, runs_a: list, runs_b: list, n_labels: int, seed: int = 0,
                      resamples: int = RESAMPLES) -> Difference:
    """A minus B for models trained once each on fixed sets (e.g. two error-driven
    rounds): the test texts resampled, and each side's runs if it has several."""
    book = Resamples(gold, n_labels, seed, resamples)
    return difference(book, Runs(list(runs_a), False), Runs(list(runs_b), False))
