"""From a raw LLM answer to one candidate text, or a rejection with its reason.

`extract_text` strips what models wrap around the text: chatty preambles ("Sure! Here
is a review:"), labels ("Review:", "SMS:", "Headline:"), numbering and bullets, markdown
emphasis and surrounding quotes. `rejection` then decides whether the text may be kept.
Reasons are short fixed strings, so they group well in SQL:

    empty | refusal | assistant talk | template placeholder | repetitive | truncated |
    too short | too long | endpoint error | request too large
    duplicate | copies a demonstration | surplus beyond quota   (set by generate.py)
"""

from __future__ import annotations

import re

from synthlake.catalog import TaskSpec
from synthlake.vocabulary import Reason

LEAD_IN = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|absolutely)\b[,!.]?\s*", re.IGNORECASE)
INTRO = re.compile(r"^\s*(?:here(?:'s| is| are)|below is)\b[^\n:]*:\s*", re.IGNORECASE)
LABEL_PREFIX = re.compile(
    r"^\s*(?:\*\*)?(?:review|sms|message|text|tweet|headline|title|comment|sentence|article|"
    r"news|post|answer|output|example(?: \d+)?|joke)\s*(?:\d+)?\s*(?:\*\*)?\s*[:\-–]\s*",
    re.IGNORECASE,
)
NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|sorry,|i can(?:'|no)t|i cannot|i won'?t|as an ai|"
    r"i'm unable|i am unable|i'm not able)",
    re.IGNORECASE,
)
# The assistant talking about itself or the task instead of writing the text.
ASSISTANT_TALK = re.compile(
    r"^\s*(?:(?:hi|hello|hey)\b[,!.]?\s*)?(?:"
    r"(?:i'?m|i am|i'?d be|i would be)\s+(?:here|happy|glad|delighted)\s+to\s+(?:help|assist)|"
    r"(?:i'?m|i am)\s+an?\s+(?:ai|assistant|language model|chatbot)\b|"
    r"as an? (?:ai|assistant|(?:large )?language model)\b|"
    r"how (?:can|may) i (?:help|assist)|"
    r"(?:sure|certainly|of course)\b[,!.]?\s+here(?:'s| is| are)\b|"
    r"here(?:'s| is| are) (?:an?|the|your|some) (?:\w+ )?(?:sms|message|text|review|headline|tweet|"
    r"article|sentence|example|post|comment)s?\b(?![^\n]*:)"
    r")", re.IGNORECASE)
# Unfilled template slots addressed to the reader: "[Your Name]", "[Recipient's Name]",
# "[insert date]". A bare "[NAME]" is left alone: GoEmotions anonymizes names that way.
PLACEHOLDER = re.compile(r"\[(?:your|recipient|insert|enter|add)\b[^\]]{0,40}\]", re.IGNORECASE)
QUOTES = "\"'“”‘’«»`"


def extract_text(raw: str | None) -> str:
    """The text inside an answer, without wrappers; '' when nothing is left."""
    if not raw:
        return ""
    text = raw.strip()
    text = LEAD_IN.sub("", text, count=1)
    text = INTRO.sub("", text, count=1).strip()
    text = LABEL_PREFIX.sub("", text, count=1)
    text = NUMBERING.sub("", text, count=1)
    text = text.replace("**", "").strip()
    if len(text) >= 2 and text[0] in QUOTES and text[-1] in QUOTES:
        text = text[1:-1].strip()
    elif text.count('"') == 1 and text.startswith('"'):
        text = text[1:].strip()  # an opening quote the model never closed
    # Line breaks stay until `salvage` has used them as boundaries.
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def word_count(text: str) -> int:
    return len(text.split())


# A sentence end, or a line end: a headline or a tweet often stands on its own line.
SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s|$)|(?=\n)")


def complete_sentences(text: str, max_words: int) -> str:
    """The longest run of whole sentences (or lines) from the start that fits in
    `max_words`; '' when not even the first is complete or fits. Used on answers cut off by
    `max_tokens`: small models often write one good sentence or headline, then ramble."""
    best = ""
    for match in SENTENCE_END.finditer(text):
        candidate = text[: match.end()].strip()
        if word_count(candidate) > max_words:
            break
        best = candidate
    return best


def salvage(text: str, finish_reason: str | None, spec: TaskSpec) -> str:
    """For a truncated answer, keep its complete sentences (or first lines); every answer
    leaves on one line."""
    if finish_reason == "length":
        text = complete_sentences(text, spec.word_limits.max)
    return " ".join(text.split())


def repetitive(text: str) -> bool:
    """A small model's loop: one sentence said over and over, or a run of one word.
    Judged on texts of 12 words or more, where a real text rarely repeats itself."""
    words = [w.strip(".,!?;:\"'").lower() for w in text.split()]
    if len(words) < 12:
        return False
    trigrams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    return len(set(words)) / len(words) < 0.35 or len(set(trigrams)) / len(trigrams) < 0.6


def rejection(text: str, finish_reason: str | None, spec: TaskSpec) -> str | None:
    """Why `text` (after `salvage`) cannot be kept, or None. Checks that need no other
    texts. A truncated answer with no complete sentence left is `truncated`."""
    if finish_reason == "length" and not text:
        return Reason.TRUNCATED
    if not text:
        return Reason.EMPTY
    if REFUSAL.match(text):
        return Reason.REFUSAL
    if ASSISTANT_TALK.match(text):
        return Reason.ASSISTANT_TALK
    if PLACEHOLDER.search(text):
        return Reason.TEMPLATE_PLACEHOLDER
    words = word_count(text)
    if words < spec.word_limits.min:
        return Reason.TOO_SHORT
    if words > spec.word_limits.max:
        return Reason.TOO_LONG
    if repetitive(text):
        return Reason.REPETITIVE
    return None
