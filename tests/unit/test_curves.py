"""Learning curves and the real-data equivalent, on planted curves."""

import numpy as np
import pandas as pd
import pytest

from synthlake import evidence
from synthlake.evaluation import curves
from synthlake.evidence import Runs

SIZES = [4, 8, 16, 32, 64, 128]
PER_CLASS = 1000  # two balanced classes


def planted(n: float) -> float:
    """The planted real curve: macro-F1 rises by 0.06 per doubling of n per label."""
    return 0.55 + 0.06 * np.log2(n)


def predictions(score: float, rng, per_class: int = PER_CLASS) -> np.ndarray:
    """Binary predictions whose macro-F1 is `score` exactly (up to one text): the same
    number of errors in each class makes precision = recall = accuracy for both."""
    gold = np.repeat([0, 1], per_class)
    wrong = round((1 - score) * per_class)
    predicted = gold.copy()
    for label in (0, 1):
        flip = rng.choice(np.flatnonzero(gold == label), wrong, replace=False)
        predicted[flip] = 1 - label
    return predicted


GOLD = np.repeat([0, 1], PER_CLASS)


def book(seed: int = 0) -> evidence.Resamples:
    return evidence.Resamples(GOLD, 2, seed)


def drawn(found: list) -> Runs:
    return Runs(found, drawn=True)


def test_inversion_returns_a_planted_value_on_a_monotone_curve():
    curve = np.array([planted(n) for n in SIZES])
    for n in (4, 5.5, 20, 45, 128):
        assert 2 ** curves.invert(SIZES, curve, planted(n))[0] == pytest.approx(n, rel=1e-9)


def test_outside_the_curve_is_said_never_extrapolated():
    curve = np.array([planted(n) for n in SIZES])
    found = curves.invert(SIZES, curve, np.array([planted(2), planted(500)]))
    assert found.tolist() == [-np.inf, np.inf]


def test_a_dip_is_smoothed_into_a_monotone_curve():
    dipped = np.array([[0.5, 0.7, 0.6, 0.8], [0.9, 0.1, 0.2, 0.3]])
    made = curves.monotone(dipped)
    assert (np.diff(made, axis=-1) >= 0).all()
    assert curves.monotone(np.array([0.1, 0.2, 0.4])).tolist() == [0.1, 0.2, 0.4]


@pytest.mark.parametrize("planted_n", [11, 20, 90])
def test_the_equivalent_of_simulated_predictions_recovers_the_planted_size(planted_n):
    rng = np.random.default_rng(planted_n)
    real = [drawn([predictions(planted(n), rng) for _ in range(3)]) for n in SIZES]
    source = drawn([predictions(planted(planted_n), rng) for _ in range(3)])
    found = curves.real_equivalent(book(), SIZES, real, source)
    assert found.position == curves.WITHIN
    assert found.value == pytest.approx(planted_n, rel=0.05)
    assert found.low < planted_n < found.high
    assert found.high / found.low < 2, "2,000 test texts pin it within a doubling"
    assert found.reading.startswith(f"{found.value:.0f} real per label (")


def test_a_source_below_or_above_the_curve_reads_so():
    rng = np.random.default_rng(1)
    real = [drawn([predictions(planted(n), rng)]) for n in SIZES]
    below = curves.real_equivalent(book(), SIZES, real, drawn([predictions(0.52, rng)]))
    above = curves.real_equivalent(book(), SIZES, real, drawn([predictions(0.99, rng)]))
    assert (below.value, below.position) == (None, curves.BELOW)
    assert below.reading == "below the real curve's smallest point (4 to 128 per label)"
    assert (above.value, above.high, above.position) == (None, None, curves.ABOVE)
    assert above.reading.startswith("above the real curve's largest point")


def test_an_interval_leaving_the_curve_is_open_on_that_side():
    rng = np.random.default_rng(2)
    real = [drawn([predictions(planted(n), rng)]) for n in SIZES]
    near_top = curves.real_equivalent(book(), SIZES, real, drawn([predictions(planted(124), rng)]))
    assert near_top.high is None and near_top.reading.endswith("to above 128)")


def test_grid_doubles_up_to_the_cap_or_all_the_data():
    assert curves.grid(largest=1000, cap=64) == [4, 8, 16, 32, 64]
    assert curves.grid(largest=40, cap=256) == [4, 8, 16, 32, 40]
    assert curves.grid(largest=40) == [4, 8, 16, 32, 40]  # the last point: every real text
    assert curves.grid(largest=3, cap=256) == []


