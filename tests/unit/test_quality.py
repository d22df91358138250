"""Each expectation fails on data built to violate it, and clean data passes."""

import random

import pandas as pd
import pytest

from quality import suites
from synthlake.catalog import get_task
from synthlake.realdata import load_real

SPEC = get_task("sms_spam")
VOCAB = (
    "apple river orange stone cloud table window garden music paper coffee train ticket bridge summer "
    "winter yellow purple doctor friend market castle forest island pencil rocket silver "
    "violin harbor tunnel meadow lantern compass"
).split()


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return load_real(SPEC).examples.to_pandas()


def clean_rows(n_per_label: int = 30) -> pd.DataFrame:
    rng = random.Random(7)
    rows = []
    for label in SPEC.label_names:
        for i in range(n_per_label):
            text = " ".join(rng.sample(VOCAB, 8)).capitalize() + "."
            rows.append({"label": label, "text": text, "status": "accepted", "reason": None,
                         "demo_example_ids": [], "slot": f"q{i}",
                         "fidelity_judge": "seed_classifier", "judged_label": label,
                         "p_requested": rng.uniform(0.6, 1.0)})
    return pd.DataFrame(rows)


def calibration(n_per_label: int = 50) -> pd.DataFrame:
    """The judge on genuine held-out texts: 90% right, confident as on clean rows."""
    rng = random.Random(8)
    rows = []
    for label in SPEC.label_names:
        for i in range(n_per_label):
            right = i % 10 != 0
            other = next(lab for lab in SPEC.label_names if lab != label)
            rows.append({"label": label, "predicted_label": label if right else other,
                         "agrees": right, "p_requested": rng.uniform(0.6, 1.0) if right
                         else rng.uniform(0.0, 0.4)})
    return pd.DataFrame(rows)


def outcome_of(name: str, rows: pd.DataFrame, real: pd.DataFrame) -> list[suites.Expectation]:
    return suites.run_suite(suites.synthetic_suite(name, SPEC, rows, real, calibration()))


def failed(outcomes) -> list[str]:
    return [f"{o.expectation}:{o.column}" for o in outcomes if not o.passed]


def test_clean_data_passes_every_suite(real):
    rows = clean_rows()
    for name in suites.SYNTHETIC_SUITES:
        assert failed(outcome_of(name, rows, real)) == [], name


