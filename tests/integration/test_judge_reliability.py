"""The LLM task judge against a scripted judge on loopback whose preference, noise and
position bias are known: the ranking recovers the preference and the reliability
figures equal what the judge actually did."""

import json
from collections import Counter

import pandas as pd
import pytest
from scipy.stats import kendalltau

from synthlake.catalog import load_catalog
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig, session
from synthlake.llm.embedded import free_port
from synthlake.subjectivity import ranking as subjectivity
from tests.support import loopback


def ask(url: str, specs: dict, journal, repetitions: int,
        logprobs: bool = False) -> tuple[pd.DataFrame, dict]:
    """The judge's letters (the path of an endpoint without logprobs), or its
    probabilities."""
    examples = {name: [f"an example text of {name}"] for name in specs}
    with session(EndpointConfig(base_url=url, model="dev"), journal) as llm:
        return llm.run(lambda client: subjectivity.judge_with_llm(
            client, specs, examples, repetitions, logprobs=logprobs))


def expected(log: list[dict]) -> tuple[float, float]:
    """Consistency and first-position share from the judge's own verdict log."""
    verdicts = [entry for entry in log if "judged" in entry]
    picked = {(first, second, entry["seed"]): first if answer == "A" else second
              for entry in verdicts for first, second, answer in [entry["judged"]]}
    both = [(a, b, seed) for a, b, seed in picked if a < b and (b, a, seed) in picked]
    consistent = sum(picked[a, b, seed] == picked[b, a, seed] for a, b, seed in both)
    firsts = Counter(answer == "A" for *_, answer in (e["judged"] for e in verdicts))
    return consistent / len(both), firsts[True] / len(verdicts)


def noisy_biased_judge(tmp_path):
    """The catalogue, its preferred order (alphabetical: the first task most objective),
    the scripted judge's preference file (20% noise, 30% position bias) and its log."""
    specs = load_catalog()
    truth = sorted(specs)
    preference = tmp_path / "prefer.json"
    preference.write_text(json.dumps({"order": [specs[t].description for t in truth],
                                      "noise": 0.2, "bias": 0.3}))
    return specs, truth, preference, tmp_path / "requests.jsonl"


def test_a_noisy_position_biased_judge_is_recovered_and_measured(tmp_path):
    specs, truth, preference, log = noisy_biased_judge(tmp_path)
    with loopback.running(free_port(), "--prefer", str(preference),
                          "--request-log", str(log)) as url:
        journal = Lake(tmp_path / "lake").journal
        judgments, usage = ask(url, specs, journal, repetitions=3)
        _, again = ask(url, specs, journal, repetitions=3)
    assert usage["requests_sent"] == 45 * 2 * 3 and again["requests_sent"] == 0
    ranked = subjectivity.ranking(judgments, truth, "llm judge")
    scores = ranked.set_index("task").loc[truth, "objectivity"]
    tau = kendalltau(scores, -pd.Series(range(len(truth)))).statistic
    assert tau >= 0.8, ranked
    consistency, first = expected(loopback.read_request_log(log))
    assert ranked["consistency"].iloc[0] == consistency
    assert ranked["pairs_both_orders"].iloc[0] == 45 * 3
    assert ranked["position_first"].iloc[0] == first
    assert 0.5 < consistency < 0.9 and first > 0.55, "the noise and the bias are there"
    assert ranked["signal"].all() and ranked["stars"].notna().all()
    inside = (ranked.objectivity_low <= ranked.objectivity) & (ranked.objectivity <= ranked.objectivity_high)
    assert inside.all()


def test_a_judge_that_always_names_the_first_task_has_no_signal(tmp_path):
    specs = load_catalog()
    preference = tmp_path / "prefer.json"
    preference.write_text(json.dumps({"order": [s.description for s in specs.values()],
                                      "bias": 1.0}))
    with loopback.running(free_port(), "--prefer", str(preference)) as url:
        judgments, _ = ask(url, specs, Lake(tmp_path / "lake").journal, repetitions=1)
    ranked = subjectivity.ranking(judgments, sorted(specs), "llm judge")
    assert ranked["consistency"].iloc[0] == 0.0 and ranked["position_first"].iloc[0] == 1.0
    assert not ranked["signal"].any()
    assert ranked["subjectivity_rank"].isna().all() and ranked["stars"].isna().all()


def test_with_logprobs_the_probabilities_are_averaged_over_both_orders(tmp_path):
    """An endpoint that returns logprobs: each judgment keeps the judge's probability of
    the first-shown task, Bradley-Terry averages them over both orders (the position
    bias cancels) and one repetition recovers the order exactly; the journal keeps the
    logprobs, so a re-run sends nothing and finds the same probabilities."""
    specs, truth, preference, log = noisy_biased_judge(tmp_path)
    with loopback.running(free_port(), "--prefer", str(preference),
                          "--request-log", str(log)) as url:
        journal = Lake(tmp_path / "lake").journal
        judgments, usage = ask(url, specs, journal, repetitions=1, logprobs=True)
        again, rerun = ask(url, specs, journal, repetitions=1, logprobs=True)
    assert usage["requests_sent"] == 90 and rerun["requests_sent"] == 0
    sent = sorted(e["p_a"] for e in loopback.read_request_log(log) if "p_a" in e)
    assert sorted(judgments["p_a"].round(9)) == sorted(round(p, 9) for p in sent)
    assert again["p_a"].tolist() == judgments["p_a"].tolist()
    ranked = subjectivity.ranking(judgments, truth, "llm judge")
    scores = ranked.set_index("task").loc[truth, "objectivity"]
    assert kendalltau(scores, -pd.Series(range(len(truth)))).statistic == pytest.approx(1.0)
    assert ranked["consistency"].iloc[0] == 1.0 and ranked["signal"].all()
