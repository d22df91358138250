"""Error-driven rounds (after S3, Wang et al. 2023): more data where a small classifier errs.

The budget is the other methods' (`n_per_label` accepted texts per label), spent in
`rounds + 1` parts. Round 0 is a seeded sample of the rows another method generated and
the label filter kept (`start`, default few-shot). Then, each round:

1. a logistic regression on frozen sentence embeddings (`train.EmbeddingLogReg`) learns
   the set so far and is scored on the real test split (macro-F1, 95% bootstrap
   interval) and on the few-shot setting's real data: the seed pool, the only real
   texts few-shot generation may show (so no further real data is used);
2. the seed-pool texts it gets wrong become the demonstrations of the next requests:
   per label, few-shot requests (the paper's prompt, `prompts.few_shot_messages`) show
   k of that label's misclassified texts (topped up, seeded, with the label's other
   pool texts where it has fewer than k errors), through the same checks and label
   filter as every method; answers that repeat an earlier round's text are duplicates.

After the last round the final set is scored once more. Every round generates through
generation's own set-up and checks (`generate.prepare`, `generate.Generator`) and the run
is written by its one writer (`generate.write`): a run that fell far short of its plan
replaces nothing, `error_rounds` included (each round's scores go to the log as they
come). `error_rounds` columns (one row per round):

    task | round | start_method | classifier | n_train | n_validation |
    validation_errors | validation_f1 | macro_f1 | macro_f1_low | macro_f1_high |
    n_test | change | change_low | change_high (from the round before, paired) | run_id

The rows of every round go to `synthetic_examples` as method `error_driven` (slot
`r<round>/...`; round 0's rows are the start method's, re-keyed), the answers to
`llm_responses`. A re-run trains the same classifiers, asks the same questions and
finds every answer in the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthlake import evidence, tables
from synthlake.catalog import TaskSpec
from synthlake.evaluation.train import TrainConfig, as_split, fitted, metrics, test_split
from synthlake.generation import generate, prompts, similarity
from synthlake.generation.generate import GenerationConfig
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig, session
from synthlake.vocabulary import PROMPTED, Classifier, Method, Reason, Status

METHOD = Method.ERROR_DRIVEN


class RoundsError(ValueError):
    """Rounds that cannot start; the message names the task and what to run first."""


class RoundsConfig(BaseModel):
    """Settings of one error-driven run; its requests are generation's (`generation`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generation: GenerationConfig = Field(
        default_factory=GenerationConfig, description="generation settings of every round "
        "(n_per_label: accepted texts per label in all, round 0 included, as the other "
        "methods generate; seed: also of round 0's sample and the classifier)")
    rounds: int = Field(2, ge=1, description="rounds of generation after round 0")
    start: str = Field(str(Method.FEW_SHOT), description="the method round 0 samples from: "
                       + ", ".join(PROMPTED))
    max_test: int = Field(2000, ge=1, description="cap on real test texts (stratified)")

    @model_validator(mode="after")
    def _every_round_has_texts(self) -> RoundsConfig:
        if self.generation.n_per_label < self.rounds + 1:
            raise ValueError(f"generation.n_per_label {self.generation.n_per_label}: at least "
                             f"one text per label for round 0 and each of {self.rounds} rounds")
        return self

    @property
    def seed(self) -> int:
        return self.generation.seed

    def shares(self) -> list[int]:
        """Texts per label of round 0, 1, ..., rounds (they sum to n_per_label)."""
        n = self.generation.n_per_label
        step = n // (self.rounds + 1)
        return [n - self.rounds * step] + [step] * self.rounds

    def planned(self) -> GenerationConfig:
        """The plan the rounds' requests fill: every round's texts after round 0."""
        return self.generation.model_copy(update={"n_per_label": sum(self.shares()[1:])})


@dataclass
class Scored:
    """The classifier of one round: its scores and the pool texts it got wrong."""

    row: dict
    errors: pd.DataFrame  # example_id | text | label of the misclassified pool texts
    predicted: list[int]  # on the test texts


