"""Learning curves, and what a synthetic set is worth in real labelled examples.

The real curve trains the same classifier, with the same seeds, on n real texts per label
for n on a doubling grid (4, 8, 16, ... up to `TrainConfig.curve_max_per_label`); the
samples are nested (each seed shuffles every label's texts once and takes the first n),
so a point differs from the next only by the added texts. Each generated source's own
curve trains on 25% and 50% of its rows (`curve_shares`; 100% is its main run): whether
more synthetic data would still help.

The **real-data equivalent** of a synthetic source is the number of real texts per label
at which the real curve reaches the source's macro-F1. The curve is first made monotone
(`monotone`: the mean of its running maximum from the left and its running minimum from
the right, equal to the curve wherever it already rises), then inverted by linear
interpolation in log2(n), the grid's own scale. A score below the curve's smallest point
or above its largest is said as such, never extrapolated. Its 95% interval comes from the
same test-set bootstrap as every other figure (`evidence`): each resample rescores the
whole curve and the source on the same resampled texts and inverts again.

`learning_curves` rows (one per curve point, pooled over seeds):

    task | curve (real or a source) | classifier | n_per_label | share | n_train | seeds |
    macro_f1 (mean over seeds) | macro_f1_std | low | high (95% bootstrap of the mean) |
    n_test

`real_equivalents` rows (one per synthetic source and classifier):

    task | train_source | classifier | seeds | macro_f1 | equivalent (real texts per label;
    null outside the curve) | low | high (null where the interval leaves the curve) |
    position (within, below or above the curve) | reading (the sentence the report
    prints) | smallest | largest (the curve's grid) | n_test
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
NOT_SYNTHETIC = (TrainSource.REAL, TrainSource.REAL_FULL)


def grid(largest: int, cap: int) -> list[int]:
    """4, 8, 16, ... up to min(cap, the largest label's texts); empty below 4."""
    top = min(cap, largest)
    return [SMALLEST * 2 ** k for k in range(32) if SMALLEST * 2 ** k <= top]


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


def real_equivalent(gold, sizes: list[int], real_runs: list[list], source_runs: list,
                    n_labels: int, seed: int = 0,
                    resamples: int = evidence.RESAMPLES) -> Equivalent:
    """`real_runs[k]`: the predictions of each seed at `sizes[k]`; `source_runs`: each
    seed's predictions of the synthetic source; all on the same test texts."""
    counts = [len(runs) for runs in real_runs]
    arrays = [np.asarray(gold)] + [np.asarray(p) for runs in real_runs for p in runs] \
        + [np.asarray(p) for p in source_runs]

    def scores(g, *predictions):
        """(curve: ... x points, target: ...) on the given (resampled) texts."""
        f1 = [evidence.macro_f1(g, p, n_labels) for p in predictions]
        points, start = [], 0
        for k in counts:
            points.append(np.mean(f1[start:start + k], axis=0))
            start += k
        return np.stack(points, axis=-1), np.mean(f1[start:], axis=0)

    curve, target = scores(*arrays)
    point = invert(sizes, curve[None], np.array([target]))[0]

    def statistic(g, *predictions, axis=-1):
        resampled_curve, resampled_target = scores(g, *predictions)
        # Finite stand-ins keep the percentile arithmetic defined; only order matters.
        found = invert(sizes, resampled_curve, resampled_target)
        return np.clip(found, np.log2(sizes[0]) - 1, np.log2(sizes[-1]) + 1)

    interval = evidence.bootstrap(tuple(arrays), statistic, seed, resamples).confidence_interval
    low = interval.low if interval.low >= np.log2(sizes[0]) else -np.inf
    high = interval.high if interval.high <= np.log2(sizes[-1]) else np.inf
    position = BELOW if point == -np.inf else ABOVE if point == np.inf else WITHIN
    return Equivalent(_as_size(point), _as_size(low), _as_size(high), sizes[0], sizes[-1],
                      position)


def curve_point(gold, runs: list, n_labels: int, seed: int = 0) -> dict[str, float]:
    """macro_f1 (mean over seeds) | macro_f1_std | low | high of one curve point."""
    arrays = (np.asarray(gold), *map(np.asarray, runs))

    def statistic(g, *predictions, axis=-1):
        return np.mean([evidence.macro_f1(g, p, n_labels) for p in predictions], axis=0)

    f1 = [float(evidence.macro_f1(arrays[0], p, n_labels)) for p in arrays[1:]]
    interval = evidence.bootstrap(arrays, statistic, seed).confidence_interval
    return {"macro_f1": float(np.mean(f1)),
            "macro_f1_std": float(np.std(f1, ddof=1)) if len(f1) > 1 else 0.0,
            "low": float(interval.low), "high": float(interval.high)}


# -- the tables --------------------------------------------------------------------------
@dataclass
class Point:
    """One point of a curve: the predictions of each seed trained there."""

    curve: str  # REAL_CURVE or a training source
    classifier: str
    n_per_label: int
    share: float  # of the source's rows (1.0 on the real curve)
    n_train: int
    runs: list


def curve_rows(task: str, gold, n_labels: int, points: list[Point]) -> list[dict]:
    """`learning_curves` rows of every point."""
    return [{"task": task, "curve": p.curve, "classifier": p.classifier,
             "n_per_label": p.n_per_label, "share": p.share, "n_train": p.n_train,
             "seeds": len(p.runs), "n_test": len(gold),
             **curve_point(gold, p.runs, n_labels)} for p in points]


def equivalent_rows(task: str, gold, n_labels: int, points: list[Point],
                    sources: dict[tuple[str, str], list]) -> list[dict]:
    """`real_equivalents` rows: every synthetic source (`sources[source, classifier]`:
    its seeds' predictions) against the real curve of its classifier."""
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
        found = real_equivalent(gold, sizes, [p.runs for p in real], runs, n_labels)
        score = float(np.mean([evidence.macro_f1(np.asarray(gold), np.asarray(r), n_labels)
                               for r in runs]))
        rows.append({"task": task, "train_source": source, "classifier": classifier,
                     "seeds": len(runs), "macro_f1": score, "equivalent": found.value,
                     "low": found.low, "high": found.high, "position": found.position,
                     "reading": found.reading, "smallest": sizes[0], "largest": sizes[-1],
                     "n_test": len(gold)})
    return rows
