import pandas as pd
import pytest

from synthlake.catalog import get_task
from synthlake.generation import prompts
from synthlake.realdata import load_real


def test_diversity_turn_after_every_n_accepted():
    every, issued, schedule = 3, 0, []
    for accepted in range(10):
        due = prompts.diversity_due(accepted, every, issued)
        issued += due
        schedule.append(due)
    assert [i for i, due in enumerate(schedule) if due] == [3, 6, 9]


def test_zero_shot_turn_carries_the_diversity_prompt_and_bounded_history():
    spec = get_task("imdb")
    rng = prompts.rng_for("t")
    user = prompts.zero_shot_user_turn(spec, "negative", rng, diversity=True)
    assert user.startswith(spec.diversity.prompt)
    assert "negative feedback" in user and "at most 120 words" in user
    history = [prompts.Turn(f"u{i}", f"a{i}") for i in range(10)]
    messages = prompts.zero_shot_messages(spec, history, user)
    assert messages[0] == {"role": "system", "content": spec.context_prompt}
    kept = spec.diversity.history_turns
    assert len(messages) == 1 + 2 * kept + 1
    assert messages[1]["content"] == f"u{10 - kept}" and messages[-1]["content"] == user


def test_prompts_are_reproducible_from_their_slot():
    spec = get_task("ag_news")
    a = prompts.generation_prompt(spec, "Sports", prompts.rng_for(0, "ag_news", "Sports", 5))
    b = prompts.generation_prompt(spec, "Sports", prompts.rng_for(0, "ag_news", "Sports", 5))
    assert a == b and "{" not in a


@pytest.fixture(scope="module")
def sms_real() -> pd.DataFrame:
    return load_real(get_task("sms_spam")).examples.to_pandas()


def test_seed_pool_holds_only_train_texts_of_each_label(sms_real):
    spec = get_task("sms_spam")
    pool = prompts.seed_pool(sms_real, spec, seed=0)
    by_id = sms_real.set_index("example_id")
    for label, rows in pool.items():
        assert len(rows) == spec.few_shot.seed_pool_per_label
        assert (by_id.loc[list(rows.example_ids), "split"] == "train").all()
        assert (by_id.loc[list(rows.example_ids), "label"] == label).all()
        assert list(by_id.loc[list(rows.example_ids), "text"]) == list(rows.texts)


def test_few_shot_demos_come_from_the_right_label(sms_real):
    spec = get_task("sms_spam")
    pool = prompts.seed_pool(sms_real, spec, seed=0)
    rng = prompts.rng_for("x")
    demo_ids, demo_texts = pool["spam"].sample(spec.few_shot.k, rng)
    messages = prompts.few_shot_messages(spec, "spam", demo_texts, rng)
    user = messages[1]["content"]
    assert len(demo_texts) == spec.few_shot.k
    assert all(text in user for text in demo_texts)
    assert spec.few_shot.constraint in user
    assert set(demo_ids) <= set(pool["spam"].example_ids)
    test_texts = set(sms_real.loc[sms_real["split"] == "test", "text"])
    assert not any(t in user for t in test_texts)