def score(spec: TaskSpec, frame: pd.DataFrame, pool: pd.DataFrame, test: pd.DataFrame,
          config: RoundsConfig, round_: int, before: Scored | None = None) -> Scored:
    """The round's classifier on the test texts and the seed pool; its change from the
    round `before`, paired on the same test texts (95% bootstrap interval)."""
    model, _, _ = fitted(spec, TrainConfig(seeds=[config.seed]), frame,
                                  Classifier.LOGREG, config.seed)
    gold_test, gold_pool = as_split(test, spec), as_split(pool, spec)
    on_test = model.predict(gold_test.texts)
    on_pool = np.asarray(model.predict(gold_pool.texts))
    wrong = on_pool != np.asarray(gold_pool.labels)
    result = metrics(gold_test.labels, on_test, spec.label_names)
    intervals = evidence.score_intervals(gold_test.labels, on_test, len(spec.labels),
                                         seed=config.seed)
    row = {"task": spec.name, "round": round_, "start_method": config.start,
           "classifier": str(Classifier.LOGREG), "n_train": len(frame),
           "n_validation": len(pool), "validation_errors": int(wrong.sum()),
           "validation_f1": metrics(gold_pool.labels, on_pool.tolist(),
                                    spec.label_names)["macro_f1"],
           "macro_f1": result["macro_f1"], "macro_f1_low": intervals["macro_f1_low"],
           "macro_f1_high": intervals["macro_f1_high"], "n_test": len(test)}
    if before is not None:
        change = evidence.paired_difference(gold_test.labels, [on_test], [before.predicted],
                                            len(spec.labels), seed=config.seed)
        row.update(change=change.difference, change_low=change.low, change_high=change.high)
    return Scored(row, pool[wrong], on_test)


def demonstrations(spec: TaskSpec, errors: pd.DataFrame, pool: pd.DataFrame,
                   seed: int) -> dict[str, prompts.DemoPool]:
    """Per label, its misclassified pool texts, topped up to k with its other pool texts
    (seeded) where there are fewer than k."""
    demos = {}
    for label in spec.label_names:
        wrong = errors[errors["label"] == label]
        rest = pool[(pool["label"] == label) & ~pool["example_id"].isin(wrong["example_id"])]
        top_up = rest.sample(n=max(0, min(spec.few_shot.k - len(wrong), len(rest))),
                             random_state=seed)
        chosen = pd.concat([wrong, top_up])
        demos[label] = prompts.DemoPool(tuple(chosen["example_id"]), tuple(chosen["text"]))
    return demos


def round_zero(lake: Lake, spec: TaskSpec, config: RoundsConfig, quota: int) -> pd.DataFrame:
    """A seeded sample of `quota` kept rows per label of the start method, re-keyed as
    error-driven rows of round 0."""
    if not lake.exists("synthetic_examples"):
        raise RoundsError(f"task {spec.name}: no {config.start} rows to start from; generate "
                         f"{config.start} first")
    rows = lake.read("synthetic_examples",
                     where={"task": spec.name, "method": config.start}).to_pandas()
    kept = rows[rows["status"] == Status.ACCEPTED]
    if kept["label"].nunique() < len(spec.labels):
        raise RoundsError(f"task {spec.name}: {config.start} has no kept rows for "
                         f"{sorted(set(spec.label_names) - set(kept['label']))}; generate "
                         f"{config.start} first")
    sample = pd.concat([group.sample(n=min(quota, len(group)), random_state=config.seed)
                        for _, group in kept.groupby("label")])
    return sample.assign(method=str(METHOD), slot="r0/" + sample["slot"],
                         example_id=f"{METHOD}-" + sample["request_key"].str[:16])


