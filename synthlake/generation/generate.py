"""Plan -> requests -> raw responses -> parsed, filtered examples, for one task and method.

The plan fixes `n_per_label` texts for every label (balance by construction). Requests
go out concurrently through `LLMClient` (journaled, retried, limited); answers are parsed
(`parse.py`) and judged. Rejected texts are replaced in further waves until every label
has its quota or `max_attempts_factor * n_per_label` requests were made for it; a
shortfall is reported, never hidden.

Decisions are deterministic given the answers: within a zero-shot stream they depend only
on that stream, and the final pass walks candidates in slot order. So a re-run replays
the same prompts, finds every answer in the journal, and sends nothing.

`synthetic_examples` columns (one row per answer, accepted or not):

    task | method | label | text | example_id | request_key | model | prompt_version |
    temperature | seed | slot | demo_example_ids | diversity_prompted | status | reason |
    fidelity_judge | judged_label | p_requested | created_at |
    attributes (list of {dimension, value}: what an attributed request asked for) | run_id

`fidelity_calibration` (task x method): the label filter's verdicts on held-out real
texts, which set its per-label bars (`fidelity.LabelFilter.calibrate`).

`llm_responses` columns (the raw journal of this task and method):

    request_key | task | method | model | messages (JSON) | params (JSON) | text |
    finish_reason | prompt_tokens | completion_tokens | latency_s | attempts | error |
    created_at | run_id
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from synthlake import tables
from synthlake.catalog import TaskSpec
from synthlake.generation import attributes, fidelity, parse, prompts, similarity
from synthlake.lake import Lake
from synthlake.llm import (
    GENERATION_KIND,
    REQUEST_TOO_LARGE,
    ChatRequest,
    EndpointConfig,
    FatalLLMError,
    LLMClient,
    Response,
    Wire,
    fixed_temperature,
    long_lived_objects_frozen,
    session,
    usage_of,
)
from synthlake.progress import advance
from synthlake.vocabulary import PROMPTED, SET_REASONS, Method, Reason, Status

SYNTHETIC_SCHEMA = tables.TABLES["synthetic_examples"].data_schema
RESPONSES_SCHEMA = tables.TABLES["llm_responses"].data_schema


class GenerationConfig(BaseModel):
    """Settings of one generation run (the paper used 3,000 texts per label)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_per_label: int = Field(10, ge=1, description="accepted texts to generate per label")
    temperature: float = Field(1.0, ge=0, description="sampling temperature")
    seed: int = Field(0, description="seed of requests and demonstration draws")
    max_attempts_factor: float = Field(4.0, ge=1, description="requests per label at most, "
                                       "as a multiple of n_per_label (rejections are replaced)")
    streams_per_label: int = Field(4, ge=1, description="zero-shot conversations per label, "
                                   "run concurrently")
    max_tokens: int | None = Field(None, ge=1, description="completion tokens per request; "
                                   "empty: from the task's word limit")
    max_shortfall_share: float = Field(0.25, ge=0, le=1, description="a run missing more "
                                       "than this share of its plan does not replace the "
                                       "partition")

    def max_tokens_for(self, spec: TaskSpec) -> int:
        # About 1.3 tokens per English word plus a little room for a preamble. A longer
        # answer is cut off and salvaged to its complete sentences (parse.salvage), so
        # a rambling model costs no more than this.
        return self.max_tokens or int(spec.word_limits.max * 1.4) + 12


@dataclass
class Candidate:
    """One answer and what became of it."""

    label: str
    slot: str
    order: tuple  # position in the deterministic final pass
    response: Response
    text: str
    reason: str | None
    diversity_prompted: bool = False
    demo_ids: list[str] = field(default_factory=list)
    demo_texts: list[str] = field(default_factory=list)
    seed: int = 0
    verdict: tuple[str, float] | None = None  # the label filter's (judged_label, p_requested)
    attributes: dict[str, str] = field(default_factory=dict)  # dimension -> value asked for


class GenerationShortfall(RuntimeError):
    """A generation fell too far short of its plan; the partition was left as it was."""


