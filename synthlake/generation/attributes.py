"""Attributes the model proposes, and the balanced sampler of attributed generation.

After AttrPrompt (Yu et al., NeurIPS 2023): the LLM names the dimensions along which a
task's texts vary, then values for each; per label it names subtopics (the one
label-specific dimension). The task file's `attributes` block pins a dimension's values
(the LLM is not asked for it), adds values or forbids them; its `style_attributes` join
as values of their dimensions; a run may add values of its own (`source` user). Every
question goes through the one LLM door, so it is journaled and a re-run pays nothing.
The prompts (one request each), after one worked exchange of the same kind on an unrelated
task (product reviews; `EXAMPLE_ASKS`, `EXAMPLE_ANSWERS`) that shows the answer's form:

    system:    You help design a diverse dataset for a text classification task.
    user:      Task: Decide whether a product review is positive or negative. <...>
               List 5 different values of the dimension "product type" <...>
    assistant: kitchen appliance
               running shoes <...>
    user:   Task: <description>
            Labels:
            - <label>: <label description>
            List 3 different dimensions along which texts of this task vary, for example
            topic, tone, length, writing style or the writer's persona. Answer with one
            short name per line and nothing else.

    user:   <task and labels as above>
            List 5 different values of the dimension "tone" that texts of this task can
            take, whatever their label. Answer with one value of a few words per line
            and nothing else.

    user:   <task and labels as above>
            List 5 different subtopics a text labelled "spam" (<label description>) can
            be about. Answer with one subtopic of a few words per line and nothing else.

`attributes` columns (partitioned by task; one version per proposal):

    task | label (null: every label) | dimension | value | source (llm, yaml, user) | run_id

Attributed generation asks for one value per dimension in every request. The values of
a label's dimension are dealt in seeded, shuffled rounds (each value once per round), so
over a label's requests every value is asked for equally often, within one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from synthlake import tables
from synthlake.catalog import AttributeValues, TaskSpec
from synthlake.generation import prompts
from synthlake.lake import Lake
from synthlake.vocabulary import AttributeSource

ATTRIBUTES_KIND = "attributes"  # `ChatRequest.kind` of the proposals (usage apart)
SUBTOPIC = "subtopic"
SCHEMA = tables.TABLES["attributes"].data_schema
SYSTEM = "You help design a diverse dataset for a text classification task."
MAX_VALUE_WORDS = 6
# Words a small model echoes from the question instead of answering it.
ECHOES = {"subtopic", "subtopics", "label", "labels", "labeled", "labelled", "dimension",
          "dimensions", "value", "values", "task", "text", "texts", "example", "answer"}


class AttributeConfig(BaseModel):
    """Settings of one attribute proposal."""

    model_config = ConfigDict(frozen=True)

    seed: int = Field(0, description="seed of the proposal requests")
    temperature: float = Field(1.0, ge=0, description="sampling temperature of the proposals")
    max_tokens: int = Field(160, ge=16, description="completion tokens per proposal")
    user_values: dict[str, list[str]] = Field(
        {}, description="values a run adds (source user), keyed by "
        "dimension or label:dimension")


class AttributeSetError(ValueError):
    """No usable attribute set; the message names the task and what to do."""


# -- the proposal ------------------------------------------------------------------------
def _task_block(spec_description: str, labels: list[tuple[str, str]]) -> str:
    listed = "\n".join(f"- {name}: {description}" for name, description in labels)
    return f"Task: {spec_description}\nLabels:\n{listed}\n\n"


def _block_of(spec: TaskSpec) -> str:
    return _task_block(spec.description, [(lab.name, lab.description) for lab in spec.labels])


def _dimensions_ask(n: int) -> str:
    return (f"List {n} different dimensions along which texts of this task vary, for example "
            "topic, tone, length, writing style or the writer's persona. Answer with one "
            "short name per line and nothing else.")


def _values_ask(n: int, dimension: str) -> str:
    return (f'List {n} different values of the dimension "{dimension.replace("_", " ")}" that '
            "texts of this task can take, whatever their label. Answer with one value of a "
            "few words per line and nothing else.")


def _subtopics_ask(n: int, label: str, described: str) -> str:
    return (f'List {n} different subtopics a text labelled "{label}" ({described}) can be '
            "about. Answer with one subtopic of a few words per line and nothing else.")


# One worked exchange on an unrelated task goes before each question: it shows the answer's
# form. Asked the bare question, the embedded 135M model answered in sentences, echoes of
# the question or nothing parsable (sms_spam, ag_news, four wordings tried, 2026-11-23);
# shown one exchange, it answers in lists. Items copied from the example are dropped.
EXAMPLE_BLOCK = _task_block("Decide whether a product review is positive or negative.", [
    ("positive", "The reviewer likes the product."),
    ("negative", "The reviewer dislikes the product.")])
EXAMPLE_ANSWERS = {
    "dimensions": ["product type", "reviewer expertise", "star rating"],
    "values": ["kitchen appliance", "running shoes", "smartphone", "cookbook", "video game"],
    "subtopics": ["broken on arrival", "late delivery", "poor battery life", "wrong size",
                  "rude customer service"],
}
EXAMPLE_ASKS = {
    "dimensions": _dimensions_ask(3),
    "values": _values_ask(5, "product type"),
    "subtopics": _subtopics_ask(5, "negative", "The reviewer dislikes the product"),
}
EXAMPLE_ITEMS = {item.lower() for answer in EXAMPLE_ANSWERS.values() for item in answer}


def _messages(kind: str, spec: TaskSpec, ask: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": EXAMPLE_BLOCK + EXAMPLE_ASKS[kind]},
            {"role": "assistant", "content": "\n".join(EXAMPLE_ANSWERS[kind])},
            {"role": "user", "content": _block_of(spec) + ask}]


def dimensions_messages(spec: TaskSpec) -> list[dict]:
    return _messages("dimensions", spec, _dimensions_ask(spec.attributes.dimensions))


def values_messages(spec: TaskSpec, dimension: str) -> list[dict]:
    return _messages("values", spec,
                     _values_ask(spec.attributes.values_per_dimension, dimension))


def subtopics_messages(spec: TaskSpec, label: str) -> list[dict]:
    described = spec.label(label).description.rstrip(".")
    return _messages("subtopics", spec,
                     _subtopics_ask(spec.attributes.subtopics_per_label, label, described))


def parse_items(answer: str | None, limit: int) -> list[str]:
    """The items of a list answer, at most `limit`: one per line (or comma-separated on
    one line), numbering, bullets, markdown and any explanation after a colon or dash
    removed; preambles ("Here are ...:"), sentences, shouted words, words echoed from the
    question, items copied from the worked example and repeats dropped."""
    lines = [line for line in (answer or "").splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = lines[0].split(",")
    items: list[str] = []
    for line in lines:
        if line.rstrip().endswith(":"):
            continue  # a preamble
        item = re.sub(r"^\s*(\d+[.)]|[-*•]|[a-z][.)])\s+", "", line.strip())
        item = re.split(r":| - | – ", item.replace("*", ""), maxsplit=1)[0]
        item = item.strip(" \t\"'`.;")
        if (not re.search(r"[a-zA-Z]{2}", item) or len(item.split()) > MAX_VALUE_WORDS
                or (item.isupper() and len(item) > 4) or item.lower() in ECHOES
                or item.lower() in EXAMPLE_ITEMS):
            continue
        if item.lower() not in {i.lower() for i in items}:
            items.append(item)
    return items[:limit]


def dimension_name(item: str) -> str:
    """A proposed dimension as a name: lower case, words joined by underscores."""
    return re.sub(r"[^a-z0-9]+", "_", item.lower()).strip("_")


async def apropose(client, spec: TaskSpec, config: AttributeConfig) -> list[dict]:
    """label | dimension | value rows the LLM proposes (dimensions the task file pins,
    and its style attributes, are not asked about)."""
    from synthlake.llm import ChatRequest

    block = spec.attributes
    params = {"temperature": config.temperature, "max_tokens": config.max_tokens,
              "seed": config.seed}

    def ask(messages: list[dict], slot: str):
        return client.complete(ChatRequest(spec.name, ATTRIBUTES_KIND, messages, params,
                                           slot=f"attributes/{slot}", kind=ATTRIBUTES_KIND))

    rows: list[dict] = []
    if not block.propose:
        return rows
    given = {e.dimension for e in block.pin} | set(spec.style_attributes) | {SUBTOPIC}
    dims: list[str] = []
    if block.dimensions:
        answer = await ask(dimensions_messages(spec), "dimensions")
        dims = [d for d in map(dimension_name, parse_items(answer.text, block.dimensions * 2))
                if d and d not in given and d not in {n.lower() for n in spec.label_names}]
        dims = dims[:block.dimensions]
    labels = spec.label_names if block.subtopics_per_label else []
    answers = await asyncio.gather(
        *[ask(values_messages(spec, d), f"values/{d}") for d in dims],
        *[ask(subtopics_messages(spec, lab), f"subtopics/{lab}") for lab in labels])
    for dim, answer in zip(dims, answers[:len(dims)], strict=True):
        rows += [{"label": None, "dimension": dim, "value": v}
                 for v in parse_items(answer.text, block.values_per_dimension)]
    for label, answer in zip(labels, answers[len(dims):], strict=True):
        rows += [{"label": label, "dimension": SUBTOPIC, "value": v}
                 for v in parse_items(answer.text, block.subtopics_per_label)]
    return rows


# -- the set: proposals, the task file and the run's own values ----------------------
def user_entries(user_values: dict[str, list[str]], spec: TaskSpec) -> list[AttributeValues]:
    """`label:dimension` or `dimension` keys as entries; an unknown label is an error."""
    entries = []
    for key, values in user_values.items():
        label, _, dimension = key.rpartition(":")
        if label and label not in spec.label_names:
            raise AttributeSetError(f"task {spec.name}: user_values key {key!r} names label "
                                  f"{label!r}, not one of {spec.label_names}")
        entries.append(AttributeValues(dimension=dimension, label=label or None, values=values))
    return entries


def merge(spec: TaskSpec, proposed: list[dict], user: Sequence[AttributeValues] = ()) -> pd.DataFrame:
    """label | dimension | value | source: pinned dimensions exactly as pinned; otherwise
    the LLM's values, the style attributes', the file's additions and the run's, minus
    forbidden values and any value that is a label name (it would contradict the label
    asked for). An LLM dimension left with fewer than two values is dropped."""
    block = spec.attributes
    pinned = {(e.label, e.dimension) for e in block.pin}
    rows = [{**r, "source": AttributeSource.LLM} for r in proposed
            if (r["label"], r["dimension"]) not in pinned]
    rows += [{"label": None, "dimension": d, "value": v, "source": AttributeSource.YAML}
             for d, values in spec.style_attributes.items() if (None, d) not in pinned
             for v in values]
    rows += [{"label": e.label, "dimension": e.dimension, "value": v, "source": AttributeSource.YAML}
             for e in (*block.pin, *block.add) for v in e.values]
    rows += [{"label": e.label, "dimension": e.dimension, "value": v, "source": AttributeSource.USER}
             for e in user for v in e.values]
    forbidden = {(e.label, e.dimension, v.lower()) for e in block.forbid for v in e.values}
    label_names = {n.lower() for n in spec.label_names}
    frame = pd.DataFrame(rows, columns=["label", "dimension", "value", "source"])
    frame["value"] = frame["value"].astype(str).str.strip()
    key = frame["value"].str.lower()
    banned = [(lab, d, v) in forbidden or (None, d, v) in forbidden or v in label_names
              for lab, d, v in zip(frame["label"], frame["dimension"], key, strict=True)]
    frame = frame[~pd.Series(banned, index=frame.index) & (frame["value"] != "")]
    frame = frame.assign(_key=frame["value"].str.lower()).drop_duplicates(
        ["label", "dimension", "_key"]).drop(columns="_key")
    sizes = frame.groupby(["label", "dimension"], dropna=False)["value"].transform("size")
    thin = (frame["source"] == AttributeSource.LLM) & (sizes < 2)
    return frame[~thin].reset_index(drop=True)


@dataclass
class AttributeReport:
    """What `propose` wrote: the set (label | dimension | value | source), the proposal's
    usage (`Session.run`'s) and the `attributes` version."""

    frame: pd.DataFrame
    usage: dict
    version: int


def propose(lake: Lake, spec: TaskSpec, run_id: str, config: AttributeConfig | None = None, *,
            endpoint=None, wire=None) -> AttributeReport:
    """Propose the task's attributes (journaled), merge them with the task file's and the
    run's values, and write the task's partition of `attributes`. Nothing is written when
    no usable value is left."""
    from synthlake.llm import EndpointConfig, session

    config = config or AttributeConfig()
    endpoint = endpoint or EndpointConfig.from_env()
    user = user_entries(config.user_values, spec)
    if spec.attributes.propose:
        with session(endpoint, lake.journal, wire) as llm:
            proposed, usage = llm.run(lambda client: apropose(client, spec, config))
    else:
        proposed, usage = [], {}
    frame = merge(spec, proposed, user)
    if frame.empty:
        raise AttributeSetError(
            f"task {spec.name}: no usable attributes (the LLM proposed none that could be "
            "parsed, and the task file gives none): pin or add values in the task file's "
            "`attributes` block, or pass user_values")
    data = pa.Table.from_pandas(frame.assign(task=spec.name), preserve_index=False)
    version = lake.write_partition("attributes", data, {"task": spec.name}, run_id)
    return AttributeReport(frame, usage, version)


# -- sampling ------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeSet:
    """A task's attributes as generation samples them."""

    task: str
    rows: tuple[tuple[str | None, str, str], ...]  # (label or None, dimension, value), sorted

    @classmethod
    def of(cls, task: str, frame: pd.DataFrame) -> AttributeSet:
        rows = [(None if pd.isna(lab) else lab, d, v) for lab, d, v in
                zip(frame["label"], frame["dimension"], frame["value"], strict=True)]
        # Sorted (shared values first), so the set and its version do not depend on how
        # the table was read.
        return cls(task, tuple(sorted(rows, key=lambda r: (r[0] is not None, r[0] or "", *r[1:]))))

    @property
    def version(self) -> str:
        return hashlib.sha256(repr(self.rows).encode()).hexdigest()[:12]

    def values_for(self, label: str) -> dict[str, list[str]]:
        """Dimension -> values for one label: the shared values and the label's own."""
        found: dict[str, list[str]] = {}
        for lab, dim, value in self.rows:
            if lab is None or lab == label:
                found.setdefault(dim, []).append(value)
        return dict(sorted(found.items()))

    def assign(self, label: str, slot_index: int, *seed_parts: object) -> dict[str, str]:
        """The value of every dimension for one request: round `slot_index // k` of a
        dimension with k values deals them in a seeded shuffled order."""
        chosen = {}
        for dim, values in self.values_for(label).items():
            order = list(range(len(values)))
            prompts.rng_for(*seed_parts, label, dim, slot_index // len(values)).shuffle(order)
            chosen[dim] = values[order[slot_index % len(values)]]
        return chosen


def read(lake, spec: TaskSpec) -> AttributeSet:
    """The task's current attribute set; a clear error when none was proposed yet."""
    if not lake.exists("attributes") or not len(
            frame := lake.read("attributes", where={"task": spec.name}).to_pandas()):
        raise AttributeSetError(f"task {spec.name}: no attributes in the lake yet; materialize "
                              "the `attributes` asset (or `synthlake attributes`) first")
    return AttributeSet.of(spec.name, frame)


def prompt_version(spec: TaskSpec, attribute_set: AttributeSet) -> str:
    """The attributed method's prompt version: the task's prompts and the attribute set."""
    return hashlib.sha256(f"{spec.prompt_version}:{attribute_set.version}".encode()
                          ).hexdigest()[:12]
