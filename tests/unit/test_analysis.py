"""The analysis layer: gap vs subjectivity in SQL, instance-level results, the report."""

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from synthlake import tables
from synthlake.analysis import report
from synthlake.cli import main as cli
from synthlake.lake import Lake, query_file
from synthlake.subjectivity import ranking as subjectivity

TASKS = ["ag_news", "sms_spam", "imdb", "tweet_irony", "humor_speech"]


@pytest.fixture(scope="module")
def analysed_lake_built(tmp_path_factory) -> Lake:
    """Evaluations for 5 tasks (real_full, zero_shot, few_shot; 2 seeds), a ranking:
    written once per module (about 11 s of Delta writes), copied for each test."""
    lake = Lake(tmp_path_factory.mktemp("analysed") / "lake")
    rng = np.random.default_rng(0)
    for i, task in enumerate(TASKS):
        rows = []
        for source, drop in (("real_full", 0.0), ("zero_shot", 0.08 * i + 0.05),
                             ("few_shot", 0.05 * i + 0.02)):
            for seed in (0, 1):
                f1 = 0.9 - drop + rng.normal(0, 0.005)
                rows.append({"task": task, "train_source": source, "classifier": "finetune",
                             "seed": seed, "n_train": 100, "macro_f1": f1, "accuracy": f1 + 0.01})
        lake.write_partition("evaluations", tables.from_rows("evaluations", rows), {"task": task}, "r")
    judged = pd.DataFrame([{"task_a": a, "task_b": b, "judge_id": "sim", "judge_kind": "llm",
                            "winner": a if TASKS.index(a) < TASKS.index(b) else b}
                           for a, b, _ in subjectivity.judge_plan(TASKS, 2)])
    subjectivity.write_ranking(lake, TASKS, "r", judgments=judged)
    return lake


@pytest.fixture
def analysed_lake(analysed_lake_built, tmp_path) -> Lake:
    """A copy of the built lake of this test's own, which the test may write to."""
    shutil.copytree(analysed_lake_built.root, tmp_path / "lake")
    return Lake(tmp_path / "lake")


def sql_csv(lake, query, capsys) -> pd.DataFrame:
    assert cli(["--lake", str(lake.root), "sql", query, "--format", "csv"]) == 0
    return pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))


def test_gap_vs_subjectivity_sql_prints_spearman_its_interval_and_the_tasks(analysed_lake,
                                                                             capsys):
    subjectivity.write_gap_correlations(analysed_lake, "r")
    out = sql_csv(analysed_lake, "sql/gap_vs_subjectivity.sql", capsys)
    assert list(zip(out.ranking, out.train_source, strict=True)) == [
        ("llm judge", "zero_shot"), ("llm judge", "few_shot")]
    evals = analysed_lake.read("evaluations").to_pandas()
    means = evals.groupby(["task", "train_source"]).macro_f1.mean().unstack()
    ranked = analysed_lake.read("task_subjectivity").to_pandas().set_index("task")
    rho = spearmanr(means.real_full - means.few_shot, -ranked.objectivity.loc[means.index]).statistic
    few = out.set_index("train_source").loc["few_shot"]
    assert few.spearman == pytest.approx(rho, abs=1e-3) and rho > 0.9
    assert few.low <= few.spearman <= few.high and few.n_tasks == len(TASKS)
    by_task = sql_csv(analysed_lake, "sql/gaps_by_task.sql", capsys)
    few_rows = by_task[by_task.train_source == "few_shot"]
    assert list(few_rows.task) == TASKS, "ordered by objectivity rank"
    expected_gap = (means.real_full - means.few_shot).loc[TASKS].round(3).to_numpy()
    assert np.allclose(few_rows.gap, expected_gap, atol=1e-3)


