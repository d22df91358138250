"""Learning curves, and what a synthetic set is worth in real labelled examples.

The real curve trains the same classifier, with the same seeds, on n real texts per label
for n on a doubling grid (4, 8, 16, ...), each seed drawing its own sample (nested: each
seed shuffles every label's texts once and takes the first n, so a point differs from the
next only by the added texts). The grid grows until it brackets every synthetic source
(`TrainConfig.curve_beyond` doublings past the first point at or above the highest
upper bound of a source's macro-F1) or reaches all real train texts per label
(`TrainConfig.curve_max_per_label`
caps it where set). Each generated source's own curve trains on 25% and 50% of its rows
(`curve_shares`, drawn per seed; 100% is its main run): whether more synthetic data would
still help.

The **real-data equivalent** of a synthetic source is the number of real texts per label
at which the real curve reaches the source's macro-F1. The curve is first made monotone
(`monotone`: the mean of its running maximum from the left and its running minimum from
the right, equal to the curve wherever it already rises), then inverted by linear
interpolation in log2(n), the grid's own scale. A score below the curve's smallest point
or above its largest is said as such, never extrapolated. Its 95% interval comes from the
bootstrap over test texts x training draws (`evidence`): each resample rescores every
curve point (its draws resampled) and the source on the same resampled texts and inverts
again; a fixed synthetic set (one draw of its generator) also carries the spread of one
real draw of its own size (the size-matched real draws; the curve point nearest its
equivalent where there are none), so the interval says which real sample sizes its score
is consistent with.

`learning_curves` rows (one per curve point, pooled over seeds):

    task | curve (real or a source) | classifier | n_per_label | share | n_train | seeds |
    macro_f1 (mean over seeds) | macro_f1_std | low | high (95%, test texts x draws) |
    n_test | covers

`real_equivalents` rows (one per synthetic source and classifier):

    task | train_source | classifier | seeds | macro_f1 | equivalent (real texts per label;
    null outside the curve) | low | high (null where the interval leaves the curve) |
    position (within, below or above the curve) | reading (the sentence the report
    prints) | smallest | largest (the curve's grid) | n_test | covers
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthlake import evidence
from synthlake.vocabulary import FILTERED, TrainSource

REAL_CURVE = "real"
SMALLEST = 4
# Sources whose own curve is trained (the generated sets); every synthetic source gets
# its real-data equivalent.
OWN_CURVES = tuple(FILTERED.values())
NOT_SYNTHETIC = (TrainSource.REAL, TrainSource.REAL_FULL, TrainSource.REAL_CAPPED)


def grid(largest: int, cap: int | None = None) -> list[int]:
    """4, 8, 16, ... below min(cap, the largest label's texts), then that top itself:
    the last point trains on all the real texts (or the cap); empty below 4."""
    top = min(cap, largest) if cap else largest
    if top < SMALLEST:
        return []
    doubled = [SMALLEST * 2 ** k for k in range(40) if SMALLEST * 2 ** k < top]
    return doubled + [top]


def nested_sample(frame: pd.DataFrame, n_per_label: int, seed: int) -> pd.DataFrame:
    """The first n texts per label of a per-seed shuffle: the sample at n is part of the
    sample at 2n (a label with fewer texts gives all it has)."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    return shuffled.groupby("label", sort=False).head(n_per_label)


def share_sample(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """`share` of each label's rows (at least 2), nested in the same way."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    sizes = frame["label"].value_counts()
    keep = shuffled.groupby("label", sort=False).cumcount() < shuffled["label"].map(
        lambda label: max(2, round(sizes[label] * share)))
    return shuffled[keep]


def per_label(frame: pd.DataFrame) -> int:
    """The median count per label: where a source sits on the n-per-label axis."""
    return int(round(frame["label"].value_counts().median()))


# -- the equivalent ----------------------------------------------------------------------
def monotone(curve: np.ndarray) -> np.ndarray:
    """A non-decreasing version of each row (last axis: the grid): the mean of the running
    maximum from the left and the running minimum from the right. Both are
    non-decreasing, so their mean is; on a curve that already rises it is the curve."""
    rising = np.maximum.accumulate(curve, axis=-1)
    floor = np.flip(np.minimum.accumulate(np.flip(curve, -1), axis=-1), -1)
    return (rising + floor) / 2


def invert(sizes, curve: np.ndarray, target: np.ndarray) -> np.ndarray:
    """log2 of the n per label at which the monotone curve reaches `target`, per row;
    -inf below the smallest point, +inf above the largest. Vectorised over rows."""
    x = np.log2(np.asarray(sizes, dtype=float))
    target = np.atleast_1d(np.asarray(target, dtype=float))
    curve = np.broadcast_to(monotone(np.atleast_2d(curve)), (len(target), len(x)))
    reached = curve >= target[:, None]
    first = reached.argmax(axis=-1)  # the first point at or above the target
    rows = np.arange(len(target))
    upper, lower = curve[rows, first], curve[rows, np.maximum(first - 1, 0)]
    step = np.where(upper > lower, (target - lower) / np.where(upper > lower, upper - lower, 1), 1)
    found = np.where(first == 0, x[0], x[np.maximum(first - 1, 0)]
                     + step * (x[first] - x[np.maximum(first - 1, 0)]))
    found = np.where(target < curve[:, 0], -np.inf, found)
    return np.where(~reached.any(axis=-1), np.inf, found)


@dataclass
class Equivalent:
    """Real texts per label worth as much as a synthetic source: `value` and its interval
    (None where they leave the curve), `position` within, below or above the curve."""

    value: float | None
    low: float | None
    high: float | None
    smallest: int
    largest: int
    position: str
    covers: str = ""

    @property
    def reading(self) -> str:
        if self.value is None:
            return (f"{self.position} the real curve's {'smallest' if self.position == BELOW else 'largest'} "
                    f"point ({self.smallest} to {self.largest} per label)")
        low = f"{self.low:.0f}" if self.low is not None else f"below {self.smallest}"
        high = f"{self.high:.0f}" if self.high is not None else f"above {self.largest}"
        return f"{self.value:.0f} real per label ({low} to {high})"


WITHIN, BELOW, ABOVE = "within", "below", "above"


def _as_size(log2: float) -> float | None:
    return None if not np.isfinite(log2) else float(2 ** log2)


def nearest(sizes: list[int], log2: float) -> int:
    """The index of the grid point nearest a log2 size (the ends outside the grid)."""
    return int(np.argmin(np.abs(np.log2(sizes) - np.clip(log2, np.log2(sizes[0]),
                                                         np.log2(sizes[-1])))))


def real_equivalent(book: evidence.Resamples, sizes: list[int], real: list[evidence.Runs],
                    source: evidence.Runs, reference: evidence.Runs | None = None) -> Equivalent:
    """`real[k]`: the runs at `sizes[k]` (drawn per seed); `source`: the synthetic
    source's runs; all on the book's test texts. A fixed source carries one training
    draw's spread from `reference` (the size-matched real draws: a set of its size
    varies as much), else from the curve point nearest its equivalent."""
    curve = np.array([evidence.mean_point(book, runs) for runs in real])
    point = invert(sizes, curve[None], np.array([evidence.mean_point(book, source)]))[0]
    if reference is None or len(reference) < 2:
        reference = real[nearest(sizes, point)]
    resampled_curve = np.stack([book.seed_mean(runs) for runs in real], axis=-1)
    found = invert(sizes, resampled_curve, book.replicate(source, reference))
    # Finite stand-ins keep the percentile arithmetic defined; only order matters.
    low, high = evidence.percentiles(np.clip(found, np.log2(sizes[0]) - 1,
                                             np.log2(sizes[-1]) + 1))
    low = low if low >= np.log2(sizes[0]) else -np.inf
    high = high if high <= np.log2(sizes[-1]) else np.inf
    position = BELOW if point == -np.inf else ABOVE if point == np.inf else WITHIN
    return Equivalent(_as_size(point), _as_size(low), _as_size(high), sizes[0], sizes[-1],
                      position, book.covers(source, reference))


def curve_point(book: evidence.Resamples, runs: evidence.Runs) -> dict[str, float | str]:
    """macro_f1 (mean over seeds) | macro_f1_std | low | high | covers of one point."""
    f1 = [book.point(p) for p in runs.predictions]
    found = evidence.score(book, runs)
    return {"macro_f1": float(np.mean(f1)),
            "macro_f1_std": float(np.std(f1, ddof=1)) if len(f1) > 1 else 0.0,
            "low": found.low, "high": found.high, "covers": found.covers}


# -- the tables --------------------------------------------------------------------------
@dataclass
class Point:
    """One point of a curve: the predictions of each seed trained there."""

    curve: str  # REAL_CURVE or a training source
    classifier: str
    n_per_label: int
    share: float  # of the source's rows (1.0 on the real curve)
    n_train: int
    runs: evidence.Runs


def curve_rows(task: str, book: evidence.Resamples, points: list[Point]) -> list[dict]:
    """`learning_curves` rows of every point."""
    return [{"task": task, "curve": p.curve, "classifier": p.classifier,
             "n_per_label": p.n_per_label, "share": p.share, "n_train": p.n_train,
             "seeds": len(p.runs), "n_test": book.n_test,
             **curve_point(book, p.runs)} for p in points]


def equivalent_rows(task: str, book: evidence.Resamples, points: list[Point],
                    sources: dict[tuple[str, str], evidence.Runs]) -> list[dict]:
    """`real_equivalents` rows: every synthetic source (`sources[source, classifier]`)
    against the real curve of its classifier."""
    curve_of: dict[str, list[Point]] = {}
    for p in sorted(points, key=lambda p: p.n_per_label):
        if p.curve == REAL_CURVE:
            curve_of.setdefault(p.classifier, []).append(p)
    rows = []
    for (source, classifier), runs in sources.items():
        real = curve_of.get(classifier, [])
        if source in NOT_SYNTHETIC or len(real) < 2:
            continue
        sizes = [p.n_per_label for p in real]
        found = real_equivalent(book, sizes, [p.runs for p in real], runs,
                                evidence.reference_of(source, sources, classifier))
        rows.append({"task": task, "train_source": source, "classifier": classifier,
                     "seeds": len(runs), "macro_f1": evidence.mean_point(book, runs),
                     "equivalent": found.value, "low": found.low, "high": found.high,
                     "position": found.position, "reading": found.reading,
                     "smallest": sizes[0], "largest": sizes[-1], "n_test": book.n_test,
                     "covers": found.covers})
    return rows
