"""Attributed generation against a scripted proposer on loopback: the LLM's attributes
are stored with their source, every request asks for one value per dimension, dealt
evenly (chi-square) and by seed, and a re-run sends nothing."""

import json
from collections import Counter

from scipy.stats import chisquare

from synthlake.catalog import get_task
from synthlake.cli import main as cli
from synthlake.generation import attributes
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.measures import coverage
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Method
from tests.support import loopback

SCRIPT = [
    ["dimensions along which", "1. Tone\n2. Sender\n3. Urgency"],
    ['dimension "tone"', "friendly\nformal\nshouting\nplayful"],
    ['dimension "sender"', "- a friend\n- a bank\n- a shop"],
    ['dimension "urgency"', "none, today, right now"],
    ['labelled "ham"', "dinner plans\nrunning late\na birthday"],
    ['labelled "spam"', "a lottery prize\ncheap loans\nfree ringtones\na fake parcel"],
]


def endpoint(url: str) -> EndpointConfig:
    return EndpointConfig(base_url=url, model="dev", backoff_base_s=0.05, backoff_max_s=0.5)


def asked(lake: Lake) -> list[dict]:
    rows = lake.read("synthetic_examples", where={"method": Method.ATTRIBUTED}).to_pylist()
    return [{"label": r["label"], **{a["dimension"]: a["value"] for a in r["attributes"]}}
            for r in rows]


def test_proposed_attributes_are_dealt_evenly_by_seed_and_paid_once(lake, tmp_path):
    spec = get_task("sms_spam").with_judge("none")  # the loopback's texts carry no label
    write_real_examples(lake, spec, "real")
    script, log = tmp_path / "script.json", tmp_path / "requests.jsonl"
    script.write_text(json.dumps(SCRIPT))
    config = GenerationConfig(n_per_label=48, seed=0)
    with loopback.running(free_port(), "--script", str(script), "--request-log", str(log)) as url:
        frame = attributes.propose(lake, spec, "r1", endpoint=endpoint(url)).frame
        generate(lake, spec, "r1", config, method=Method.ATTRIBUTED, endpoint=endpoint(url))
        first = asked(lake)
        sent = len(loopback.read_request_log(log))

        stored = lake.read("attributes").to_pandas()
        by_dim = stored.groupby("dimension")["source"].first().to_dict()
        assert by_dim == {"tone": "llm", "sender": "llm", "urgency": "llm", "subtopic": "llm",
                          "topic": "yaml"}
        assert set(stored[stored["dimension"] == "subtopic"]["label"]) == {"ham", "spam"}

        # Evenly dealt: per label and dimension, the requested values pass a chi-square
        # test of uniformity and differ by at most one.
        for label in ("ham", "spam"):
            mine = [row for row in first if row["label"] == label]
            for dim in ("tone", "sender", "urgency", "subtopic", "topic"):
                counts = Counter(row[dim] for row in mine)
                allowed = set(stored[(stored["dimension"] == dim)
                                     & stored["label"].isin([label, None])]["value"])
                assert set(counts) == allowed, (label, dim)
                assert max(counts.values()) - min(counts.values()) <= 1
                assert chisquare(list(counts.values())).pvalue > 0.5

        # A re-run asks the same questions: all from the journal, nothing sent.
        proposal = attributes.propose(lake, spec, "r2", endpoint=endpoint(url))
        report = generate(lake, spec, "r2", config, method=Method.ATTRIBUTED,
                          endpoint=endpoint(url))
        assert len(loopback.read_request_log(log)) == sent
        assert proposal.usage["requests_sent"] == 0 and report.usage["requests_sent"] == 0
        assert proposal.frame.equals(frame) and asked(lake) == first

        # Another seed deals another order.
        generate(lake, spec, "r3", config.model_copy(update={"seed": 1}), method=Method.ATTRIBUTED,
                 endpoint=endpoint(url))
        assert [r["tone"] for r in asked(lake)] != [r["tone"] for r in first]

    cells = coverage.compute(lake, "sms_spam")
    tone = cells[cells["dimension"] == "tone"]
    assert tone["requested"].sum() == len(asked(lake))
    assert set(tone["value"]) == {"friendly", "formal", "shouting", "playful"}


def test_the_cli_writes_the_attribute_set_and_prints_it(tmp_path, capsys, monkeypatch):
    root = tmp_path / "lake"
    write_real_examples(Lake(root), get_task("sms_spam"), "real")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    with loopback.running(free_port(), "--script", str(script)) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("SYNTHLAKE_MODEL", "dev")
        code = cli(["--lake", str(root), "attributes", "--task", "sms_spam"])
    out = capsys.readouterr().out
    stored = Lake(root).read("attributes").to_pandas()
    assert code == 0
    assert {"tone", "sender", "urgency", "subtopic"} <= set(stored["dimension"])
    assert f"sms_spam: {len(stored)} values in {stored['dimension'].nunique()} dimensions" in out
