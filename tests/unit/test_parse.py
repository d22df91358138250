import pytest

from synthlake.catalog import get_task
from synthlake.generation.parse import extract_text, rejection, salvage
from synthlake.generation.similarity import near_duplicate_flags, similar_to_any

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



# Verbatim answers of the embedded SmolLM2-135M (sms_spam zero-shot, from the
# `llm_responses` of a run before sampling was turned on), with what must become of them.
EMBEDDED_ANSWERS = [
    ("I'm here to help with your work, and I'm happy to assist you in any way I can. If you "
     "need help with your work, I'm here to help. I'm a creative AI, and I can help with any "
     "project you're working on. I'm here to help with any project you're working on. I",
     "length", "assistant talk"),
    ("I'm here to help with your business, and I'm happy to assist with any project.", "stop",
     "assistant talk"),
    ('SMS: "Dear [Recipient\'s Name]\n\nSMS: "Dear [Recipient\'s Name]\n\nSMS: "SMS: [Your '
     'Message]\n\nSMS: "SMS: [Your Message]\n\nSMS: "SMS: [Your Message]\n\nSMS:', "length",
     "template placeholder"),
    ('SMS: "SMS: Please provide a valid phone number for a contract. Please ensure it is a valid '
     'number. Please provide a valid contract number. Please provide a valid contract number. '
     'Please provide a valid contract number. Please provide a contract number. Please provide a '
     'contract number. Please provide a contract number. Please provide a contract', "length",
     "repetitive"),
    ('"Hello, I am a creative and innovative person. I have a contract with a local phone company. '
     'I am happy to discuss the details of my contract and provide you with a unique message.',
     "stop", None),
    ("Sure, here is an SMS message that is unique", "stop", "assistant talk"),
    ("As an AI, I can write that: call us now for a free ringtone", "stop", "refusal"),
    ("I am an AI assistant and this is your SMS: call us now", "stop", "assistant talk"),
    ("Hello! How can I help you today?", "stop", "assistant talk"),
    # Real texts that look alike and must stay
    ("I'm here at the station, where are you?", "stop", None),
    ("Call now! Call now! Your prize of 2000 pounds is waiting, reply WIN today", "stop", None),
]


@pytest.mark.parametrize(("raw", "finish", "reason"), EMBEDDED_ANSWERS)
def test_meta_answers_of_the_embedded_model_are_rejected(raw, finish, reason):
    assert rejection(salvage(extract_text(raw), finish, SPEC), finish, SPEC) == reason