def test_a_ranking_without_signal_or_with_few_tasks_gets_no_correlation():
    gaps = pd.DataFrame({"task": list("abcde"), "classifier": "logreg",
                         "train_source": "few_shot", "gap": [0.1, 0.2, 0.3, 0.4, 0.5]})
    score = [5, 4, 3, 2, 1]
    rankings = pd.concat([
        pd.DataFrame({"ranking": "silent", "task": list("abcde"), "score": score,
                      "signal": False, "consistency": 0.07}),
        pd.DataFrame({"ranking": "few", "task": list("abc"), "score": score[:3],
                      "signal": True, "consistency": 1.0}),
        pd.DataFrame({"ranking": "people", "task": list("abcde"), "score": score,
                      "signal": True, "consistency": None})])
    rows = {r["ranking"]: r for r in subjectivity.gap_correlations(gaps, rankings)}
    assert rows["silent"]["spearman"] is None
    assert rows["silent"]["reading"] == "no signal (order consistency 0.07)"
    assert rows["few"]["spearman"] is None and rows["few"]["n_tasks"] == 3
    assert rows["few"]["reading"].startswith("not estimable: 3 tasks")
    assert rows["people"]["spearman"] == pytest.approx(1.0) and rows["people"]["n_tasks"] == 5


def test_report_renders_with_plots_from_the_lake(analysed_lake):
    subjectivity.write_gap_correlations(analysed_lake, "r")
    path, figures = report.build_report(analysed_lake)
    text = path.read_text()
    assert "| llm judge | ag_news |" in text and "| ag_news | real_full | finetune |" in text
    assert "ranking has no signal" not in text
    import matplotlib.image as mpimg

    gap_png = mpimg.imread(figures["gap_vs_subjectivity"])
    empty_png = mpimg.imread(figures["accuracy_vs_gamma"])  # no instance data in this lake
    colored = lambda img: np.mean(np.abs(img[..., 0] - img[..., 2]) > 0.2)  # noqa: E731
    assert colored(gap_png) > colored(empty_png), "the gap plot shows data points"
    for png in figures.values():
        assert png.exists() and png.stat().st_size > 5000


def test_label_fidelity_sql_gives_the_wilson_intervals_of_the_engine(tmp_path):
    from synthlake.generation import fidelity

    lake = Lake(tmp_path / "lake")
    rows = [{"task": "t", "method": method, "example_id": f"{method}{i}", "label": label,
             "judge": judge, "predicted_label": "unknown" if i % 4 == 3 else label,
             "p_requested": 0.5, "kept": i % 2 == 0 if sample == "synthetic" else None,
             "sample": sample, "role": role, "rejected": i < 2 if role == "filter" else None,
             "agrees": i < agree, "judged_at": pd.Timestamp("2026-01-01", tz="UTC")}
            for method, label, judge, role, sample, n, agree in [
                ("few_shot", "a", "seed_classifier", "filter", "synthetic", 30, 27),
                ("few_shot", "a", "seed_classifier", "filter", "real_heldout", 10, 8),
                ("few_shot", "b", "real_oracle", "independent", "synthetic", 12, 3),
                ("zero_shot", "a", "seed_classifier", "filter", "synthetic", 5, 5)]
            for i in range(n)]
    for method in ("few_shot", "zero_shot"):
        lake.write_partition("label_fidelity", tables.from_rows(
            "label_fidelity", [r for r in rows if r["method"] == method]),
            {"task": "t", "method": method}, "r")
    sql = query_file(lake, "label_fidelity.sql")
    engine = fidelity.summary(pd.DataFrame(rows))
    merged = sql.merge(engine, on=["task", "method", "label", "judge", "filter"],
                       suffixes=("", "_py"))
    assert len(merged) == len(sql) == len(engine) == 5
    assert merged["n"].tolist() == merged["n_py"].tolist()
    assert merged["named"].tolist() == merged["n_named"].tolist()
    # The judge that filtered has no "after" row: it agrees with what it kept by design.
    assert sql["filter"].tolist() == ["before", "before", "real_heldout", "before", "after"]
    assert sql.loc[sql["filter"] == "after", "n"].tolist() == [6]
    assert np.allclose(merged[["low", "high"]].to_numpy(), merged[["low_py", "high_py"]].to_numpy(),
                       atol=1e-3)
    # Abstentions are apart: the share is of the rows named (27 of 30 agree, 23 named).
    first = merged[(merged["method"] == "few_shot") & (merged["filter"] == "before")
                   & (merged["label"] == "a")].iloc[0]
    assert first["named"] == 23 and first["agree"] == 21 and first["share"] == round(21 / 23, 3)
    assert np.allclose(merged["named_a_label"], merged["named_py"], atol=1e-3)
    held = merged[merged["filter"] == "real_heldout"].iloc[0]
    assert held["rejected"] == held["rejected_py"] == 0.2  # 2 of 10 genuine texts