@dataclass
class GenerationReport:
    task: str
    method: str
    model: str
    accepted: dict[str, int]
    shortfall: dict[str, int]
    reasons: dict[str, int]
    usage: dict
    examples_version: int | None = None
    responses_version: int | None = None
    samples: list[dict] = field(default_factory=list)
    judge: str | None = None  # of the label filter; None: not filtered
    mismatched: dict[str, int] = field(default_factory=dict)  # label mismatches per label
    judge_usage: dict = field(default_factory=dict)  # the filter's LLM requests, apart
    # Per label, what the filter did to held-out genuine texts (`fidelity.calibrate_note`).
    calibration: list[dict] = field(default_factory=list)
    calibration_version: int | None = None

    def unfiltered_shortfall(self) -> int:
        """What the plan misses even counting the rows only the label filter rejected:
        the endpoint's shortfall, not the judge's."""
        return sum(max(0, n - self.mismatched.get(label, 0))
                   for label, n in self.shortfall.items())

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def shortfall_text(self) -> str:
        planned = sum(self.accepted.values()) + sum(self.shortfall.values())
        missing = ", ".join(f"{label} {n} of {n + self.accepted[label]}"
                            for label, n in self.shortfall.items())
        return (f"{self.task}/{self.method}: shortfall {missing} "
                f"({sum(self.shortfall.values()) / max(planned, 1):.0%} of the plan)")


def refuse_large_shortfall(report: GenerationReport, config: GenerationConfig) -> None:
    """Good data is never replaced by a run that fell far short (a dead or refusing
    endpoint, a model that ignores the task): raise before anything is written. A
    shortfall the label filter causes is written and reported instead: the texts came,
    and that they do not carry their label is the finding."""
    planned = sum(report.accepted.values()) + sum(report.shortfall.values())
    if report.unfiltered_shortfall() > config.max_shortfall_share * planned:
        raise GenerationShortfall(
            f"{report.shortfall_text()}, more than max_shortfall_share "
            f"{config.max_shortfall_share:.0%}; rejections {report.reasons}. The partition was "
            "not replaced; every answer is kept in the journal, so a re-run pays only for new "
            "requests")


Progress = Callable[[str, int, int], None]  # (label, accepted so far, quota)
# "Accepted so far" counts texts that passed the per-answer checks; the final pass may
# still turn a few into cross-stream duplicates, which the next wave replaces.


