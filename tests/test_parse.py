import pytest

from synthlake.catalog import get_task
from synthlake.parse import extract_text, rejection, salvage
from synthlake.similarity import near_duplicate_flags, similar_to_any

SPEC = get_task("sms_spam")  # word limits 3..40

CASES = [
    # raw answer, finish_reason, expected text, expected rejection
    ("Call now to win a free cruise today", "stop", "Call now to win a free cruise today", None),
    ('"Call now to win a free cruise today"', "stop", "Call now to win a free cruise today", None),
    ("Sure! Here is an SMS:\nWin a free phone now, reply YES", "stop",
     "Win a free phone now, reply YES", None),
    ("SMS: Are we still on for dinner tonight?", "stop", "Are we still on for dinner tonight?", None),
    ("**Message:** See you at the station at 6", "stop", "See you at the station at 6", None),
    ("1. Running late, save me a seat", "stop", "Running late, save me a seat", None),
    ("Here's a spam message: “URGENT your loan is approved”", "stop",
     "URGENT your loan is approved", None),
    ("", "stop", "", "empty"),
    ("   \n ", "stop", "", "empty"),
    ("I'm sorry, but I can't write spam messages.", "stop",
     "I'm sorry, but I can't write spam messages.", "refusal"),
    ("As an AI language model I cannot do that", "stop",
     "As an AI language model I cannot do that", "refusal"),
    ("Hi", "stop", "Hi", "too short"),
    (" ".join(["word"] * 41), "stop", " ".join(["word"] * 41), "too long"),
    ("Win a prize now by replying to this message before", "length", "", "truncated"),
]


@pytest.mark.parametrize(("raw", "expected"), [
    ("You won a prize. Call 0800 now to claim it. Call 0800 now to claim it. Call", 
     "You won a prize. Call 0800 now to claim it. Call 0800 now to claim it."),
    ("Call now to claim " + "it " * 50, ""),
    ("First part ends here! " + "more words " * 30 + ".", "First part ends here!"),
    ("Local Man Wins Award For Doing Nothing\nIn a stunning turn of events " + "the man " * 30,
     "Local Man Wins Award For Doing Nothing"),
])
def test_truncated_answers_keep_their_complete_sentences(raw, expected):
    assert salvage(extract_text(raw), "length", SPEC) == expected


@pytest.mark.parametrize(("raw", "finish", "text", "reason"), CASES)
def test_parser_table(raw, finish, text, reason):
    parsed = salvage(extract_text(raw), finish, SPEC)
    assert parsed == text
    assert rejection(parsed, finish, SPEC) == reason


def test_near_copies_of_demonstrations():
    demo = "Free entry in a weekly competition to win FA Cup final tickets. Text FA to 87121"
    assert similar_to_any([demo.upper()], [demo], 0.9) == [True]
    assert similar_to_any(["Hey! " + demo], [demo], 0.9) == [True]
    assert similar_to_any(["Your parcel is waiting, confirm the delivery fee now"], [demo], 0.9) \
        == [False]


def test_near_duplicates_are_flagged_in_order_and_do_not_depend_on_the_corpus():
    base = "Meet me at the old station at six with the tickets"
    texts = [base, base.replace("six", "sixx"), "Completely different words about pizza"]
    assert near_duplicate_flags(texts, 0.9).tolist() == [False, True, False]
    crowd = texts + [f"filler text number {i} on another topic" for i in range(50)]
    assert near_duplicate_flags(crowd, 0.9)[:3].tolist() == [False, True, False]


def test_sketch_prefilter_finds_exactly_what_the_full_comparison_finds(monkeypatch):
    """The fast path (sketch proposes, exact cosine decides, tile by tile) against the
    plain n x n comparison, on real SMS texts with edited copies planted among them."""
    import random

    import numpy as np
    import pandas as pd

    from synthlake import similarity
    from synthlake.realdata import data_dir

    monkeypatch.setattr(similarity, "TILE", 128)  # several tiles, rows and columns
    real = pd.read_parquet(data_dir() / "sms_spam" / "train.parquet")["text"].tolist()
    rng = random.Random(7)
    texts = rng.sample(real, 700)
    for _ in range(80):  # one word swapped, another dropped: near, not exact, copies
        words = rng.choice(texts).split()
        if len(words) > 6:
            words[rng.randrange(len(words))] = "tomorrow"
            del words[rng.randrange(len(words))]
            texts.insert(rng.randrange(len(texts)), " ".join(words))
    eligible = np.array([rng.random() > 0.1 for _ in texts])
    matrix = similarity.vectors(texts)
    full = (matrix @ matrix.T).toarray()
    for threshold in (0.8, 0.9):
        expected = np.zeros(len(texts), dtype=bool)
        for i in range(len(texts)):
            earlier = eligible[:i] & ~expected[:i]
            expected[i] = eligible[i] and bool((full[i, :i][earlier] >= threshold).any())
        got = similarity.near_duplicate_flags(texts, threshold, eligible)
        assert expected.sum() > 10
        assert got.tolist() == expected.tolist()