def test_filter_effect_sql_sets_filtered_and_unfiltered_side_by_side(tmp_path):
    lake = Lake(tmp_path / "lake")
    rows = [{"task": "t", "train_source": source, "classifier": "logreg", "seed": seed,
             "n_train": 20, "macro_f1": f1 + seed / 100, "accuracy": f1}
            for source, f1 in (("zero_shot", 0.7), ("zero_shot_unfiltered", 0.6),
                               ("few_shot", 0.8), ("real_full", 0.9))
            for seed in (0, 1)]
    lake.write_partition("evaluations", tables.from_rows("evaluations", rows), {"task": "t"}, "r")
    compared = [{"task": "t", "train_source": "zero_shot", "classifier": "logreg",
                 "baseline": "zero_shot_unfiltered", "seeds": 2, "baseline_seeds": 2,
                 "n_test": 400, "difference": 0.1, "low": -0.01, "high": 0.2, "p_value": 0.08,
                 "distinguishable": False}]
    lake.write_partition("comparisons", tables.from_rows("comparisons", compared), {"task": "t"}, "r")
    out = query_file(lake, "filter_effect.sql")
    assert out["method"].tolist() == ["zero_shot"], "few_shot has no unfiltered runs"
    row = out.iloc[0]
    assert (row.filtered_f1, row.unfiltered_f1, row.seeds) == (0.705, 0.605, 2)
    assert row.filtered_minus_unfiltered == pytest.approx(0.1)
    assert (row.low, row.high, row.verdict) == (-0.01, 0.2, "not distinguishable")


def test_the_report_says_where_the_kept_rows_fall_short_of_real_texts_by_the_oracle():
    def row(method, label, judge, stage, named, agree, low, high):
        return {"task": "t", "method": method, "label": label, "judge": judge,
                "filter": stage, "n": named, "named": named, "agree": agree,
                "share": agree / named, "low": low, "high": high}

    rows = pd.DataFrame([
        row("few_shot", "a", "real_oracle", "after", 10, 10, 0.72, 1.0),
        row("few_shot", "a", "real_oracle", "real_heldout", 50, 45, 0.79, 0.96),
        row("zero_shot", "b", "real_oracle", "after", 10, 6, 0.31, 0.83),
        row("zero_shot", "b", "real_oracle", "real_heldout", 50, 48, 0.87, 0.99),
        row("zero_shot", "b", "real_oracle", "before", 12, 6, 0.25, 0.75),
        row("zero_shot", "b", "llm", "after", 10, 1, 0.02, 0.4)])
    note = report.label_fidelity_note(rows)
    assert "distinguishably less often than real texts" in note
    assert "t/zero_shot/b 6/10 (0.31 to 0.83; real 0.87 to 0.99)" in note
    assert "few_shot" not in note and "1/10" not in note, "only the oracle, after the filter"
    assert "as often as in held-out real texts" in report.label_fidelity_note(rows.iloc[:2])