class Generator:
    """Runs one task x method against a client; returns every candidate."""

    def __init__(self, client: LLMClient, spec: TaskSpec, method: str,
                 config: GenerationConfig, test_texts: list[str],
                 progress: Progress | None = None,
                 label_filter: fidelity.LabelFilter | None = None,
                 attribute_set: attributes.AttributeSet | None = None):
        self.client, self.spec, self.method, self.config = client, spec, method, config
        self.attribute_set = attribute_set
        self.test = similarity.cached_references(tuple(test_texts))  # hashed once, not per pass
        self.label_filter = label_filter
        self.progress = progress or (lambda *_: None)
        self.accepted: Counter[str] = Counter()
        self.final_pass_s = 0.0  # seconds in final passes between waves, reported apart
        self.params = {"temperature": config.temperature,
                       "max_tokens": config.max_tokens_for(spec)}

    def _seed(self, label: str, slot: str) -> int:
        return prompts.request_seed(self.config.seed, self.spec.name, self.method, label, slot)

    async def _ask(self, label: str, slot: str, messages: list[dict]) -> tuple[Response, int]:
        seed = self._seed(label, slot)
        request = ChatRequest(self.spec.name, self.method, messages,
                              {**self.params, "seed": seed}, slot=f"{label}/{slot}")
        return await self.client.complete(request), seed

    def _judge(self, response: Response) -> tuple[str, str | None]:
        if response.error:
            too_large = response.error.startswith(REQUEST_TOO_LARGE)
            return "", Reason.REQUEST_TOO_LARGE if too_large else Reason.ENDPOINT_ERROR
        text = parse.salvage(parse.extract_text(response.text), response.finish_reason, self.spec)
        return text, parse.rejection(text, response.finish_reason, self.spec)

    # -- zero-shot: conversation streams with the diversity prompt -------------------
    async def _stream(self, label: str, stream: int, target: int, budget: int) -> list[Candidate]:
        spec, out = self.spec, []
        history: list[prompts.Turn] = []
        seen: set[str] = set()
        accepted = issued = turn = 0
        while accepted < target and turn < budget:
            diversity = prompts.diversity_due(accepted, spec.diversity.every, issued)
            issued += diversity
            rng = prompts.rng_for(self.config.seed, spec.name, self.method, label, stream, turn)
            user = prompts.zero_shot_user_turn(spec, label, rng, diversity)
            slot = f"s{stream}/t{turn}"
            response, seed = await self._ask(label, slot, prompts.zero_shot_messages(spec, history, user))
            text, reason = self._judge(response)
            if reason is None and similarity.normalized(text) in seen:
                reason = Reason.DUPLICATE
            out.append(Candidate(label, slot, (label, 0, stream, turn), response, text, reason,
                                 diversity, seed=seed))
            turn += 1
            if reason is None:
                seen.add(similarity.normalized(text))
                history.append(prompts.Turn(user, response.text or text))
                accepted += 1
                self._count(label)
        return out

    def _count(self, label: str) -> None:
        quota = self.config.n_per_label
        self.accepted[label] += 1
        self.progress(label, self.accepted[label], quota)
        advance(f"{self.spec.name}/{self.method} generation",
                sum(min(n, quota) for n in self.accepted.values()), quota * len(self.spec.labels))

    async def _zero_shot_wave(self, label: str, first_stream: int, need: int,
                              budget: int) -> list[Candidate]:
        streams = max(1, min(self.config.streams_per_label, need))
        targets = [need // streams + (i < need % streams) for i in range(streams)]
        budgets = [max(1, budget * t // need) for t in targets]
        results = await asyncio.gather(*[
            self._stream(label, first_stream + i, t, b)
            for i, (t, b) in enumerate(zip(targets, budgets, strict=True))
        ])
        return [c for stream in results for c in stream]

    # -- few-shot: independent requests with demonstrations -------------------------
    async def _few_shot_one(self, label: str, slot_index: int,
                            pool: prompts.DemoPool) -> Candidate:
        spec = self.spec
        rng = prompts.rng_for(self.config.seed, spec.name, self.method, label, slot_index)
        demo_ids, texts = pool.sample(spec.few_shot.k, rng)
        slot = f"q{slot_index}"
        response, seed = await self._ask(label, slot, prompts.few_shot_messages(spec, label, texts, rng))
        # Near-copies of the demonstrations are judged in `finalize`, against every
        # demonstration shown, with the other set-level checks.
        text, reason = self._judge(response)
        if reason is None:
            self._count(label)
        return Candidate(label, slot, (label, slot_index), response, text, reason,
                         demo_ids=demo_ids, demo_texts=texts, seed=seed)

    # -- attributed: independent requests, one value per attribute dimension --------
    async def _attributed_one(self, label: str, slot_index: int) -> Candidate:
        spec = self.spec
        assert self.attribute_set is not None, "attributed generation reads its attribute set"
        values = self.attribute_set.assign(label, slot_index, self.config.seed, spec.name)
        rng = prompts.rng_for(self.config.seed, spec.name, self.method, label, slot_index)
        slot = f"a{slot_index}"
        response, seed = await self._ask(label, slot,
                                         prompts.attributed_messages(spec, label, values, rng))
        text, reason = self._judge(response)
        if reason is None:
            self._count(label)
        return Candidate(label, slot, (label, slot_index), response, text, reason, seed=seed,
                         attributes=values)

    async def _independent(self, label: str, slot_index: int,
                           pool: prompts.DemoPool | None) -> Candidate:
        if self.method == Method.ATTRIBUTED:
            return await self._attributed_one(label, slot_index)
        assert pool is not None, "few-shot generation draws from its seed pool"
        return await self._few_shot_one(label, slot_index, pool)

    # -- waves until each label's quota is met --------------------------------------
    async def run(self, pools: dict[str, prompts.DemoPool] | None) -> list[Candidate]:
        """Waves over all labels at once. Between waves (nothing in flight) one final
        pass over everything decides what each label still needs: set-level rejections
        (duplicates across streams and labels) and label mismatches (the label filter,
        asked about each row the pass keeps) are replaced like the others. Returns the
        candidates of every wave, finalized, in slot order."""
        with long_lived_objects_frozen():
            return await self._waves(pools)

    async def _waves(self, pools: dict[str, prompts.DemoPool] | None) -> list[Candidate]:
        quota, labels = self.config.n_per_label, self.spec.label_names
        budget = int(self.config.max_attempts_factor * quota)
        candidates: list[Candidate] = []
        wave = 0
        while True:
            started = time.perf_counter()
            candidates = finalize(candidates, self.spec, quota, self.test)
            self.final_pass_s += time.perf_counter() - started
            if await self._filter(candidates):
                continue  # rows rejected: surplus rows may fill their places; decide again
            accepted = Counter(c.label for c in candidates if c.reason is None)
            self.accepted = Counter(accepted)  # what the wave's progress counts on from
            used = Counter(c.label for c in candidates)
            todo = [lab for lab in labels if accepted[lab] < quota and used[lab] < budget]
            if not todo:
                return candidates
            batches = await asyncio.gather(*[
                self._wave(lab, wave, quota - accepted[lab], used[lab], budget,
                           (pools or {}).get(lab)) for lab in todo
            ])
            candidates += [c for batch in batches for c in batch]
            wave += 1

    async def _filter(self, candidates: list[Candidate]) -> bool:
        """Ask the label filter about the kept rows it has not judged (each row once:
        a verdict stands); True if it rejected any."""
        fresh = [c for c in candidates if c.reason is None and c.verdict is None]
        if self.label_filter is None or not fresh:
            return False
        found = await self.label_filter.verdicts(
            self.client, [c.text for c in fresh], [c.label for c in fresh])
        for cand, row in zip(fresh, found.itertuples(), strict=True):
            cand.verdict = (row.predicted_label, float(row.p_requested))
            if row.mismatch:
                cand.reason = Reason.LABEL_MISMATCH
        return bool(found["mismatch"].any())

    async def _wave(self, label: str, wave: int, need: int, used: int, budget: int,
                    pool: prompts.DemoPool | None) -> list[Candidate]:
        if self.method == Method.ZERO_SHOT:
            # New streams in each wave: a stream's history must not depend on others.
            first = wave * max(self.config.streams_per_label, self.config.n_per_label)
            return await self._zero_shot_wave(label, first, need, budget - used)
        count = min(need, budget - used)
        slots = iter(range(used, used + count))
        done: list[Candidate] = []

        async def worker() -> None:
            # Workers pull slots from one iterator: a request's prompt is built only when
            # it can go out soon. One coroutine per slot would build thousands of prompts
            # before the first request left, and hold them all in memory.
            for slot_index in slots:
                done.append(await self._independent(label, slot_index, pool))

        await asyncio.gather(*[worker() for _ in range(min(self.client.parallelism, count))])
        return done  # any order: `finalize` sorts by slot


def finalize(candidates: list[Candidate], spec: TaskSpec, quota: int,
             test: similarity.References) -> list[Candidate]:
    """Deterministic final pass over all candidates in slot order, with the same
    similarity the quality checks use: exact duplicates, near-copies of any demonstration
    shown, real test texts, near duplicates of earlier texts, then the quota per label.
    Mutates and returns the candidates in slot order."""
    ordered = sorted(candidates, key=lambda c: c.order)
    for cand in ordered:
        if cand.reason in SET_REASONS:
            cand.reason = None  # judged again below, against the whole set
    seen: set[str] = set()
    for cand in ordered:
        if cand.reason is None:
            key = similarity.normalized(cand.text)
            cand.reason = Reason.DUPLICATE if key in seen else None
            seen.add(key)
    if not ordered:
        return ordered
    matrix = similarity.vectors([c.text for c in ordered])  # once per pass, rows as `ordered`
    shown = similarity.References([t for c in ordered for t in c.demo_texts])
    _reject_similar(ordered, matrix, shown, spec.few_shot.max_similarity_to_demo,
                    Reason.COPIES_DEMONSTRATION)
    _reject_similar(ordered, matrix, test, spec.quality.near_duplicate_similarity,
                    Reason.MATCHES_REAL_TEST)
    rows = _open_rows(ordered)
    open_ = [ordered[i] for i in rows]
    flags = similarity.near_duplicate_flags([c.text for c in open_],
                                            spec.quality.near_duplicate_similarity,
                                            matrix=matrix[rows])
    kept: Counter[str] = Counter()
    for cand, near in zip(open_, flags, strict=True):
        if near:
            cand.reason = Reason.NEAR_DUPLICATE
        elif kept[cand.label] >= quota:
            cand.reason = Reason.SURPLUS
        else:
            kept[cand.label] += 1
    return ordered


def _open_rows(ordered: list[Candidate]) -> list[int]:
    return [i for i, c in enumerate(ordered) if c.reason is None]


def _reject_similar(ordered: list[Candidate], matrix, references: similarity.References,
                    threshold: float, reason: str) -> None:
    rows = _open_rows(ordered)
    hits = references.similar([ordered[i].text for i in rows], threshold, matrix=matrix[rows])
    for i, hit in zip(rows, hits, strict=True):
        if hit:
            ordered[i].reason = reason


def synthetic_table(spec: TaskSpec, method: str, candidates: list[Candidate],
                    config: GenerationConfig, judge: str | None = None,
                    prompt_version: str | None = None) -> pa.Table:
    rows = [{
        "task": spec.name, "method": method, "label": c.label, "text": c.text or None,
        "example_id": f"{method}-{c.response.request_key[:16]}",
        "request_key": c.response.request_key, "model": c.response.model,
        "prompt_version": prompt_version or spec.prompt_version,
        "temperature": config.temperature,
        "seed": c.seed, "slot": c.slot, "demo_example_ids": c.demo_ids,
        "diversity_prompted": c.diversity_prompted,
        "status": Status.ACCEPTED if c.reason is None else Status.REJECTED, "reason": c.reason,
        "fidelity_judge": judge if c.verdict else None,
        "judged_label": c.verdict[0] if c.verdict else None,
        "p_requested": c.verdict[1] if c.verdict else None,
        "created_at": pd.Timestamp(c.response.created_at, unit="s", tz="UTC"),
        "attributes": [{"dimension": d, "value": v} for d, v in c.attributes.items()] or None,
    } for c in candidates]
    return pa.Table.from_pylist(rows, schema=SYNTHETIC_SCHEMA)


def responses_table(responses: list[Response]) -> pa.Table:
    rows = [{**r.row(), "created_at": pd.Timestamp(r.created_at, unit="s", tz="UTC")}
            for r in responses]
    return pa.Table.from_pylist(rows, schema=RESPONSES_SCHEMA)


def report_of(spec: TaskSpec, method: str, model: str, candidates: list[Candidate],
              config: GenerationConfig, usage: dict) -> GenerationReport:
    """The report of a generation; `usage` as `Session.run` gives it (kinds apart)."""
    accepted = Counter(c.label for c in candidates if c.reason is None)
    mismatched = Counter(c.label for c in candidates if c.reason == Reason.LABEL_MISMATCH)
    reasons = Counter(c.reason for c in candidates if c.reason is not None)
    shortfall = {lab: config.n_per_label - accepted[lab] for lab in spec.label_names
                 if accepted[lab] < config.n_per_label}
    samples = [{"label": c.label, "text": c.text} for c in candidates if c.reason is None][:8]
    return GenerationReport(spec.name, method, model,
                            {lab: accepted[lab] for lab in spec.label_names}, shortfall,
                            {str(r): n for r, n in reasons.items()}, usage_of(usage, GENERATION_KIND),
                            samples=samples,
                            mismatched=dict(mismatched),
                            judge_usage=usage_of(usage, fidelity.FIDELITY_KIND))


@dataclass
class Generation:
    """A generation run, not written: its candidates, its report, and the prompt version
    its rows record (None: the task's own)."""

    candidates: list[Candidate]
    report: GenerationReport
    prompt_version: str | None
    label_filter: fidelity.LabelFilter | None = None  # calibrated


@dataclass
class Setup:
    """What every generation of a task x method starts from (zero-shot, few-shot,
    attributed, error-driven rounds, a plan's pilot): the same checks, one set-up."""

    real: pd.DataFrame  # split | example_id | text | label (real_examples of the task)
    test_texts: list[str]  # real test texts: a generated text repeating one is rejected
    label_filter: fidelity.LabelFilter | None  # not yet calibrated; None: not filtered

    async def calibrate(self, client: LLMClient, spec: TaskSpec, seed: int) -> None:
        """The label filter's per-label bars, from genuine held-out texts, before any
        generated text is judged."""
        if self.label_filter is not None:
            await self.label_filter.calibrate(
                client, fidelity.calibration_texts(self.real, spec, seed))


def prepare(lake: Lake, spec: TaskSpec, method: str, config: GenerationConfig,
            endpoint: EndpointConfig) -> Setup:
    """The set-up of one generation; refuses a temperature the endpoint cannot apply, so
    no row ever records one that was not."""
    real = lake.read("real_examples", where={"task": spec.name},
                     columns=["split", "example_id", "text", "label"]).to_pandas()
    fixed = fixed_temperature(endpoint)
    if fixed not in (None, config.temperature):
        raise FatalLLMError(f"the embedded model samples at temperature {fixed} only (asked for "
                            f"{config.temperature}); set OPENAI_BASE_URL to an endpoint that "
                            "applies other temperatures")
    label_filter = fidelity.label_filter(spec, method, real, config.seed,
                                         0.0 if fixed is None else fixed)
    return Setup(real, real.loc[real["split"] == "test", "text"].tolist(), label_filter)


def finished(spec: TaskSpec, method: str, config: GenerationConfig, model: str,
             candidates: list[Candidate], usage: dict, setup: Setup,
             prompt_version: str | None = None) -> Generation:
    """A run's candidates with their report against the plan `config` states."""
    report = report_of(spec, method, model, candidates, config, usage)
    report.judge = str(setup.label_filter.judge.name) if setup.label_filter else None
    report.calibration = fidelity.calibration_summary(setup.label_filter)
    return Generation(candidates, report, prompt_version, setup.label_filter)


def run_generation(lake: Lake, spec: TaskSpec, method: str, config: GenerationConfig,
                   endpoint: EndpointConfig, progress: Progress | None = None,
                   wire: Wire | None = None) -> Generation:
    """Generate one task x method (journaled) without writing a table: what `generate`
    writes, and what a plan's pilot measures (`plan.py`)."""
    if method not in PROMPTED:
        raise ValueError(f"method {method!r}: generate runs {', '.join(PROMPTED)} (error-driven "
                         "rounds: `rounds.run`, `synthlake rounds`)")
    setup = prepare(lake, spec, method, config, endpoint)
    pools = prompts.seed_pool(setup.real, spec, config.seed) if method == Method.FEW_SHOT else None
    attribute_set = attributes.read(lake, spec) if method == Method.ATTRIBUTED else None
    version = attributes.prompt_version(spec, attribute_set) if attribute_set else None

    async def calibrated_run(client):
        await setup.calibrate(client, spec, config.seed)
        return await Generator(client, spec, method, config, setup.test_texts, progress,
                               setup.label_filter, attribute_set).run(pools)

    with session(endpoint, lake.journal, wire) as llm:
        candidates, usage = llm.run(calibrated_run)
    return finished(spec, method, config, llm.model_label, candidates, usage, setup, version)


def write(lake: Lake, spec: TaskSpec, run_id: str, config: GenerationConfig, *, method: str,
          found: Generation, given: pd.DataFrame | None = None) -> GenerationReport:
    """The one writer of generated data: refuse a run that fell far short of its plan,
    then write `llm_responses`, `synthetic_examples` (`given` rows first: error-driven
    round 0, rows another method generated) and `fidelity_calibration`, one commit each,
    this partition only."""
    report = found.report
    refuse_large_shortfall(report, config)
    partition = {"task": spec.name, "method": method}
    report.responses_version = lake.write_partition(
        "llm_responses", responses_table([c.response for c in found.candidates]),
        partition, run_id)
    synthetic = synthetic_table(spec, method, found.candidates, config, report.judge,
                                found.prompt_version)
    if given is not None:
        synthetic = pa.concat_tables([pa.Table.from_pandas(
            given[synthetic.column_names], schema=synthetic.schema, preserve_index=False),
            synthetic])
    report.examples_version = lake.write_partition("synthetic_examples", synthetic,
                                                   partition, run_id)
    report.calibration_version = lake.write_partition(
        "fidelity_calibration", tables.from_rows(
            "fidelity_calibration", fidelity.calibration_rows(spec, method, found.label_filter)),
        partition, run_id)
    return report


def generate(lake: Lake, spec: TaskSpec, run_id: str, config: GenerationConfig | None = None,
             *, method: str, endpoint: EndpointConfig | None = None,
             progress: Progress | None = None, wire: Wire | None = None) -> GenerationReport:
    """Generate one task x method, journal every answer, write both tables (one commit
    each, this partition only). Uses the embedded model when no endpoint is configured;
    `wire` replaces the HTTP exchange (see `llm.session`)."""
    config = config or GenerationConfig()
    endpoint = endpoint or EndpointConfig.from_env()
    found = run_generation(lake, spec, method, config, endpoint, progress, wire)
    return write(lake, spec, run_id, config, method=method, found=found)
