"""The label filter inside generation, through the in-process wire: an LLM judge that
answers by rule rejects the rows it finds another label in, later waves replace them, the
quota and the balance hold, the judge's tokens are counted apart, and a re-run sends
nothing."""

import re

import pytest

from synthlake.catalog import get_task
from synthlake.generation import fidelity
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Reason
from tests.support.fake_wire import FakeWire, fake_endpoint, words_for

SPAMMY = {"money", "offer", "deal", "profit"}


def judged_text(body: dict) -> str | None:
    """The text a judge request asks about (None: a generation request)."""
    if body["messages"][0]["content"] != fidelity.SYSTEM:
        return None
    return re.search(r'"""(.*)"""', body["messages"][1]["content"], re.S).group(1)


def by_rule(body: dict) -> str:
    """Generation: random words. Judging: a genuine real text (the tiny data's start with
    their label) by its label; otherwise spam if a spammy word is in the text; ham if
    not; `unknown` for texts that mention a film (an abstaining judge)."""
    text = judged_text(body)
    if text is None:
        return words_for(body)
    words = set(text.lower().split())
    if text.split()[0] in ("ham", "spam"):
        return text.split()[0]
    if "film" in words:
        return "unknown"
    return "spam" if words & SPAMMY else "ham"


def with_judge(spec, judge: str):
    return spec.model_copy(update={"fidelity": spec.fidelity.model_copy(update={"judge": judge})})


@pytest.fixture
def spec(lake):
    spec = with_judge(get_task("sms_spam"), "llm")
    write_real_examples(lake, spec, "real")
    return spec


def test_rows_the_judge_finds_another_label_in_are_replaced(lake, spec):
    wire = FakeWire(by_rule)
    config = GenerationConfig(n_per_label=6, max_attempts_factor=6)
    report = generate(lake, spec, "r1", config, method="zero_shot", endpoint=fake_endpoint(),
                      wire=wire)
    assert report.accepted == {"ham": 6, "spam": 6} and report.judge == "llm"
    rows = lake.read("synthetic_examples",
                     where={"task": "sms_spam", "method": "zero_shot"}).to_pandas()
    accepted = rows[rows["status"] == "accepted"]
    for row in accepted.itertuples():  # kept: the rule finds the label, or abstains
        words = set(row.text.lower().split())
        assert "film" in words or ("spam" if words & SPAMMY else "ham") == row.label
    abstained = accepted[accepted["judged_label"] == "unknown"]
    assert len(abstained) > 0, "an unknown answer keeps its row"
    assert all("film" in text.lower().split() for text in abstained["text"])
    mismatched = rows[rows["reason"] == Reason.LABEL_MISMATCH]
    assert len(mismatched) > 0 and set(mismatched["fidelity_judge"]) == {"llm"}
    assert (mismatched["judged_label"] != mismatched["label"]).all()
    assert report.mismatched == mismatched["label"].value_counts().to_dict()
    judged = [b for b in wire.bodies if judged_text(b) is not None]
    assert report.judge_usage["requests_sent"] == len(judged) > 0
    assert report.usage["requests_sent"] == len(wire.bodies) - len(judged)
    assert all(b["temperature"] == 0.0 for b in judged)
    assert len({judged_text(b) for b in judged}) == len(judged), "each text judged once"

    again = FakeWire(by_rule)
    rerun = generate(lake, spec, "r2", config, method="zero_shot", endpoint=fake_endpoint(),
                     wire=again)
    assert again.bodies == [] and rerun.accepted == report.accepted


def knows_real_finds_no_spam(body: dict) -> str:
    """Judging: a genuine text (the tiny data's start with their label) by its label,
    every generated text as ham."""
    text = judged_text(body)
    if text is None:
        return words_for(body)
    return text.split()[0] if text.split()[0] in ("ham", "spam") else "ham"


def test_a_shortfall_the_filter_causes_is_written_and_reported(lake, spec):
    """A judge that knows genuine spam but finds no generated text spam: the spam quota
    cannot be met, yet the endpoint answered, so the partition is written with the
    shortfall, not refused."""
    wire = FakeWire(knows_real_finds_no_spam)
    config = GenerationConfig(n_per_label=4, max_attempts_factor=2)
    report = generate(lake, spec, "r1", config, method="few_shot", endpoint=fake_endpoint(),
                      wire=wire)
    assert report.accepted["ham"] == 4 and report.accepted["spam"] == 0
    assert report.shortfall == {"spam": 4} and report.mismatched == {"spam": 8}
    assert report.unfiltered_shortfall() == 0
    assert lake.read("synthetic_examples", where={"method": "few_shot"}).num_rows >= 12


def test_a_judge_that_misses_genuine_texts_of_a_label_does_not_filter_it(lake, spec):
    """The same judge's verdicts on genuine held-out spam are all ham: its bar for spam
    sinks to the lowest genuine score (0), so it rejects no spam text, and the report
    shows what it does to genuine texts."""
    wire = FakeWire(lambda body: "ham" if judged_text(body) is not None else words_for(body))
    report = generate(lake, spec, "r1", GenerationConfig(n_per_label=4), method="few_shot",
                      endpoint=fake_endpoint(), wire=wire)
    assert report.accepted == {"ham": 4, "spam": 4} and report.mismatched == {}
    by_label = {row["label"]: row for row in report.calibration}
    assert by_label["spam"]["bar"] == 0.0 and by_label["spam"]["agree"] == 0
    assert by_label["ham"]["agree"] == by_label["ham"]["named"] == by_label["ham"]["n"] > 0
    stored = lake.read("fidelity_calibration", where={"method": "few_shot"}).to_pandas()
    assert len(stored) == sum(row["n"] for row in report.calibration)


def test_no_judge_no_filter(lake, spec):
    wire = FakeWire(lambda body: "ham" if judged_text(body) is not None else words_for(body))
    report = generate(lake, with_judge(spec, "none"), "r1", GenerationConfig(n_per_label=3),
                      method="few_shot", endpoint=fake_endpoint(), wire=wire)
    assert report.accepted == {"ham": 3, "spam": 3} and report.judge is None
    assert all(judged_text(b) is None for b in wire.bodies)
