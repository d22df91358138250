"""Classifier training: it learns, it is reproducible, and it writes the tables."""

import pandas as pd
import pytest

from synthlake.catalog import get_task
from synthlake.evaluation import train
from synthlake.realdata import write_real_examples

SPEC = get_task("ag_news")  # four balanced classes: chance accuracy is 0.25


@pytest.fixture(scope="module")
def ag_real(tmp_path_factory):
    from synthlake.lake import Lake

    lake = Lake(tmp_path_factory.mktemp("ag") / "lake")
    write_real_examples(lake, SPEC, "r")
    real = lake.read("real_examples", where={"task": "ag_news"}).to_pandas()
    train_rows = real[real.split == "train"].groupby("label").head(60)
    test_rows = real[real.split == "test"].groupby("label").head(50)
    return train_rows, test_rows


def fit_predict(kind, train_rows, test_rows, seed=0, epochs=2):
    config = train.TrainConfig(epochs=epochs, batch_size=16)
    model = {"finetune": train.FineTuner, "logreg": train.EmbeddingLogReg}[kind](SPEC, config, seed)
    fit_rows, val_rows = train.hold_out(train_rows, 0.1, seed)
    model.fit(train.as_split(fit_rows, SPEC), train.as_split(val_rows, SPEC))
    gold = train.as_split(test_rows, SPEC)
    return train.metrics(gold.labels, model.predict(gold.texts), SPEC.label_names), model


@pytest.mark.parametrize("kind", ["finetune", "logreg"])
def test_a_small_training_run_learns(ag_real, kind):
    result, _ = fit_predict(kind, *ag_real, epochs=3)
    assert result["accuracy"] > 0.6, result  # chance is 0.25
    assert set(result["per_class"]) == set(SPEC.label_names)


def test_same_seed_same_metrics(ag_real):
    train_rows, test_rows = ag_real
    first, a = fit_predict("finetune", train_rows.head(80), test_rows, seed=3, epochs=1)
    second, b = fit_predict("finetune", train_rows.head(80), test_rows, seed=3, epochs=1)
    assert first["macro_f1"] == pytest.approx(second["macro_f1"], abs=1e-6)
    assert first["accuracy"] == pytest.approx(second["accuracy"], abs=1e-6)
    weights_a = a.model.classifier.weight.detach().numpy()
    weights_b = b.model.classifier.weight.detach().numpy()
    assert abs(weights_a - weights_b).max() < 1e-6


def test_length_sorted_batches_cover_every_index_once():
    import random

    lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6]
    batches = train.length_sorted_batches(lengths, 4, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(9))
    assert all(max(lengths[i] for i in b) - min(lengths[i] for i in b) <= 3 for b in batches)


def test_validation_split_comes_from_the_training_source():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(40)], "label": ["a", "b"] * 20})
    fit, held = train.hold_out(frame, 0.1, seed=0)
    assert len(held) == 4 and set(held.label) == {"a", "b"}
    assert set(fit.index).isdisjoint(held.index) and len(fit) + len(held) == 40