def test_the_headline_carries_intervals_and_says_not_distinguishable(tmp_path):
    lake = Lake(tmp_path / "lake")
    runs = [("real_full", 0.90), ("few_shot", 0.70), ("zero_shot", 0.88)]
    rows = [{"task": "t", "train_source": s, "classifier": "logreg", "seed": 0, "n_train": 10,
             "n_test": 400, "macro_f1": f1, "accuracy": f1, "macro_f1_low": f1 - 0.03,
             "macro_f1_high": f1 + 0.03, "accuracy_low": f1 - 0.02, "accuracy_high": f1 + 0.02}
            for s, f1 in runs]
    lake.write_partition("evaluations", tables.from_rows("evaluations", rows), {"task": "t"}, "r")
    scores = [{"task": "t", "train_source": s, "classifier": "logreg", "seeds": 1,
               "drawn": False, "macro_f1": f1, "low": f1 - 0.03, "high": f1 + 0.03,
               "covers": "400 test texts resampled"} for s, f1 in runs]
    lake.write_partition("source_scores", tables.from_rows("source_scores", scores), {"task": "t"}, "r")
    compared = [{"task": "t", "train_source": s, "classifier": "logreg", "baseline": "real_full",
                 "seeds": 1, "baseline_seeds": 1, "n_test": 400, "difference": d, "low": lo,
                 "high": hi, "p_value": p, "distinguishable": not lo <= 0 <= hi}
                for s, d, lo, hi, p in [("few_shot", -0.2, -0.25, -0.15, 0.001),
                                        ("zero_shot", -0.02, -0.05, 0.01, 0.2)]]
    lake.write_partition("comparisons", tables.from_rows("comparisons", compared), {"task": "t"}, "r")
    out = query_file(lake, "headline.sql").set_index("train_source")
    assert out.loc["few_shot", "macro_f1"] == "0.700 ± 0.000 [0.670, 0.730]"
    assert out.loc["few_shot", "gap_to_real_full"] == "0.200 (0.150 to 0.250)"
    assert out.loc["zero_shot", "gap_to_real_full"] == "0.020 (-0.010 to 0.050), not distinguishable"
    assert out.loc["real_full", "gap_to_real_full"] == "0.000"
    verdicts = query_file(lake, "comparisons.sql").set_index("train_source")["verdict"]
    assert verdicts.to_dict() == {"few_shot": "worse", "zero_shot": "not distinguishable"}


def test_the_report_says_a_ranking_has_no_signal_and_draws_none(analysed_lake):
    """A judge that names the first-shown task every time: shown with its consistency,
    no rank, no correlation, and the gap plot stays empty."""
    import matplotlib.image as mpimg

    judged = pd.DataFrame([{"task_a": a, "task_b": b, "judge_id": "sim", "judge_kind": "llm",
                            "winner": a} for a, b, _ in subjectivity.judge_plan(TASKS, 2)])
    subjectivity.write_ranking(analysed_lake, TASKS, "r2", judgments=judged)
    subjectivity.write_gap_correlations(analysed_lake, "r2")
    path, figures = report.build_report(analysed_lake)
    text = path.read_text()
    assert ("**The llm judge ranking has no signal** (order consistency 0.00 over 20 pairs "
            "asked in both orders") in text
    assert "| llm judge | ag_news | 16 | 0.00 [0.00, 0.00] | no signal |" in text
    assert "no signal (order consistency 0.00)" in text
    gap_png = mpimg.imread(figures["gap_vs_subjectivity"])
    assert np.mean(np.abs(gap_png[..., 0] - gap_png[..., 2]) > 0.2) < 0.001, "nothing drawn"


def test_kendall_tau_between_rankings_follows_scipy_and_says_when_it_has_none():
    from scipy.stats import kendalltau

    tasks = list("abcdef")
    noisy = [6, 5, 3, 4, 1, 2]
    rankings = pd.concat([
        pd.DataFrame({"ranking": "people", "task": tasks, "score": [6, 5, 4, 3, 2, 1],
                      "signal": True}),
        pd.DataFrame({"ranking": "proxy: x", "task": tasks, "score": noisy, "signal": True}),
        pd.DataFrame({"ranking": "reversed", "task": tasks, "score": [1, 2, 3, 4, 5, 6],
                      "signal": True}),
        pd.DataFrame({"ranking": "silent", "task": tasks, "score": noisy, "signal": False}),
        pd.DataFrame({"ranking": "two", "task": tasks[:2], "score": [1, 2], "signal": True})])
    out = subjectivity.ranking_agreement(rankings).set_index(["ranking_a", "ranking_b"])
    expected = kendalltau([6, 5, 4, 3, 2, 1], noisy).statistic
    assert out.loc[("people", "proxy: x"), "kendall_tau"] == pytest.approx(expected)
    assert out.loc[("people", "reversed"), "kendall_tau"] == pytest.approx(-1.0)
    assert out.loc[("people", "proxy: x"), "n_tasks"] == 6
    assert out.loc[("people", "silent"), "reading"] == "no signal in silent"
    assert pd.isna(out.loc[("people", "silent"), "kendall_tau"])
    assert out.loc[("people", "two"), "reading"].startswith("not estimable: 2 tasks")
    assert len(out) == 10, "every pair of the five rankings"