def _mutate(case: str, rows: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    if case == "unknown label":
        rows.loc[0, "label"] = "eggs"
    elif case == "missing label":
        rows = rows[rows.label == "ham"]
    elif case == "imbalance":
        rows = rows.drop(rows[rows.label == "spam"].index[:8])
    elif case == "too long":
        rows.loc[3, "text"] = " ".join(["word"] * 60)
    elif case == "empty":
        rows.loc[3, "text"] = ""
    elif case == "control char":
        rows.loc[3, "text"] = "Win a prize \x07 now please"
    elif case == "broken encoding":
        rows.loc[3, "text"] = "Caf\u00c3\u00a9 opens at noon today"
    elif case == "exact duplicates":
        rows.loc[1:4, "text"] = rows.loc[0, "text"]
    elif case == "near duplicates":
        words = rows.loc[0, "text"].split()
        for i in range(1, 5):  # one word changed each time: not exact, but nearly the same
            rows.loc[i, "text"] = " ".join(words[:i] + [words[i] + "s"] + words[i + 1:])
    elif case == "copies demonstration":
        demo = real[real.split == "train"].iloc[0]
        rows.loc[2, "text"] = demo.text
        rows.at[2, "demo_example_ids"] = [demo.example_id]
    elif case == "real test leak":
        rows.loc[2, "text"] = real[real.split == "test"].text.iloc[5]
    elif case == "judge disagrees":  # 30% of the rows read as the other label
        wrong = rows.index[rows.index % 10 < 3]
        rows.loc[wrong, "judged_label"] = rows.loc[wrong, "label"].map({"ham": "spam", "spam": "ham"})
        rows.loc[wrong, "p_requested"] = 0.1
    elif case == "rejections":
        extra = rows.copy().assign(status="rejected", reason="too long")
        rows = pd.concat([rows] + [extra] * 10, ignore_index=True)
    return rows


CASES = [
    ("unknown label", "label_balance", "expect_column_values_to_be_in_set:label"),
    ("missing label", "label_balance", "expect_column_values_to_be_between:share"),
    ("imbalance", "label_balance", "expect_column_values_to_be_between:share"),
    ("too long", "text_form", "expect_column_values_to_be_between:words"),
    ("empty", "text_form", "expect_column_value_lengths_to_be_between:text"),
    ("control char", "text_form", "expect_column_values_to_not_match_regex:text"),
    ("broken encoding", "text_form", "expect_column_values_to_not_match_regex:text"),
    ("exact duplicates", "duplicates", "expect_column_mean_to_be_between:exact_duplicate"),
    ("near duplicates", "duplicates", "expect_column_mean_to_be_between:near_duplicate"),
    ("copies demonstration", "leakage", "expect_column_values_to_be_in_set:copies_demonstration"),
    ("real test leak", "leakage", "expect_column_values_to_be_in_set:in_real_test"),
    ("rejections", "rejection_rate", "expect_column_mean_to_be_between:rejected"),
    ("judge disagrees", "label_fidelity", "expect_column_values_to_be_between:checked_gap_high"),
]


@pytest.mark.parametrize(("case", "suite", "expectation"), CASES, ids=[c[0] for c in CASES])
def test_each_violation_fails_its_expectation(real, case, suite, expectation):
    outcomes = outcome_of(suite, _mutate(case, clean_rows(), real), real)
    assert expectation in failed(outcomes)
    bad = next(o for o in outcomes if not o.passed)
    assert bad.observed not in ("", "None")


def test_real_data_passes_its_suite(real):
    assert failed(suites.run_suite(suites.real_suite(SPEC, real))) == []


def test_a_judge_without_signal_warns_and_does_not_block(real):
    """Unknown for 45 of 60 rows: no signal. The blocking expectation checks nothing
    (passes), the advisory one fails, and it is marked advisory."""
    rows = clean_rows()
    rows.loc[rows.index[:45], "judged_label"] = "unknown"
    outcomes = outcome_of("label_fidelity", rows, real)
    assert failed(outcomes) == ["expect_column_values_to_be_in_set:signal"]
    assert [o.advisory for o in outcomes if not o.passed] == [True]
    assert all(not o.advisory for o in outcomes if o.column == "checked_gap_high")


def test_abstentions_are_apart_and_a_judge_no_better_than_chance_on_real_has_no_signal(real):
    """A judge that abstains on a quarter of genuine-looking rows is not held (abstaining
    is not disagreeing); a judge at chance on real texts is not drawn from at all."""
    rows = clean_rows()
    rows.loc[rows.index % 4 == 0, "judged_label"] = "unknown"
    assert failed(outcome_of("label_fidelity", rows, real)) == []
    coin = calibration().assign(agrees=lambda f: f.index % 2 == 0)
    coin["predicted_label"] = [lab if a else "x" for lab, a in zip(coin.label, coin.agrees, strict=True)]
    flipped = _mutate("judge disagrees", clean_rows(), real)
    outcomes = suites.run_suite(suites.synthetic_suite("label_fidelity", SPEC, flipped, real, coin))
    assert failed(outcomes) == ["expect_column_values_to_be_in_set:signal"]


def test_no_judge_nothing_to_check(real):
    rows = clean_rows().assign(fidelity_judge=None, judged_label=None)
    assert failed(outcome_of("label_fidelity", rows, real)) == []


@pytest.mark.parametrize(("advisory", "severity"), [(True, "WARN"), (False, "ERROR")])
def test_only_a_blocking_expectation_fails_a_check_with_error_severity(advisory, severity):
    from quality.checks import _result

    bad = suites.Expectation("label_fidelity", "expect_x", "named", False, "0.1",
                             advisory=advisory)
    good = suites.Expectation("label_fidelity", "expect_y", "checked_agree", True, "1.0")
    result = _result([good, bad], version=3)
    assert not result.passed and result.severity.value == severity
