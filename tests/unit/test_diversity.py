import math

import numpy as np
import pytest

from synthlake.measures import diversity as dv


@pytest.mark.parametrize(("n", "d", "seed"), [(2, 3, 0), (7, 5, 1), (300, 384, 2), (1500, 64, 3)])
def test_fast_metrics_match_brute_force(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    assert dv.remote_clique(x) == pytest.approx(dv.remote_clique_reference(x), abs=1e-6)
    assert dv.chamfer(x) == pytest.approx(dv.chamfer_reference(x), abs=1e-6)


def test_blocks_smaller_than_n_give_the_same_chamfer(monkeypatch):
    x = np.random.default_rng(4).normal(size=(700, 16)).astype(np.float32)
    whole = dv.chamfer(x)
    monkeypatch.setattr(dv, "BLOCK_BYTES", 64 * 4 * 700)  # 64 rows per block
    assert dv.chamfer(x) == pytest.approx(whole, abs=1e-7)


def test_hand_computed_tiny_case():
    # Three unit vectors: e1, e2 and (e1+e2)/sqrt2.
    x = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    c = 1 - 1 / math.sqrt(2)  # distance between e1 and the diagonal
    # remote clique: e1 -> (1 + c)/2, e2 -> (1 + c)/2, diagonal -> (c + c)/2
    assert dv.remote_clique(x) == pytest.approx(((1 + c) + c) / 3, abs=1e-6)
    # chamfer: every point's nearest other point is at distance c
    assert dv.chamfer(x) == pytest.approx(c, abs=1e-6)


def test_small_n_and_duplicates_policy():
    assert math.isnan(dv.remote_clique(np.zeros((0, 3)))) and math.isnan(dv.chamfer(np.zeros((0, 3))))
    one = np.array([[1.0, 2.0]])
    assert math.isnan(dv.remote_clique(one)) and math.isnan(dv.chamfer(one))
    two = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert dv.remote_clique(two) == pytest.approx(1.0) and dv.chamfer(two) == pytest.approx(1.0)
    dup = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert dv.chamfer(dup) == pytest.approx((0 + 0 + 1) / 3, abs=1e-6), "a copy is another instance"
    with pytest.raises(ValueError, match="zero vector"):
        dv.chamfer(np.array([[0.0, 0.0], [1.0, 0.0]]))


def test_top_k_similarity_to_real():
    real = np.array([[1.0, 0.0]])
    corpus = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # top-2 similarities of e1: 1 and 1/sqrt2
    assert dv.mean_top_k_similarity(real, corpus, k=2) == pytest.approx((1 + 1 / math.sqrt(2)) / 2)
    assert dv.mean_top_k_similarity(real, corpus, k=5) == pytest.approx((1 + 0 + 1 / math.sqrt(2)) / 3)


def test_subsample_is_seeded_and_sorted():
    a, b = dv.subsample(100, 10, 3), dv.subsample(100, 10, 3)
    assert (a == b).all() and len(set(a)) == 10 and (np.diff(a) > 0).all()
    assert (dv.subsample(5, 10, 0) == np.arange(5)).all()


def test_jackknife_leave_one_out_values_are_exact():
    """The closed forms equal leaving each row out and measuring again."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 8))
    x[5] = x[4]  # a repeat: its nearest is at distance 0
    found = dv.jackknife_intervals(x)
    for name, measure in (("remote_clique", dv.remote_clique_reference),
                          ("chamfer", dv.chamfer_reference)):
        loo = np.array([measure(np.delete(x, k, axis=0)) for k in range(len(x))])
        se = np.sqrt((len(x) - 1) / len(x) * np.sum((loo - loo.mean()) ** 2))
        full = measure(x)
        assert found[f"{name}_low"] == pytest.approx(full - 1.96 * se, abs=1e-6)
        assert found[f"{name}_high"] == pytest.approx(full + 1.96 * se, abs=1e-6)
    assert np.isnan(dv.jackknife_intervals(x[:2])["chamfer_low"])


def test_jackknife_intervals_cover_the_population_value():
    """Samples of 80 from a population of clustered texts: the remote-clique interval
    covers the population's value in about 95% of 300 draws."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    population = centres[rng.integers(0, 6, 4000)] + rng.normal(scale=0.8, size=(4000, 16))
    truth = dv.remote_clique(population)
    covered = []
    for _ in range(300):
        sample = population[rng.choice(4000, 80, replace=False)]
        found = dv.jackknife_intervals(sample)
        covered.append(found["remote_clique_low"] <= truth <= found["remote_clique_high"])
    assert 0.90 <= np.mean(covered) <= 0.99
