import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from synthlake.subjectivity import ranking as sj

TASKS = [f"t{i}" for i in range(8)]


def simulate(true_strength: dict[str, float], n_per_pair: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a, b, _ in sj.judge_plan(list(true_strength), n_per_pair):
        pa, pb = np.exp(true_strength[a]), np.exp(true_strength[b])
        winner = a if rng.random() < pa / (pa + pb) else b
        rows.append({"task_a": a, "task_b": b, "winner": winner, "judge_id": "sim"})
    return pd.DataFrame(rows)


def test_recovers_a_known_ranking_from_simulated_judgments():
    truth = {t: 0.6 * i for i, t in enumerate(TASKS)}  # t7 most objective
    judged = simulate(truth, n_per_pair=15, seed=1)
    scores = sj.bradley_terry(judged, TASKS, prior=0.0)
    assert spearmanr(scores[TASKS], list(truth.values())).statistic > 0.95
    ranks = sj.ranking(judged, TASKS, "human")
    assert ranks.iloc[0]["task"] == "t7" and ranks.iloc[-1]["task"] == "t0"
    assert ranks.set_index("task").loc["t0", "stars"] == 5
    assert ranks.set_index("task").loc["t7", "stars"] == 1
    assert abs(scores.mean()) < 1e-9


def test_ties_count_half_and_keep_scores_equal():
    judged = pd.DataFrame([{"task_a": "x", "task_b": "y", "winner": "tie", "judge_id": "j"}] * 4)
    scores = sj.bradley_terry(judged, ["x", "y"], prior=0.0)
    assert scores["x"] == pytest.approx(scores["y"], abs=1e-9)


def test_unbeaten_and_never_compared_tasks_stay_finite():
    judged = pd.DataFrame([{"task_a": "x", "task_b": "y", "winner": "x", "judge_id": "j"}] * 5)
    ranks = sj.ranking(judged, ["x", "y", "lonely"], "human")
    assert np.isfinite(ranks["objectivity"]).all()
    row = ranks.set_index("task")
    assert row.loc["x", "objectivity"] > row.loc["lonely", "objectivity"] > row.loc["y", "objectivity"]
    assert row.loc["lonely", "n_judgments"] == 0


def test_bad_winner_and_unknown_task_are_errors():
    with pytest.raises(ValueError, match="neither"):
        sj.bradley_terry(pd.DataFrame([{"task_a": "x", "task_b": "y", "winner": "z"}]), ["x", "y"])
    with pytest.raises(ValueError, match="not in the catalogue"):
        sj.ranking(pd.DataFrame([{"task_a": "x", "task_b": "q", "winner": "x"}]), ["x", "y"], "h")


@pytest.mark.parametrize(("answer", "choice"), [
    ("A", "A"), ("B.", "B"), ("Task B is more objective", "B"), ("**A**", "A"),
    ("A or B", None), ("", None), (None, None), ("Both are subjective", None),
])
def test_parse_choice(answer, choice):
    assert sj.parse_choice(answer) == choice


def test_judge_plan_has_both_orders():
    plan = sj.judge_plan(["a", "b", "c"], repetitions=2)
    assert len(plan) == 3 * 2 * 2
    assert ("a", "b", 0) in plan and ("b", "a", 0) in plan


def test_instance_agreement_from_rater_rows_and_levels():
    raters = [("e1", "1", "joy"), ("e1", "2", "joy"), ("e1", "3", "anger"), ("e2", "1", "joy")]
    annotations = pd.DataFrame(
        [{"task": "t", "example_id": e, "annotator_id": a, "label": lab, "agreement": None,
          "kind": "rater_rows"} for e, a, lab in raters]
        + [{"task": "f", "example_id": "e9", "annotator_id": None, "label": None,
            "agreement": 0.75, "kind": "agreement_levels"}]
    )
    agreement = sj.instance_agreement(annotations).set_index("example_id")
    assert agreement.loc["e1", "agreement"] == pytest.approx(2 / 3)
    assert "e2" not in agreement.index, "a single rating says nothing about agreement"
    assert agreement.loc["e9", "agreement"] == 0.75


def test_instance_level_results_filter_by_gamma():
    predictions = pd.DataFrame({
        "task": "f", "train_source": "real", "classifier": "c", "seed": 0,
        "example_id": ["a", "b", "c", "d"], "gold": ["pos", "neg", "pos", "neg"],
        "predicted": ["pos", "neg", "neg", "pos"],
    })
    agreement = pd.DataFrame({"example_id": ["a", "b", "c", "d"], "agreement": [1.0, 1.0, 0.5, 0.6]})
    results = sj.instance_level_results(predictions, agreement, ["neg", "pos"], gammas=(0.5, 1.0))
    by_gamma = results.set_index("gamma")
    assert by_gamma.loc[0.5, "n"] == 4 and by_gamma.loc[0.5, "accuracy"] == 0.5
    assert by_gamma.loc[1.0, "n"] == 2 and by_gamma.loc[1.0, "accuracy"] == 1.0


def test_each_judge_ranks_only_the_tasks_its_judgments_compare(tmp_path):
    """An LLM judge asked about three tasks (the demo's) and people who compared five give
    two rankings of three and five tasks: a task nobody compared gets no place in an order.
    A judgment naming a task outside the catalogue is refused before anything is written."""
    from synthlake.lake import Lake

    lake = Lake(tmp_path / "lake")
    llm = simulate({t: 0.5 * i for i, t in enumerate(TASKS[:3])}, 4, seed=2).assign(judge_kind="llm")
    people = simulate({t: 0.5 * i for i, t in enumerate(TASKS[:5])}, 3, seed=3).assign(judge_kind="human")
    frame = sj.write_ranking(lake, TASKS, "r1", judgments=sj.as_judgments(pd.concat([llm, people])))
    ranked = frame.groupby("method")["task"].apply(set).to_dict()
    assert ranked == {"llm judge": set(TASKS[:3]), "people": set(TASKS[:5])}
    assert (frame["n_judgments"] > 0).all()
    stray = sj.as_judgments(llm.assign(task_b="not_a_task", judge_kind="llm"))
    with pytest.raises(ValueError, match="not_a_task"):
        sj.write_ranking(lake, TASKS, "r2", judgments=stray)
    assert lake.history("task_subjectivity")[0]["version"] == 0
