"""Attributes: the proposal's parsing and merging, the balanced seeded sampler, and
attributed generation through the in-process wire (rows carry their values, coverage
counts them, a re-run sends nothing)."""

from collections import Counter

import pytest
from scipy.stats import chisquare

from synthlake.analysis import plots
from synthlake.catalog import AttributeValues, get_task
from synthlake.generation import attributes, fidelity
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import query_file
from synthlake.measures import coverage
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Method
from tests.support.fake_wire import FakeWire, fake_endpoint, words_for

DIMENSIONS = "Here are some dimensions:\n1. **Tone**: how it sounds\n2. Length\n3. Sender persona"
VALUES = {"tone": "- formal\n- casual\n- urgent\n- Formal\n- spam",
          "length": "short, medium, long",
          "sender persona": "1. a friend\n2. a bank\n3. a shop\n4. This is a sentence that is far "
                            "too long to be an attribute value at all"}
SUBTOPICS = {"ham": "dinner plans\nrunning late\nbirthday wishes",
             "spam": "lottery prize\ncheap loans\nfree ringtones"}


def proposer(body: dict) -> str:
    """Answers the three kinds of proposal question; anything else gets random words."""
    if body["messages"][0]["content"] != attributes.SYSTEM:
        return "ham" if body["messages"][0]["content"] == fidelity.SYSTEM else words_for(body)
    ask = body["messages"][-1]["content"]
    if "dimensions along which" in ask:
        return DIMENSIONS
    for dim, answer in VALUES.items():
        if f'dimension "{dim}"' in ask:
            return answer
    return next(answer for label, answer in SUBTOPICS.items() if f'labelled "{label}"' in ask)


@pytest.fixture
def spec(lake):
    spec = get_task("sms_spam")
    write_real_examples(lake, spec, "real")
    return spec


def with_attributes(spec, **changes):
    return spec.model_copy(update={"attributes": spec.attributes.model_copy(update=changes)})


def test_list_answers_are_parsed_whatever_their_shape():
    assert attributes.parse_items(DIMENSIONS, 5) == ["Tone", "Length", "Sender persona"]
    assert attributes.parse_items(VALUES["length"], 5) == ["short", "medium", "long"]
    assert attributes.parse_items(VALUES["tone"], 2) == ["formal", "casual"]
    assert attributes.parse_items("", 5) == [] and attributes.parse_items(None, 5) == []


def test_merge_pins_adds_forbids_and_drops_label_names_and_thin_dimensions(spec):
    spec = with_attributes(
        spec,
        pin=[AttributeValues(dimension="length", values=["one line"])],
        add=[AttributeValues(dimension="tone", values=["polite"])],
        forbid=[AttributeValues(dimension="tone", values=["URGENT"])])
    proposed = [{"label": None, "dimension": "tone", "value": v}
                for v in ("formal", "urgent", "Spam", "Formal ")]
    proposed += [{"label": None, "dimension": "length", "value": "long"},
                 {"label": None, "dimension": "mood", "value": "only one"}]
    user = attributes.user_entries({"spam:subtopic": ["a fake parcel"]}, spec)
    frame = attributes.merge(spec, proposed, user)
    got = {(lab, d): sorted(g["value"]) for (lab, d), g in
           frame.fillna({"label": "*"}).groupby(["label", "dimension"])}
    assert got[("*", "tone")] == ["formal", "polite"]  # urgent forbidden, spam a label name
    assert got[("*", "length")] == ["one line"]  # pinned: the LLM's value is not used
    assert ("*", "mood") not in got  # an LLM dimension with one value
    assert got[("spam", "subtopic")] == ["a fake parcel"]
    assert got[("*", "topic")] == sorted(spec.style_attributes["topic"])
    assert set(frame["source"]) == {"llm", "yaml", "user"}
    with pytest.raises(attributes.AttributeSetError, match="names label 'scam'"):
        attributes.user_entries({"scam:subtopic": ["x"]}, spec)


def test_the_sampler_is_balanced_and_seeded():
    rows = [{"label": None, "dimension": "tone", "value": v} for v in "abcde"]
    rows += [{"label": "spam", "dimension": "subtopic", "value": v} for v in "xyz"]
    import pandas as pd

    chosen = attributes.AttributeSet.of("t", pd.DataFrame(rows))
    draws = [chosen.assign("spam", i, 0, "t") for i in range(300)]
    for dim, k in (("tone", 5), ("subtopic", 3)):
        counts = Counter(d[dim] for d in draws)
        assert len(counts) == k and max(counts.values()) - min(counts.values()) <= 1
        assert chisquare(list(counts.values())).pvalue > 0.99
    assert "subtopic" not in chosen.assign("ham", 0, 0, "t")
    assert draws == [chosen.assign("spam", i, 0, "t") for i in range(300)]
    assert draws != [chosen.assign("spam", i, 1, "t") for i in range(300)]
    # Not one fixed cycle: the order of values changes from round to round.
    assert len({tuple(d["tone"] for d in draws[k:k + 5]) for k in range(0, 300, 5)}) > 10