def run(lake: Lake, spec: TaskSpec, run_id: str, config: RoundsConfig | None = None, *,
        endpoint: EndpointConfig | None = None, log=print, wire=None) -> pd.DataFrame:
    """Round 0, `rounds` rounds of generation, the final score; then writes the run (both
    synthetic tables, `fidelity_calibration`, `error_rounds`). Returns the rounds' rows
    (the requests' usage in `.attrs["usage"]`)."""
    config = config or RoundsConfig()
    endpoint = endpoint or EndpointConfig.from_env()
    if config.start not in PROMPTED:
        raise RoundsError(f"start {config.start!r}: one of {', '.join(PROMPTED)}")
    setup = generate.prepare(lake, spec, METHOD, config.generation, endpoint)
    pool = pd.DataFrame([{"example_id": i, "text": t, "label": label}
                         for label, p in prompts.seed_pool(setup.real, spec, config.seed).items()
                         for i, t in zip(p.example_ids, p.texts, strict=True)])
    test = test_split(lake, spec, config.max_test)
    shares = config.shares()
    zero = round_zero(lake, spec, config, shares[0])

    async def all_rounds(client):
        await setup.calibrate(client, spec, config.seed)
        frame, kept = zero, {similarity.normalized(t) for t in zero["text"]}
        rows, candidates, scored = [], [], None
        for round_, quota in enumerate(shares[1:], start=1):
            scored = score(spec, frame, pool, test, config, round_ - 1, scored)
            rows.append(scored.row)
            log(_line(scored.row))
            demos = demonstrations(spec, scored.errors, pool, config.seed + round_)
            step = replace_seed(config.generation, quota, prompts.request_seed(config.seed, round_))
            found = _across_rounds(await generate.Generator(
                client, spec, METHOD, step, setup.test_texts, None, setup.label_filter
            ).run(demos), kept, round_)
            candidates += found
            frame = pd.concat([frame, _accepted(spec, found, step, setup)], ignore_index=True)
        final = score(spec, frame, pool, test, config, len(shares) - 1, scored)
        log(_line(final.row))
        return rows + [final.row], candidates

    with session(endpoint, lake.journal, wire) as llm:
        (rows, candidates), usage = llm.run(all_rounds)
    planned = config.planned()
    found = generate.finished(spec, METHOD, planned, llm.model_label, candidates, usage, setup)
    generate.write(lake, spec, run_id, planned, method=METHOD, found=found, given=zero)
    lake.write_partition("error_rounds", tables.from_rows("error_rounds", rows),
                         {"task": spec.name}, run_id)
    log(f"{spec.name} error-driven: {found.report.usage['requests_sent']} requests sent, "
        f"{found.report.usage['cached']} from the journal")
    scores = pd.DataFrame(rows)
    scores.attrs["usage"] = found.report.usage
    return scores


def replace_seed(config: GenerationConfig, quota: int, seed: int) -> GenerationConfig:
    return config.model_copy(update={"n_per_label": quota, "seed": seed})


def _accepted(spec: TaskSpec, found: list, step: GenerationConfig,
              setup: generate.Setup) -> pd.DataFrame:
    """The round's kept rows, as `synthetic_examples` rows (the next round trains on them)."""
    judge = str(setup.label_filter.judge.name) if setup.label_filter else None
    new = generate.synthetic_table(spec, METHOD, found, step, judge).to_pandas()
    return new[new["status"] == Status.ACCEPTED]


def _across_rounds(found: list, kept_texts: set[str], round_: int) -> list:
    """The round's candidates with slots `r<round>/...`; a kept text that repeats an
    earlier round's is a duplicate."""
    out = []
    for cand in found:
        cand = replace(cand, slot=f"r{round_}/{cand.slot}")
        key = similarity.normalized(cand.text)
        if cand.reason is None and key in kept_texts:
            cand.reason = Reason.DUPLICATE
        elif cand.reason is None:
            kept_texts.add(key)
        out.append(cand)
    return out


def _line(row: dict) -> str:
    return (f"{row['task']} round {row['round']}: {row['n_train']} texts, macro-F1 "
            f"{row['macro_f1']:.3f} [{row['macro_f1_low']:.3f}, {row['macro_f1_high']:.3f}], "
            f"{row['validation_errors']}/{row['n_validation']} seed-pool texts wrong")
