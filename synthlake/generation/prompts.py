"""Prompts of the generation methods (Li et al., EMNLP 2023, and attributed), from a TaskSpec.

Zero-shot: one conversation stream per (label, stream index). The system message is
the task's context prompt; each user turn is the generation prompt with style values
sampled for that turn. After every `diversity.every` accepted texts, the next user turn
starts with the diversity prompt, so the model sees (the last `history_turns` of) what
it already wrote and is asked for something different:

    system:    You are a journalist writing news articles.
    user:      Write a news article on the topic Sports (...) in at most 60 words ...
    assistant: <accepted text 1>
    ...
    user:      Can you provide something more diverse compared to the previously
               generated data?
               Write a news article on the topic World (...) ...

Few-shot: independent requests. Each shows k real train examples of the same label,
drawn (seeded) from that label's seed pool, then the imitation constraint and the
generation prompt:

    system: <context prompt>
    user:   Here are examples of texts with the label "spam":
            Example 1: <real text>
            ...
            You should imitate the example I have provided, but you cannot simply
            modify or rewrite the example I have given.
            <generation prompt>

Attributed (not the paper's): independent requests, each asking for one value of every
attribute dimension (`attributes.py` deals them, balanced); dimensions the generation
prompt has slots for fill those, the others are listed:

    system: <context prompt>
    user:   <generation prompt>
            The text should have these properties:
            - tone: formal
            - subtopic: a lottery prize

Every random choice comes from `rng_for(...)`, seeded by the slot it serves, so a
re-run rebuilds the same prompts and finds their answers in the journal.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import pandas as pd

from synthlake.catalog import TaskSpec


def rng_for(*parts: object) -> random.Random:
    """A generator seeded by a readable key (string seeds are hashed with SHA-512)."""
    return random.Random(":".join(str(p) for p in parts))


def request_seed(*parts: object) -> int:
    """A stable 31-bit seed for the endpoint's `seed` parameter."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16) >> 1


def generation_prompt(spec: TaskSpec, label: str, rng: random.Random,
                      given: dict[str, str] | None = None) -> str:
    """The task's generation prompt with the label, word limits and style values: sampled,
    or as `given` (attributed generation's values of the same dimensions)."""
    slots: dict[str, object] = {name: rng.choice(values)
                                for name, values in sorted(spec.style_attributes.items())}
    slots.update({name: value for name, value in (given or {}).items() if name in slots})
    slots.update(
        label=label,
        label_description=spec.label(label).description.rstrip("."),
        max_words=spec.word_limits.max,
        min_words=spec.word_limits.min,
    )
    return spec.generation_prompt.format(**slots).strip()


@dataclass
class Turn:
    user: str
    assistant: str


def zero_shot_user_turn(spec: TaskSpec, label: str, rng: random.Random, diversity: bool) -> str:
    prompt = generation_prompt(spec, label, rng)
    return f"{spec.diversity.prompt}\n{prompt}" if diversity else prompt


def zero_shot_messages(spec: TaskSpec, history: list[Turn], user: str) -> list[dict]:
    """System, the last `history_turns` accepted exchanges, then the new user turn.
    Bounding the history keeps every prompt the same size however long the stream."""
    kept = history[-spec.diversity.history_turns:] if spec.diversity.history_turns else []
    messages = [{"role": "system", "content": spec.context_prompt}]
    for turn in kept:
        messages += [{"role": "user", "content": turn.user},
                     {"role": "assistant", "content": turn.assistant}]
    messages.append({"role": "user", "content": user})
    return messages


def diversity_due(accepted: int, every: int, issued: int) -> bool:
    """True when `accepted` texts call for one more diversity turn than `issued` so far."""
    return accepted // every > issued


def few_shot_messages(spec: TaskSpec, label: str, demos: list[str], rng: random.Random) -> list[dict]:
    examples = "\n".join(f"Example {i}: {text}" for i, text in enumerate(demos, start=1))
    user = (
        f'Here are examples of texts with the label "{label}":\n{examples}\n\n'
        f"{spec.few_shot.constraint}\n{generation_prompt(spec, label, rng)}"
    )
    return [{"role": "system", "content": spec.context_prompt},
            {"role": "user", "content": user}]


def attributed_messages(spec: TaskSpec, label: str, values: dict[str, str],
                        rng: random.Random) -> list[dict]:
    """The generation prompt with one value per attribute dimension: the dimensions the
    prompt has slots for fill them, the others are listed after it."""
    listed = "\n".join(f"- {dim.replace('_', ' ')}: {value}" for dim, value in values.items()
                       if dim not in spec.style_attributes)
    user = generation_prompt(spec, label, rng, values)
    if listed:
        user += f"\nThe text should have these properties:\n{listed}"
    return [{"role": "system", "content": spec.context_prompt},
            {"role": "user", "content": user}]


@dataclass(frozen=True)
class DemoPool:
    """One label's seed pool as plain tuples: sampling from it happens once per request,
    and pandas indexing there cost more CPU than the HTTP exchange."""

    example_ids: tuple[str, ...]
    texts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, k: int, rng: random.Random) -> tuple[list[str], list[str]]:
        """(example ids, texts) of k demonstrations, in pool order."""
        picks = sorted(rng.sample(range(len(self.texts)), k))
        return [self.example_ids[i] for i in picks], [self.texts[i] for i in picks]


def seed_pool(real: pd.DataFrame, spec: TaskSpec, seed: int) -> dict[str, DemoPool]:
    """Per label, a seeded sample of real *train* texts (never validation or test):
    the only real data few-shot generation may show the model."""
    train = real[real["split"] == "train"]
    pool = {}
    for label in spec.label_names:
        rows = train[train["label"] == label].sort_values("example_id")
        n = min(spec.few_shot.seed_pool_per_label, len(rows))
        if n < spec.few_shot.k:
            raise ValueError(f"task {spec.name}: label {label!r} has {len(rows)} train examples, "
                             f"fewer than few_shot.k={spec.few_shot.k}")
        sample = rows.sample(n=n, random_state=seed)
        pool[label] = DemoPool(tuple(sample["example_id"]), tuple(sample["text"]))
    return pool
