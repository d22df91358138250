"""Label-fidelity judges on a planted set: real texts of known label, some submitted
under the wrong requested label."""

import pandas as pd
import pytest

from synthlake import tables
from synthlake.catalog import get_task
from synthlake.generation import fidelity
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Judge


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """sms_spam's real data in a lake, and 60 real *test* texts (never in a judge's
    training data), a third of them written into synthetic_examples under the other label."""
    from synthlake.lake import Lake

    lake = Lake(tmp_path_factory.mktemp("fidelity") / "lake")
    spec = get_task("sms_spam")
    write_real_examples(lake, spec, "real")
    test = lake.read("real_examples", where={"task": "sms_spam", "split": "test"}).to_pandas()
    rows = pd.concat([test[test.label == lab].sample(30, random_state=1) for lab in ("ham", "spam")])
    rows = rows.reset_index(drop=True)
    wrong = rows.index % 3 == 0
    requested = rows["label"].where(~wrong, rows["label"].map({"ham": "spam", "spam": "ham"}))
    synthetic = [{"task": "sms_spam", "method": "few_shot", "label": req, "text": text,
                  "example_id": eid, "status": "accepted", "model": "planted"}
                 for req, text, eid in zip(requested, rows["text"], rows["example_id"], strict=True)]
    lake.write_partition("synthetic_examples", tables.from_rows("synthetic_examples", synthetic),
                         {"task": "sms_spam", "method": "few_shot"}, "planted")
    return lake, spec, dict(zip(rows["example_id"], wrong, strict=True))


def test_the_oracle_learns_from_at_most_oracle_per_label_texts(planted):
    """`oracle_per_label` caps the oracle's real train texts per label (the demo gives it
    500 of the 2,000 default, for time); the seed classifier is not affected."""
    lake, spec, _ = planted
    panel = fidelity.Judges(lake, spec, config=fidelity.FidelityConfig(oracle_per_label=40))
    oracle = panel.get(Judge.REAL_ORACLE, "few_shot")
    real = panel._real().drop_duplicates("text").set_index("text")
    assert len(oracle.trained_on) == 80
    assert real.loc[list(oracle.trained_on), "label"].value_counts().to_dict() == {"ham": 40, "spam": 40}
    default = fidelity.Judges(lake, spec).get(Judge.REAL_ORACLE, "few_shot")
    assert len(default.trained_on) > 80


@pytest.mark.parametrize("judge", [Judge.SEED_CLASSIFIER, Judge.REAL_ORACLE])
def test_a_judge_rejects_the_planted_mislabels_and_keeps_the_rest(planted, judge):
    lake, spec, wrong = planted
    found, versions, _ = fidelity.judge_task(lake, spec, "r1", judges=(judge,))
    frame = found[found["sample"] == "synthetic"].reset_index(drop=True)
    assert list(versions) == ["few_shot"] and len(frame) == len(wrong)
    planted_wrong = frame["example_id"].map(wrong)
    kept_right = frame.loc[~planted_wrong, "agrees"].mean()
    caught_wrong = (~frame.loc[planted_wrong, "agrees"]).mean()
    assert kept_right >= 0.9 and caught_wrong >= 0.9, (kept_right, caught_wrong)
    # Its probabilities say the same: low for the planted mislabels, high for the rest.
    assert frame.loc[planted_wrong, "p_requested"].median() < 0.2
    assert frame.loc[~planted_wrong, "p_requested"].median() > 0.8
    stored = lake.read("label_fidelity", where={"task": "sms_spam", "method": "few_shot"})
    assert stored.num_rows == len(found) and set(stored.column("judge").to_pylist()) == {judge}
    # Beside the synthetic rows, the same judge on the held-out real texts (its ceiling).
    held = found[found["sample"] == "real_heldout"]
    assert len(held) == 2 * spec.fidelity.calibration_per_label and held["agrees"].mean() > 0.8