def test_proxies_stand_beside_the_judges_in_sql_correlations_and_the_report(analysed_lake,
                                                                            capsys):
    """Proxies are rankings like any other: the side-by-side SQL, Kendall's tau against
    the judge, a gap correlation of their own, and named as proxies in the report."""
    objectivity = dict(zip(TASKS, [0.9, 0.8, 0.7, 0.6, 0.5], strict=True))  # = judge order
    rows = [{"task": t, "proxy": "surface predictability", "score": s, "low": s - 0.05,
             "high": s + 0.05, "n": 500, "detail": "planted"} for t, s in objectivity.items()]
    analysed_lake.write_partition("objectivity_proxies",
                                  tables.from_rows("objectivity_proxies", rows), {}, "r")
    side = sql_csv(analysed_lake, "sql/rankings_side_by_side.sql", capsys).set_index("task")
    assert side.loc["ag_news", "proxy: surface predictability"] == 0.9
    assert set(side.columns) == {"llm judge", "proxy: surface predictability"}
    found = subjectivity.write_gap_correlations(analysed_lake, "r")
    proxy = found[(found.ranking == "proxy: surface predictability")
                  & (found.train_source == "few_shot")].iloc[0]
    assert proxy.n_tasks == 5 and proxy.spearman == pytest.approx(1.0)
    text = report.build_report(analysed_lake)[0].read_text()
    assert "| surface predictability | ag_news | 0.900 [0.850, 0.950] | 500 | planted |" in text
    assert "| llm judge | proxy: surface predictability | 5 | 1.0 | 1.00 over 5 tasks |" in text


def test_instance_level_accuracy_carries_scipys_wilson_interval(tmp_path):
    from scipy.stats import binomtest

    lake = Lake(tmp_path / "lake")
    rows = [{"task": "t", "train_source": "real_full", "classifier": "logreg", "seed": 0,
             "gamma": gamma, "n": n, "accuracy": k / n, "macro_f1": 0.5}
            for gamma, n, k in [(0.5, 400, 300), (0.8, 40, 38), (1.0, 7, 7)]]
    lake.write_partition("instance_level_results", tables.from_rows("instance_level_results", rows),
                         {"task": "t"}, "r")
    out = query_file(lake, "accuracy_vs_agreement.sql")
    for row, (_, n, k) in zip(out.itertuples(), [(0.5, 400, 300), (0.8, 40, 38), (1.0, 7, 7)],
                              strict=True):
        expected = binomtest(k, n).proportion_ci(method="wilson")
        assert row.n_examples == n and row.accuracy == round(k / n, 3)
        assert (row.accuracy_low, row.accuracy_high) == pytest.approx(
            (expected.low, expected.high), abs=1e-3)


def test_the_demo_prints_the_reports_own_sections(analysed_lake):
    """One narrative: every section the report page renders is the demo's text too, with
    its tables; sections without data, pictures and provenance stay on the page."""
    from orchestration import demo

    subjectivity.write_gap_correlations(analysed_lake, "r")
    page = report.build_report(analysed_lake)[0].read_text()
    printed = demo.results(analysed_lake)
    shown = [s for s in report.sections(analysed_lake) if s.has_data and s.terminal]
    assert {s.title for s in shown} >= {"Real vs synthetic (macro-F1 and accuracy on the real test "
                                        "split)", "Subjectivity and the gap"}
    for section in report.sections(analysed_lake):
        assert f"## {section.title}" in page
        assert not section.figures, "no folder, nothing drawn"
        assert all(part in page for part in section.parts)
        assert (section.text() in printed) == (section in shown), section.title
        assert (f"== {section.title}" in printed) == (section in shown), section.title
    assert "![" not in printed and "== Provenance" not in printed
