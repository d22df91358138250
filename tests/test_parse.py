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