# A world where the answer is known: a classifier trained on a random draw of n texts per
# label scores planted(n) plus the luck of its draw (DRAW_SD, as large as small-n draws
# are), then the test texts add their own noise.
DRAW_SD = 0.04
K = 5  # draws per curve point
SMALL = 200  # test texts per class in these trials: fewer, so 100 trials take seconds


def one_draw(n: float, rng) -> np.ndarray:
    return predictions(float(np.clip(planted(n) + rng.normal(0, DRAW_SD), 0.5, 1.0)), rng,
                       SMALL)


def small_book(seed: int) -> evidence.Resamples:
    return evidence.Resamples(np.repeat([0, 1], SMALL), 2, seed, resamples=400)


def test_the_equivalent_of_one_fixed_set_covers_its_true_size_in_90_of_100_trials():
    """The synthetic set is one draw of 30 texts per label (a fixed set, one run); its
    interval covers 30 when it carries one draw's spread, and not when it covers the
    test texts alone."""
    covered = test_only = 0
    trials = 100
    for trial in range(trials):
        rng = np.random.default_rng(100 + trial)
        real = [drawn([one_draw(n, rng) for _ in range(K)]) for n in SIZES]
        fixed = Runs([one_draw(30, rng)], drawn=False)
        matched = drawn([one_draw(30, rng) for _ in range(K)])  # real draws of its size
        found = curves.real_equivalent(small_book(trial), SIZES, real, fixed, matched)
        low, high = found.low or 0, found.high or np.inf
        covered += low <= 30 <= high
        assert "one training draw's spread (from 5 real draws)" in found.covers
        naive = curves.real_equivalent(small_book(trial), SIZES, real, drawn(fixed.predictions))
        test_only += (naive.low or 0) <= 30 <= (naive.high or np.inf)
    assert covered / trials >= 0.9, covered
    assert test_only / trials < 0.8, f"test-set noise alone covers {test_only} (spread: {covered})"


def test_a_fixed_sets_score_interval_covers_its_generators_mean_in_90_of_100_trials():
    covered = 0
    for trial in range(100):
        rng = np.random.default_rng(500 + trial)
        matched = drawn([one_draw(30, rng) for _ in range(K)])
        found = evidence.score(small_book(trial), Runs([one_draw(30, rng)], drawn=False), matched)
        covered += found.low <= planted(30) <= found.high
    assert covered >= 90, covered



def test_samples_are_nested_and_per_label():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(60)],
                          "label": ["a"] * 40 + ["b"] * 20})
    small, large = (curves.nested_sample(frame, n, seed=3) for n in (8, 16))
    assert small["label"].value_counts().to_dict() == {"a": 8, "b": 8}
    assert set(small.text) <= set(large.text)
    half = curves.share_sample(frame, 0.5, seed=3)
    assert half["label"].value_counts().to_dict() == {"a": 20, "b": 10}
    assert curves.per_label(half) == 15


def test_the_learning_curve_plot_draws_the_band_the_source_and_its_equivalent(tmp_path):
    import matplotlib.colors
    import matplotlib.image

    from synthlake.analysis import plots

    points = pd.DataFrame(
        [{"curve": "real", "classifier": "logreg", "n_per_label": n, "share": 1.0,
          "macro_f1": planted(n), "low": planted(n) - 0.03, "high": planted(n) + 0.03}
         for n in SIZES]
        + [{"curve": "few_shot", "classifier": "logreg", "n_per_label": int(30 * s), "share": s,
            "macro_f1": planted(10 * s), "low": planted(10 * s) - 0.05,
            "high": planted(10 * s) + 0.05} for s in (0.25, 0.5, 1.0)])
    worth = pd.DataFrame([{"train_source": "few_shot", "classifier": "logreg",
                           "macro_f1": planted(10), "equivalent": 10.0,
                           "reading": "10 real per label (8 to 13)"}])
    path = plots.learning_curves(points, worth, "t", tmp_path / "curve.png")
    pixels = matplotlib.image.imread(path)[..., :3]
    for origin in ("real", "few_shot"):
        rgb = np.array(matplotlib.colors.to_rgb(plots.ORIGIN_COLOURS[origin]))
        assert (np.abs(pixels - rgb).sum(-1) < 0.05).sum() > 100, origin