def test_a_run_writes_intervals_comparisons_curves_and_dynamics_and_runs_logreg_once(tmp_path,
                                                                                   monkeypatch):
    """Real ag_news texts stand in for a few-shot set, a quarter of them filtered out as
    label mismatches: every source is trained, fine-tuning per seed, logreg once; the
    learning curves and real-data equivalents are written. (The shortest real texts: this
    run fine-tunes 16 times and its checks are of structure.)"""
    import logging

    from synthlake import progress, tables
    from synthlake.lake import Lake
    from tests.support.data import write_shortest_real

    write_shortest_real(tmp_path / "data", SPEC, {"train": 150, "test": 30})
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(tmp_path / "data"))
    lake = Lake(tmp_path / "lake")
    write_real_examples(lake, SPEC, "r")
    real = lake.read("real_examples", where={"task": "ag_news"}).to_pandas()
    rows = real[real.split == "train"].groupby("label").tail(16).reset_index(drop=True)
    mismatch = rows.index % 4 == 0
    synthetic = [{"task": "ag_news", "method": "few_shot", "label": r.label, "text": r.text,
                  "example_id": f"s{i}", "status": "rejected" if bad else "accepted",
                  "reason": "label mismatch" if bad else None, "demo_example_ids": []}
                 for i, (r, bad) in enumerate(zip(rows.itertuples(), mismatch, strict=True))]
    lake.write_partition("synthetic_examples", tables.from_rows("synthetic_examples", synthetic),
                         {"task": "ag_news", "method": "few_shot"}, "r")
    config = train.TrainConfig(sources=["real_full", "real", "few_shot", "few_shot_unfiltered"],
                               seeds=[0, 1], epochs=1, max_train_real=100, max_test=120,
                               save_models=False, curve_max_per_label=16, curve_shares=[0.5])
    steps = []
    handler = logging.Handler()
    handler.emit = lambda record: steps.append((record.stage, record.done, record.total))
    with progress.attached(handler):
        frame = train.train_and_evaluate(lake, SPEC, "r", config, log=lambda _: None)
    # One progress step per run trained, in order, ending at the total (the runs
    # trained, where the curve stopped before its estimate).
    done = [d for _, d, _ in steps]
    points = lake.read("learning_curves").to_pandas()
    trained_for_curves = points.loc[(points.curve == "real") | (points.share < 1), "seeds"].sum()
    assert done == sorted(done) and done[-1] == steps[-1][2] == len(frame) + trained_for_curves
    runs = frame.groupby(["train_source", "classifier"]).size().to_dict()
    # A cap on real_full trains `real_capped`, drawn per seed; drawn sources run every
    # seed for both classifiers, the fixed few-shot set once for logreg.
    assert runs == {**{(s, c): 2 for s in ("real_capped", "real", "few_shot_unfiltered")
                       for c in ("finetune", "logreg")},
                    ("few_shot", "finetune"): 2, ("few_shot", "logreg"): 1}
    assert set(frame.class_weight) == {"balanced"}
    kept = frame.loc[frame.train_source == "few_shot"]
    assert (kept.n_train + kept.n_validation == 64 - 16).all(), "the mismatches left out"
    assert ((frame.macro_f1_low <= frame.macro_f1) & (frame.macro_f1 <= frame.macro_f1_high)).all()
    compared = lake.read("comparisons").to_pandas()
    pairs = set(zip(compared.train_source, compared.classifier, compared.baseline, strict=True))
    assert ("few_shot", "finetune", "few_shot_unfiltered") in pairs
    assert ("few_shot", "logreg", "real_capped") in pairs and ("real", "logreg", "real_capped") in pairs
    assert set(compared.loc[compared.classifier == "finetune", "seeds"]) == {2}
    scores = lake.read("source_scores").to_pandas().set_index(["train_source", "classifier"])
    assert scores.loc[("real", "logreg"), "drawn"] and not scores.loc[("few_shot", "logreg"), "drawn"]
    assert "training draws resampled" in scores.loc[("real", "logreg"), "covers"]
    assert "one training draw's spread" in scores.loc[("few_shot", "logreg"), "covers"]
    assert ((scores.low <= scores.macro_f1) & (scores.macro_f1 <= scores.high)).all()
    dynamics = lake.read("training_dynamics").to_pandas()
    assert set(dynamics.classifier) == {"finetune"} and dynamics.epoch_p.map(len).eq(1).all()
    assert set(dynamics.loc[dynamics.train_source == "few_shot", "origin"]) == {"few_shot"}
    curve = lake.read("learning_curves").to_pandas()
    real_points = curve[curve.curve == "real"]
    for classifier in ("finetune", "logreg"):
        sizes = sorted(real_points.loc[real_points.classifier == classifier, "n_per_label"])
        assert sizes[:2] == [4, 8] and set(sizes) <= {4, 8, 16}, sizes  # capped at 16
    assert set(real_points.seeds) == {2}, "every curve point drawn by both seeds"
    shares = curve[curve.curve == "few_shot"]
    assert set(zip(shares.classifier, shares.n_per_label, shares.share, shares.seeds,
                   strict=True)) == {("finetune", 6, 0.5, 2), ("logreg", 6, 0.5, 2),
                                     ("finetune", 12, 1.0, 2), ("logreg", 12, 1.0, 1)}
    assert ((curve.low <= curve.macro_f1) & (curve.macro_f1 <= curve.high)).all()
    worth = lake.read("real_equivalents").to_pandas()
    assert set(zip(worth.train_source, worth.classifier, strict=True)) == {
        (s, c) for s in ("few_shot", "few_shot_unfiltered") for c in ("finetune", "logreg")}
    within = worth[worth.position == "within"]
    assert ((within.low.isna() | (within.low <= within.equivalent))
            & (within.high.isna() | (within.equivalent <= within.high))).all()
    assert worth.reading.str.contains("per label").all()