def test_the_seed_classifier_learns_only_from_the_seed_pool(planted):
    from synthlake.generation import prompts

    lake, spec, _ = planted
    real = lake.read("real_examples", where={"task": "sms_spam"}).to_pandas()
    pool = prompts.seed_pool(real, spec, seed=0)
    judge = fidelity.seed_classifier(real, spec, seed=0)
    assert sorted(judge.trained_on) == sorted(t for p in pool.values() for t in p.texts)
    assert len(judge.trained_on) == 2 * spec.few_shot.seed_pool_per_label
    assert judge.name == Judge.SEED_CLASSIFIER and list(judge.model.classes_) == ["ham", "spam"]


def test_a_scripted_llm_judge_rejects_the_mislabels_and_a_rerun_pays_nothing(planted, tmp_path):
    """The loopback endpoint answers each text's true label by rule (options shuffled in
    the prompt do not matter to it); the journal answers the second run."""
    import json

    from synthlake.llm import EndpointConfig
    from synthlake.llm.embedded import free_port
    from tests.support import loopback

    lake, spec, wrong = planted
    rows = lake.read("synthetic_examples", where={"task": "sms_spam"}).to_pandas()
    flip = {"ham": "spam", "spam": "ham"}
    truth = [[text, flip[req] if wrong[eid] else req]
             for text, req, eid in zip(rows.text, rows.label, rows.example_id, strict=True)]
    script = tmp_path / "script.json"
    script.write_text(json.dumps(truth))
    with loopback.running(free_port(), "--script", str(script)) as url:
        endpoint = EndpointConfig(base_url=url, model="dev")
        frame, _, usage = fidelity.judge_task(lake, spec, "r1", judges=(Judge.LLM,),
                                              endpoint=endpoint)
        again, _, usage_again = fidelity.judge_task(lake, spec, "r2", judges=(Judge.LLM,),
                                                    endpoint=endpoint)
    held = len(frame[frame["sample"] == "real_heldout"])
    frame, again = (f[f["sample"] == "synthetic"].reset_index(drop=True) for f in (frame, again))
    planted_wrong = frame["example_id"].map(wrong)
    assert (frame["agrees"] == ~planted_wrong).all()
    assert set(frame.loc[planted_wrong, "p_requested"]) == {0.0}
    assert usage["requests_sent"] == len(rows) + held and usage_again["requests_sent"] == 0
    assert usage_again["cached"] == len(rows) + held
    assert again["agrees"].tolist() == frame["agrees"].tolist()


JUDGE_SCRIPT = """
import sys
from synthlake.generation import fidelity
from synthlake.catalog import get_task
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
from synthlake.vocabulary import Judge
url, root = sys.argv[1:3]
fidelity.judge_task(Lake(root), get_task("sms_spam"), "run", judges=(Judge.LLM,),
                    endpoint=EndpointConfig(base_url=url, model="judge-kill", max_concurrency=4))
"""


def test_kill_9_while_judging_then_resume_resends_only_what_was_in_flight(planted, tmp_path):
    import subprocess
    import sys
    from collections import Counter

    from synthlake.llm.embedded import free_port
    from tests.support import loopback
    from tests.support.crash import kill_9_after
    from tests.support.data import REPO

    lake, spec, wrong = planted
    log, journal = tmp_path / "requests.jsonl", lake.journal
    with loopback.running(free_port(), "--latency", "0.25", "--request-log", str(log)) as url:
        args = [sys.executable, "-c", JUDGE_SCRIPT, url, str(lake.root)]
        left = kill_9_after(args, journal, answers=15)
        assert 15 <= left["answered"] < len(wrong), "killed in the middle"
        subprocess.run(args, cwd=REPO, check=True)
    sent = Counter(entry["key"] for entry in loopback.read_request_log(log))
    assert sum(n - 1 for n in sent.values()) <= left["in_flight"] <= 4
    # Every row and every held-out real text judged once, whatever the crash.
    questions = len(wrong) + 2 * spec.fidelity.calibration_per_label
    assert len(sent) == questions
    stored = lake.read("label_fidelity", where={"task": "sms_spam", "method": "few_shot"})
    assert stored.num_rows == questions
