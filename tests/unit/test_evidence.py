"""Bootstrap intervals and paired comparisons on simulated predictions."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from synthlake import evidence

# A 3-label classifier: P(predicted | gold), rows gold, columns predicted.
CONFUSION = np.array([[0.80, 0.15, 0.05],
                      [0.10, 0.70, 0.20],
                      [0.05, 0.25, 0.70]])
PRIOR = np.array([0.5, 0.3, 0.2])


def simulate(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    gold = rng.choice(3, size=n, p=PRIOR)
    predicted = (rng.random(n)[:, None] > CONFUSION[gold].cumsum(axis=1)).sum(axis=1)
    return gold, predicted


def true_macro_f1() -> float:
    """Macro-F1 of the population: F1 is a ratio of counts, so expected proportions give
    its limit."""
    joint = PRIOR[:, None] * CONFUSION
    tp = np.diag(joint)
    return float(np.mean(2 * tp / (2 * tp + (joint.sum(0) - tp) + (joint.sum(1) - tp))))


def test_macro_f1_is_scikit_learns_also_for_a_label_never_seen():
    rng = np.random.default_rng(0)
    gold, predicted = simulate(rng, 200)
    predicted[predicted == 2] = 1  # label 2 never predicted
    expected = f1_score(gold, predicted, labels=[0, 1, 2, 3], average="macro", zero_division=0)
    assert evidence.macro_f1(gold, predicted, 4) == pytest.approx(expected)
    batch = np.stack([predicted, gold])  # resamples on a leading axis
    assert evidence.macro_f1(gold, batch, 4)[1] == pytest.approx(0.75)  # 3 of 4 labels perfect


def test_the_95_interval_covers_the_true_macro_f1_in_95_of_400_simulations():
    rng, truth = np.random.default_rng(1), true_macro_f1()
    covered = 0
    for i in range(400):
        gold, predicted = simulate(rng, 400)
        found = evidence.score_intervals(gold, predicted, 3, seed=i)
        covered += found["macro_f1_low"] <= truth <= found["macro_f1_high"]
        assert found["accuracy_low"] < found["accuracy_high"]
    assert 0.92 <= covered / 400 <= 0.98, covered / 400


def test_the_paired_test_finds_a_planted_5_point_difference_and_none_where_there_is_none():
    rng = np.random.default_rng(2)
    gold, better = simulate(rng, 1000)
    worse = better.copy()
    right = np.flatnonzero(better == gold)
    spoiled = rng.choice(right, size=60, replace=False)
    worse[spoiled] = (gold[spoiled] + 1) % 3
    gap = evidence.macro_f1(gold, better, 3) - evidence.macro_f1(gold, worse, 3)
    assert 0.04 <= gap <= 0.07
    found = evidence.paired_difference(gold, [better], [worse], 3)
    assert found.distinguishable and found.p_value < 0.01 and found.low > 0.02
    assert found.difference == pytest.approx(gap) and found.n_test == 1000
    same = evidence.paired_difference(gold, [better, worse], [better, worse], 3)
    assert not same.distinguishable and same.p_value == 1.0 and same.difference == 0.0


def test_every_source_is_compared_with_its_baselines_under_the_same_classifier():
    rng = np.random.default_rng(3)
    gold, good = simulate(rng, 300)
    noisy = np.where(rng.random(300) < 0.3, (good + 1) % 3, good)
    fixed, draws = evidence.Runs([good], False), evidence.Runs([noisy, noisy], True)
    runs = {("real_full", "logreg"): fixed, ("real", "logreg"): draws,
            ("few_shot", "logreg"): evidence.Runs([noisy], False),
            ("few_shot_unfiltered", "logreg"): evidence.Runs([noisy], True),
            ("few_shot", "finetune"): evidence.Runs([good, noisy], False)}
    rows = evidence.comparisons("t", evidence.Resamples(gold, 3), runs)
    pairs = {(r["train_source"], r["classifier"], r["baseline"]): r for r in rows}
    assert set(pairs) == {("real", "logreg", "real_full"), ("few_shot", "logreg", "real"),
                          ("few_shot", "logreg", "real_full"),
                          ("few_shot", "logreg", "few_shot_unfiltered"),
                          ("few_shot_unfiltered", "logreg", "real"),
                          ("few_shot_unfiltered", "logreg", "real_full")}
    worse = pairs["few_shot", "logreg", "real_full"]
    assert worse["distinguishable"] and worse["high"] < 0 and worse["seeds"] == 1
    same = pairs["few_shot", "logreg", "few_shot_unfiltered"]
    assert not same["distinguishable"] and same["difference"] == 0.0
    assert "one training draw's spread (from 2 real draws)" in worse["covers"]
    assert pairs["real", "logreg", "real_full"]["covers"].startswith(
        "A: 300 test texts resampled x 2 training draws resampled")
