"""How far a pairwise task ranking can be trusted: the judge's consistency, its position
bias, and the spread of each task's Bradley-Terry score.

A judge that is asked each pair in both orders (A vs B, then B vs A) and names the same
task both times is consistent on that pair; one that names whichever task comes first
(or second) every time is not, whatever it "prefers". So:

    consistency     share of pairs asked in both orders whose winner survives the swap
                    (a tie or an unparsable answer in either order is not consistent);
                    None when no pair was asked in both orders (people see one order)
    position_first  share of the decided answers that named the task shown first
                    (0.5: no position bias; 1.0: always the first)
    signal          consistency >= `SIGNAL_CONSISTENCY` (default 0.6), or no consistency
                    to measure (judgments from people count as signal)

Below the threshold the ranking is labelled "no signal": no rank and no stars are drawn
from it. The interval of each task's score resamples the judgments (seeded, pairs of
orders kept together) and refits Bradley-Terry each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SIGNAL_CONSISTENCY = 0.6
RESAMPLES = 500
NO_SIGNAL = "no signal"


@dataclass
class Reliability:
    consistency: float | None
    pairs_both_orders: int
    position_first: float | None
    decided: int

    def signal(self, threshold: float = SIGNAL_CONSISTENCY) -> bool:
        return self.consistency is None or self.consistency >= threshold


def order_units(judgments: pd.DataFrame) -> pd.Series:
    """An id per judgment such that the k-th answer to (a, b) and the k-th to (b, a) of
    one judge share it: the unit a swap test (and the bootstrap) works on."""
    pair = [tuple(sorted(ab)) for ab in zip(judgments["task_a"], judgments["task_b"],
                                            strict=True)]
    ordered = judgments.assign(_pair=pair)
    k = ordered.groupby(["judge_id", "task_a", "task_b"]).cumcount()
    return ordered["judge_id"].astype(str) + "|" + ordered["_pair"].astype(str) + "|" \
        + k.astype(str)


def measure(judgments: pd.DataFrame) -> Reliability:
    """Consistency and position bias of a set of judgments (`pairwise_judgments` rows)."""
    units = order_units(judgments)
    both = judgments.assign(_unit=units).groupby("_unit").filter(
        lambda g: len(g) == 2 and g["task_a"].iloc[0] != g["task_a"].iloc[1])
    consistent = both.groupby("_unit")["winner"].agg(
        lambda w: w.iloc[0] == w.iloc[1] and w.iloc[0] != "tie")
    decided = judgments[judgments["winner"] != "tie"]
    return Reliability(
        float(consistent.mean()) if len(consistent) else None, len(consistent),
        float((decided["winner"] == decided["task_a"]).mean()) if len(decided) else None,
        len(decided))


def score_intervals(judgments: pd.DataFrame, tasks: list[str], fit, seed: int = 0,
                    resamples: int = RESAMPLES) -> pd.DataFrame:
    """task | objectivity_low | objectivity_high: 95% percentile intervals of `fit`
    (judgments, tasks) -> scores, over resamples of the order units."""
    units = order_units(judgments)
    groups = [judgments.index[units == u] for u in units.unique()]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        chosen = rng.integers(0, len(groups), len(groups))
        draws.append(fit(judgments.loc[np.concatenate([groups[i] for i in chosen])], tasks)
                     .reindex(tasks).to_numpy())
    low, high = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    return pd.DataFrame({"task": tasks, "objectivity_low": low, "objectivity_high": high})