def test_attributed_generation_records_values_and_a_rerun_sends_nothing(lake, spec):
    spec = spec.with_judge("none")
    wire = FakeWire(proposer)
    proposal = attributes.propose(lake, spec, "r1", endpoint=fake_endpoint(), wire=wire)
    frame = proposal.frame
    assert proposal.usage["requests_sent"] == 1 + 3 + 2  # dimensions, values of 3, subtopics of 2
    stored = lake.read("attributes", where={"task": "sms_spam"}).to_pandas()
    assert {"tone", "length", "sender_persona", "subtopic", "topic"} == set(stored["dimension"])
    config = GenerationConfig(n_per_label=12)
    report = generate(lake, spec, "r1", config, method=Method.ATTRIBUTED, endpoint=fake_endpoint(),
                      wire=wire)
    assert report.accepted == {"ham": 12, "spam": 12}
    rows = lake.read("synthetic_examples", where={"method": "attributed"}).to_pandas()
    asked = [dict((a["dimension"], a["value"]) for a in row) for row in rows["attributes"]]
    assert all({"tone", "length", "sender_persona", "topic", "subtopic"} == set(a) for a in asked)
    spam = [a["subtopic"] for a, lab in zip(asked, rows["label"], strict=True) if lab == "spam"]
    assert set(spam) == {"lottery prize", "cheap loans", "free ringtones"}
    assert rows["prompt_version"].iloc[0] != spec.prompt_version
    sent = len(wire.bodies)
    prompt = next(b for b in wire.bodies if "subtopic: lottery prize" in b["messages"][-1]["content"])
    assert "The text should have these properties" in prompt["messages"][-1]["content"]

    again = FakeWire(proposer)
    proposal2 = attributes.propose(lake, spec, "r2", endpoint=fake_endpoint(), wire=again)
    generate(lake, spec, "r2", config, method=Method.ATTRIBUTED, endpoint=fake_endpoint(),
             wire=again)
    assert again.bodies == [] and proposal2.usage["requests_sent"] == 0
    assert sent == len(wire.bodies) and proposal2.frame.equals(frame)

    cells = coverage.compute(lake, "sms_spam")
    assert set(cells["method"]) == {"attributed"}
    tone = cells[(cells["dimension"] == "tone") & (cells["label"] == "spam")]
    assert tone["requested"].sum() == (rows["label"] == "spam").sum()
    assert tone["accepted"].sum() == 12
    written, _ = coverage.write(lake, spec, "r2")
    assert written.equals(cells) and lake.read("attribute_coverage").num_rows == len(cells)
    listed = query_file(lake, "attribute_coverage.sql")
    assert len(listed) == len(cells) and "verdict" in listed.columns
    drawn = plots.coverage(cells, "sms_spam", lake.local / "coverage.png")
    assert drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unparsable_proposal_with_nothing_in_the_task_file_is_a_clear_error(lake, spec):
    bare = spec.model_copy(update={"style_attributes": {}, "generation_prompt":
                                   "Write an SMS that is {label} in at most {max_words} words."})
    with pytest.raises(attributes.AttributeSetError, match="sms_spam: no usable attributes"):
        attributes.propose(lake, bare, "r1", endpoint=fake_endpoint(),
                           wire=FakeWire(lambda body: "I cannot help with that."))
    assert not lake.exists("attributes")  # nothing partial is written


def test_attributed_generation_without_attributes_names_the_asset(lake, spec):
    with pytest.raises(attributes.AttributeSetError, match="materialize the `attributes` asset"):
        generate(lake, spec, "r1", GenerationConfig(n_per_label=2), method=Method.ATTRIBUTED,
                 endpoint=fake_endpoint(), wire=FakeWire(proposer))


def test_the_cli_says_what_to_run_first_in_one_line(tmp_path, capsys):
    from synthlake.cli import main as cli

    lake = ["--lake", str(tmp_path / "lake")]
    assert cli([*lake, "real", "--task", "sms_spam"]) == 0
    capsys.readouterr()
    assert cli([*lake, "generate", "--task", "sms_spam", "--method", "attributed"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "materialize the `attributes` asset" in error
    assert cli([*lake, "rounds", "--task", "sms_spam"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == ("error: task sms_spam: no few_shot rows to start from; generate "
                     "few_shot first")


def test_each_proposal_shows_one_worked_example_and_its_items_are_not_taken():
    """The question comes after one worked exchange of its own kind on another task (the
    embedded model answers in lists only then); an item copied from that example is not a
    proposal for this task."""
    spec = get_task("sms_spam")
    for kind, messages in [("dimensions", attributes.dimensions_messages(spec)),
                           ("values", attributes.values_messages(spec, "tone")),
                           ("subtopics", attributes.subtopics_messages(spec, "spam"))]:
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[2]["content"].splitlines() == attributes.EXAMPLE_ANSWERS[kind]
        assert messages[3]["content"].startswith(f"Task: {spec.description}")
    copied = "Kitchen appliance\nprize draw\nrunning shoes\nfree ringtone"
    assert attributes.parse_items(copied, 5) == ["prize draw", "free ringtone"]
