"""The data map's measures from per-epoch probabilities."""

import numpy as np

from synthlake import cartography


def test_confidence_variability_and_regions():
    epoch_p = np.array([[0.9, 0.1, 0.4, 0.6, 0.1],
                        [0.95, 0.15, 0.95, 0.5, 0.9],
                        [0.97, 0.05, 0.9, 0.55, 0.2]])  # epochs x rows
    correct = epoch_p > 0.5
    found = cartography.measures(epoch_p, correct)
    assert np.allclose(found["confidence"], epoch_p.mean(axis=0))
    assert np.allclose(found["variability"], epoch_p.std(axis=0))
    assert found["correctness"].tolist() == [1.0, 0.0, 2 / 3, 2 / 3, 1 / 3]
    assert found["region"].tolist() == ["easy", "hard", "ambiguous", "easy", "hard"]
