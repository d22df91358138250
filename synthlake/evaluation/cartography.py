"""Dataset cartography (Swayamdipta et al., EMNLP 2020): where each training row sits on
the map of its training dynamics.

While a classifier is fine-tuned, the probability it gives each training row's label is
read off the training pass of every epoch, as the paper does (`train.FineTuner`).
Over the epochs:

    confidence   mean of those probabilities
    variability  their standard deviation (population, as in the paper)
    correctness  share of epochs in which the row's label was the prediction

and the row's region of the data map:

    hard           confidence < HARD_CONFIDENCE: the model mostly reads another label in
                   it (the low-confidence region, where mislabelled rows land)
    ambiguous      otherwise, variability >= AMBIGUOUS_VARIABILITY (the model keeps
                   changing its mind)
    easy           the rest (consistently its label)

The thresholds are fixed, not quantiles of the run, so a set that is all easy says so.

`training_dynamics` columns (partitioned by task; one row per training row of a
fine-tuned run):

    task | train_source | classifier | seed | example_id | origin (real or a method) |
    label | epoch_p (list, one per epoch) | confidence | variability | correctness |
    region | run_id
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthlake.vocabulary import Region

AMBIGUOUS_VARIABILITY = 0.2
HARD_CONFIDENCE = 0.5


def measures(epoch_p: np.ndarray, epoch_correct: np.ndarray) -> pd.DataFrame:
    """confidence | variability | correctness | region, one row per column of the
    (epochs x rows) arrays: the probability of the row's label, and whether it was the
    prediction, in each epoch's training pass."""
    confidence = epoch_p.mean(axis=0)
    variability = epoch_p.std(axis=0)
    region = np.where(confidence < HARD_CONFIDENCE, Region.HARD.value,
                      np.where(variability >= AMBIGUOUS_VARIABILITY, Region.AMBIGUOUS.value,
                               Region.EASY.value))
    return pd.DataFrame({"confidence": confidence, "variability": variability,
                         "correctness": epoch_correct.mean(axis=0), "region": region})


def dynamics_rows(epoch_p: np.ndarray, epoch_correct: np.ndarray, rows: pd.DataFrame,
                  run: dict) -> list[dict]:
    """`training_dynamics` rows of one run: `rows` (example_id | label | origin) in the
    order of the arrays' columns, `run` the task, source, classifier and seed."""
    found = pd.concat([rows[["example_id", "label", "origin"]].reset_index(drop=True),
                       measures(epoch_p, epoch_correct)], axis=1)
    found["epoch_p"] = [list(map(float, column)) for column in epoch_p.T]
    return [{**run, **row} for row in found.to_dict("records")]
