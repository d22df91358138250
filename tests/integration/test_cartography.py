"""Dataset cartography finds planted mislabelled rows: fine-tuned on real texts with a
share of labels flipped, those rows end low on the data map."""

import numpy as np

from synthlake.catalog import get_task
from synthlake.evaluation import cartography
from synthlake.evaluation.train import FineTuner, Split, TrainConfig
from synthlake.realdata import load_real

PER_LABEL, FLIPPED = 100, 20  # per label; flipped rows per label


def test_planted_mislabelled_rows_land_in_the_low_confidence_region():
    spec = get_task("sms_spam")
    real = load_real(spec).examples.to_pandas()
    train = (real[real["split"] == "train"].sample(frac=1.0, random_state=0)
             .groupby("label").head(PER_LABEL).reset_index(drop=True))
    index = {label: i for i, label in enumerate(spec.label_names)}
    gold = train["label"].map(index).to_numpy()
    planted = np.zeros(len(train), dtype=bool)
    for label in spec.label_names:
        planted[np.flatnonzero(train["label"] == label)[:FLIPPED]] = True
    given = np.where(planted, 1 - gold, gold)  # two labels: the other one
    model = FineTuner(spec, TrainConfig(), seed=0)  # the default fine-tuning: 3 epochs
    model.fit(Split(train["text"].tolist(), given.tolist()), Split([], []))
    found = cartography.measures(np.array(model.epoch_p), np.array(model.epoch_correct))
    assert len(model.epoch_p) == 3
    hard = found["region"] == "hard"  # the low-confidence region
    assert hard[planted].mean() >= 0.75, found[planted].describe()
    assert hard[~planted].mean() <= 0.1, found[~planted].describe()
    assert found.loc[planted, "confidence"].median() < found.loc[~planted, "confidence"].median() - 0.15
