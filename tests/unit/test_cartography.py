"""The data map's measures from per-epoch probabilities."""

import numpy as np

from synthlake.evaluation import cartography


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


def test_the_data_map_draws_real_and_synthetic_rows_in_their_colours(tmp_path):
    import matplotlib.image as mpimg
    import pandas as pd

    from synthlake.analysis import plots

    rng = np.random.default_rng(0)
    rows = pd.DataFrame({
        "train_source": "real_small+few_shot", "seed": 0,
        "origin": ["real"] * 40 + ["few_shot"] * 40,
        "variability": rng.uniform(0, 0.4, 80), "confidence": rng.uniform(0, 1, 80)})
    image = mpimg.imread(plots.data_map(rows, "t", tmp_path / "map.png"))[..., :3]
    for colour in (plots.ORIGIN_COLOURS["real"], plots.ORIGIN_COLOURS["few_shot"]):
        rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        rgb = 0.6 * rgb + 0.4  # drawn at alpha 0.6 on white
        near = np.abs(image - rgb).max(axis=-1) < 0.08
        assert near.sum() > 50, colour
    empty = mpimg.imread(plots.data_map(rows.iloc[:0], "t", tmp_path / "none.png"))
    assert np.abs(empty[..., 0] - empty[..., 2]).max() < 0.2, "no points, no colour"
