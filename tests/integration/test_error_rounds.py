"""Error-driven rounds end to end against the loopback endpoint: round 0 samples the
few-shot rows, each round's requests show the seed-pool texts the round's classifier got
wrong, every round has its macro-F1, and a re-run sends nothing. The rounds generate and
write through generation's own path: a run far short of its plan replaces nothing."""

import pandas as pd
import pytest

from synthlake.catalog import get_task
from synthlake.evaluation import train
from synthlake.generation import prompts, rounds
from synthlake.generation.generate import GenerationConfig, GenerationShortfall, generate
from synthlake.lake import Lake, query_file
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Method, Status
from tests.support import loopback


def test_two_rounds_record_f1_per_round_and_show_the_errors(lake: Lake, tmp_path):
    spec = get_task("sms_spam").with_judge("none")  # the loopback's texts carry no label
    write_real_examples(lake, spec, "real")
    log = tmp_path / "requests.jsonl"
    config = rounds.RoundsConfig(generation=GenerationConfig(n_per_label=12), rounds=2,
                                 max_test=300)
    with loopback.running(free_port(), "--request-log", str(log)) as url:
        endpoint = EndpointConfig(base_url=url, model="dev", backoff_base_s=0.05)
        generate(lake, spec, "r0", GenerationConfig(n_per_label=12), method=Method.FEW_SHOT,
                 endpoint=endpoint)
        before = lake.version("synthetic_examples")
        found = rounds.run(lake, spec, "r1", config, endpoint=endpoint, log=lambda _: None)
        sent = len(loopback.read_request_log(log))

        # 12 per label in three parts: round 0 samples 4 few-shot rows per label, each
        # round adds 4; the row of round r scores the set after round r.
        assert found["round"].tolist() == [0, 1, 2]
        assert found["n_train"].tolist() == [8, 16, 24]
        assert (found["macro_f1_low"] <= found["macro_f1"]).all()
        assert (found["macro_f1"] <= found["macro_f1_high"]).all()
        assert found["change"].isna().tolist() == [True, False, False]
        # The run is written once, after its last round (nothing before it can be partial).
        versions = [h for h in lake.history("error_rounds") if h.get("run_id") == "r1"]
        assert len(versions) == 1

        rows = lake.read("synthetic_examples", where={"method": "error_driven"}).to_pandas()
        kept = rows[rows["status"] == Status.ACCEPTED]
        per_round = kept["slot"].str.split("/").str[0].value_counts().to_dict()
        assert per_round == {"r0": 8, "r1": 8, "r2": 8}
        assert kept["example_id"].is_unique
        assert kept.groupby("label").size().to_dict() == {"ham": 12, "spam": 12}
        assert lake.version("synthetic_examples") > before

        # Round 1's demonstrations are the seed-pool texts round 0's classifier got wrong
        # (topped up with other pool texts only for a label with fewer than k errors).
        real = lake.read("real_examples", where={"task": "sms_spam"}).to_pandas()
        pool = pd.DataFrame([{"example_id": i, "text": t, "label": label}
                             for label, p in prompts.seed_pool(real, spec, 0).items()
                             for i, t in zip(p.example_ids, p.texts, strict=True)])
        zero = rows[rows["slot"].str.startswith("r0/")]
        errors = rounds.score(spec, zero, pool, train.test_split(lake, spec, 300), config, 0).errors
        assert len(errors) == found["validation_errors"].iloc[0]
        first = rows[rows["slot"].str.startswith("r1/")]
        for label, mine in first.groupby("label"):
            shown = {i for ids in mine["demo_example_ids"] for i in ids}
            wrong = set(errors[errors["label"] == label]["example_id"])
            assert shown and shown <= set(pool["example_id"])
            if len(wrong) >= spec.few_shot.k:
                assert shown <= wrong, label
        assert any(len(errors[errors["label"] == lab]) >= spec.few_shot.k for lab in ("ham", "spam"))
        verdicts = query_file(lake, "error_rounds.sql")["verdict"].tolist()
        assert pd.isna(verdicts[0]) and set(verdicts[1:]) <= {"distinguishable",
                                                              "not distinguishable"}

        again = rounds.run(lake, spec, "r2", config, endpoint=endpoint, log=lambda _: None)
        assert len(loopback.read_request_log(log)) == sent
        assert again.equals(found)


def test_rounds_far_short_of_their_plan_replace_nothing_as_generation_does(lake: Lake):
    """Rounds whose endpoint only fails are refused by generation's own rule, with its
    message, and leave every table (error_rounds included) as the good run wrote it; the
    rounds record generation's temperature, the one the endpoint applied."""
    spec = get_task("sms_spam").with_judge("none")
    write_real_examples(lake, spec, "real")
    generation = GenerationConfig(n_per_label=6, temperature=0.7)
    config = rounds.RoundsConfig(generation=generation, rounds=1, max_test=200)
    with loopback.running(free_port()) as url:
        good = EndpointConfig(base_url=url, model="dev", backoff_base_s=0.05)
        generate(lake, spec, "r0", generation, method=Method.FEW_SHOT, endpoint=good)
        rounds.run(lake, spec, "good", config, endpoint=good, log=lambda _: None)
    rows = lake.read("synthetic_examples", where={"method": "error_driven"}).to_pandas()
    assert set(rows["temperature"]) == {0.7}
    before = {t: lake.version(t) for t in ("synthetic_examples", "llm_responses",
                                           "error_rounds", "fidelity_calibration")}
    with loopback.running(free_port(), "--faults", "503", "--fault-rate", "1",
                           "--faults-per-request", "99") as url:
        bad = EndpointConfig(base_url=url, model="other", backoff_base_s=0.01, max_attempts=2)
        expected = r"ham 3 of 3, spam 3 of 3 \(100% of the plan\).*max_shortfall_share"
        with pytest.raises(GenerationShortfall, match=expected):
            rounds.run(lake, spec, "bad", config, endpoint=bad, log=lambda _: None)
        with pytest.raises(GenerationShortfall, match=r"\(100% of the plan\).*max_shortfall"):
            generate(lake, spec, "bad", generation, method=Method.FEW_SHOT, endpoint=bad)
    assert {t: lake.version(t) for t in before} == before
