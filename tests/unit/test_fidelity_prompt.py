"""The LLM judge's question and how its answers are read."""

import pytest

from synthlake.catalog import get_task
from synthlake.generation import fidelity
from synthlake.vocabulary import Judge

SPEC = get_task("ag_news")


@pytest.mark.parametrize(("answer", "label"), [
    ("Sports", "Sports"), ("sports.", "Sports"), ('"Sci/Tech"', "Sci/Tech"),
    ("The label is World", "World"), ("Business or World", "unknown"), ("", "unknown"),
    (None, "unknown"), ("unknown", "unknown"), ("I cannot tell", "unknown"),
])
def test_an_answer_names_one_label_or_is_unknown(answer, label):
    assert fidelity.parse_verdict(answer, SPEC.label_names) == label


def test_options_are_shuffled_per_text_and_fixed_for_a_text():
    judge = fidelity.LLMJudge(spec=SPEC, method="zero_shot", seed=0, temperature=0.0)

    def order(text: str) -> list[str]:
        user = judge.request(text).messages[1]["content"]
        return sorted(SPEC.label_names, key=lambda name: user.index(f"- {name}:"))

    orders = {tuple(order(f"headline number {i}")) for i in range(40)}
    assert len(orders) > 6  # position bias averages out over texts
    assert order("one text") == order("one text")  # and a re-run asks the same request
    request = judge.request("one text")
    assert request.params["temperature"] == 0.0 and request.slot.startswith("fidelity/")
    assert fidelity.INSTRUCTION in request.messages[1]["content"] and SPEC.description in \
        request.messages[1]["content"]


def test_auto_picks_the_seed_classifier_for_few_shot_and_the_llm_for_zero_shot():
    assert fidelity.judge_for(SPEC, "few_shot") == Judge.SEED_CLASSIFIER
    assert fidelity.judge_for(SPEC, "zero_shot") == Judge.LLM
    none = SPEC.model_copy(update={"fidelity": SPEC.fidelity.model_copy(update={"judge": "none"})})
    assert fidelity.judge_for(none, "few_shot") is None
