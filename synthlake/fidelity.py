"""Label fidelity: does each synthetic text carry the label it was generated for?

A judge reads a text and says which label fits it, with the probability it gives the
label that was requested. Judges, each recorded by name (`vocabulary.Judge`):

    seed_classifier  frozen sentence embeddings + logistic regression trained on the
                     few-shot seed pool only (the real train texts generation may show,
                     never validation or test); probabilities calibrated out of fold
                     (`CalibratedClassifierCV`, sigmoid, stratified folds)
    real_oracle      the same, trained on the whole real train split (capped per label):
                     a diagnostic that measures the data and the other judges, never a
                     filter
    llm              the LLM, through the same door as generation (journaled, so a re-run
                     pays nothing), asked which label fits, options in a seeded shuffled
                     order so position bias averages out; p_requested is 1 or 0 (logprobs
                     are not read yet). Its prompt:

        system: You label texts for a text classification task.
        user:   Task: <task description>
                Labels:
                - <label>: <label description>      (one line per label, shuffled)
                Text:
                <the text, between triple double quotes>
                Answer with exactly one label name from the list, or unknown if none fits.

Generation filters with the method's judge (`LabelFilter`, task YAML `fidelity`): a row
below the bar is rejected as `label mismatch` and a later wave replaces it. Afterwards
`judge_task` judges every row that passed the other checks, kept or filtered out, by that
judge and by `real_oracle`. `label_fidelity` columns (partitioned by task and method; one
row per such synthetic row and judge):

    task | method | example_id | label (requested) | kept (passed the filter) | judge |
    predicted_label | p_requested | agrees (predicted == requested) | judged_at | run_id

`summary()` turns them into the share of rows a judge agrees with, per label, before the
filter (every judged row) and after it (the kept ones), with its 95% Wilson interval and
the n behind it.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake import prompts, tables
from synthlake.catalog import TaskSpec
from synthlake.vocabulary import SHOWS_REAL, FilterStage, Judge, Method, Reason, Status

ORACLE_BAR = 0.9  # share of kept rows the oracle should find labelled (report, demo)
MAX_FOLDS = 5


class FidelityConfig(BaseModel):
    """How `label_fidelity` judges the generated rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    oracle_per_label: int = Field(2000, ge=1, description="real train texts per label the "
                                  "real-data oracle (a diagnostic judge) learns from, at most")


DEFAULTS = FidelityConfig()


@dataclass
class EmbeddingJudge:
    """Logistic regression over frozen sentence embeddings, calibrated out of fold."""

    name: str
    model: object  # a fitted scikit-learn classifier with predict_proba and classes_
    trained_on: tuple[str, ...]  # the texts it learned from

    @classmethod
    def fit(cls, name: str, texts: list[str], labels: list[str], seed: int) -> EmbeddingJudge:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        from synthlake.embed import encode_memoized

        vectors = encode_memoized(texts)
        base = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        folds = min(MAX_FOLDS, min(Counter(labels).values()))
        if folds < 2:  # a label with one text: nothing to calibrate on
            return cls(name, base.fit(vectors, labels), tuple(texts))
        model = CalibratedClassifierCV(
            base, method="sigmoid",
            cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed))
        return cls(name, model.fit(vectors, labels), tuple(texts))

    def judge(self, texts: list[str], requested: list[str]) -> pd.DataFrame:
        """predicted_label | p_requested | agrees, one row per text."""
        from synthlake.embed import encode_memoized

        if not texts:
            return pd.DataFrame({"predicted_label": [], "p_requested": [], "agrees": []})
        proba = self.model.predict_proba(encode_memoized(texts))
        classes = list(self.model.classes_)
        predicted = [classes[i] for i in proba.argmax(axis=1)]
        column = {label: i for i, label in enumerate(classes)}
        p_requested = [float(proba[row, column[label]]) if label in column else 0.0
                       for row, label in enumerate(requested)]
        return pd.DataFrame({"predicted_label": predicted, "p_requested": p_requested,
                             "agrees": [p == r for p, r in zip(predicted, requested, strict=True)]})


def seed_classifier(real: pd.DataFrame, spec: TaskSpec, seed: int,
                    config: FidelityConfig = DEFAULTS) -> EmbeddingJudge:
    """Trained on the seed pool few-shot generation draws its demonstrations from (all of
    it: `config` sizes the oracle only)."""
    pools = prompts.seed_pool(real, spec, seed)
    texts = [t for pool in pools.values() for t in pool.texts]
    labels = [label for label, pool in pools.items() for _ in pool.texts]
    return EmbeddingJudge.fit(Judge.SEED_CLASSIFIER, texts, labels, seed)


def real_oracle(real: pd.DataFrame, spec: TaskSpec, seed: int,
                config: FidelityConfig = DEFAULTS) -> EmbeddingJudge:
    """Trained on the real train split, at most `config.oracle_per_label` texts per label."""
    train = real[real["split"] == "train"]
    capped = (train.sample(frac=1.0, random_state=seed).groupby("label")
              .head(config.oracle_per_label))
    return EmbeddingJudge.fit(Judge.REAL_ORACLE, capped["text"].tolist(),
                              capped["label"].tolist(), seed)


BUILDERS = {Judge.SEED_CLASSIFIER: seed_classifier, Judge.REAL_ORACLE: real_oracle}

SYSTEM = "You label texts for a text classification task."
INSTRUCTION = "Answer with exactly one label name from the list, or unknown if none fits."
UNKNOWN = "unknown"
FIDELITY_KIND = "fidelity"  # `ChatRequest.kind` of the judge's requests (usage apart)
COUNTED_USAGE = ("requests_sent", "cached", "retries", "failures", "prompt_tokens",
                 "completion_tokens", "cost_usd")  # the LLM judge's, summed over methods


def judge_messages(spec: TaskSpec, text: str, options: list[str]) -> list[dict]:
    """The question put to the LLM judge, labels in the order given."""
    described = {label.name: label.description for label in spec.labels}
    listing = "\n".join(f"- {name}: {described[name]}" for name in options)
    user = (f"Task: {spec.description}\n\nLabels:\n{listing}\n\nText:\n\"\"\"{text}\"\"\"\n\n"
            f"{INSTRUCTION}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(answer: str | None, label_names: list[str]) -> str:
    """The label an answer names, or `unknown`: the whole answer as a label (case, quotes
    and punctuation aside), else the one label named in it as a whole word."""
    def norm(value: str) -> str:
        return re.sub(r"[^\w+/ -]", "", value).strip().lower()

    said = norm(answer or "")
    by_norm = {norm(name): name for name in label_names}
    if said in by_norm:
        return by_norm[said]
    named = {name for key, name in by_norm.items()
             if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", said)}
    return named.pop() if len(named) == 1 else UNKNOWN


class LLMJudge:
    """Asks the LLM, through a client of an open `llm.session`: every answer is journaled,
    and its requests are of kind `fidelity`, so their tokens are counted apart from
    generation's."""

    name = Judge.LLM

    def __init__(self, spec: TaskSpec, method: str, seed: int, temperature: float):
        self.spec, self.method, self.seed = spec, method, seed
        self.params = {"temperature": temperature, "max_tokens": 16}

    def request(self, text: str):
        from synthlake.embed import text_hash
        from synthlake.llm import ChatRequest

        options = list(self.spec.label_names)
        prompts.rng_for(self.seed, self.spec.name, text).shuffle(options)
        return ChatRequest(self.spec.name, f"{self.method}/fidelity",
                           judge_messages(self.spec, text, options),
                           {**self.params, "seed": self.seed}, slot=f"fidelity/{text_hash(text)}",
                           kind=FIDELITY_KIND)

    async def ajudge(self, client, texts: list[str], requested: list[str]) -> pd.DataFrame:
        import asyncio

        responses = await asyncio.gather(*[client.complete(self.request(t)) for t in texts])
        predicted = [parse_verdict(r.text, self.spec.label_names) for r in responses]
        agrees = [p == r for p, r in zip(predicted, requested, strict=True)]
        return pd.DataFrame({"predicted_label": predicted,
                             "p_requested": [float(a) for a in agrees], "agrees": agrees})


async def ajudge(judge, client, texts: list[str], requested: list[str]) -> pd.DataFrame:
    """Any judge's verdicts (predicted_label | p_requested | agrees), from inside an event
    loop; `client` is used by the LLM judge only."""
    if isinstance(judge, LLMJudge):
        return await judge.ajudge(client, texts, requested)
    return judge.judge(texts, requested)


@dataclass
class LabelFilter:
    """The filter inside generation: a row whose judge names another label, or gives the
    requested one less than `min_p`, is rejected as `label mismatch`. An `unknown` answer
    abstains and keeps the row: a judge that cannot tell (the embedded model mostly cannot)
    must not empty the set; `summary().named` shows how often it abstained."""

    judge: object  # EmbeddingJudge or LLMJudge
    min_p: float

    async def verdicts(self, client, texts: list[str], requested: list[str]) -> pd.DataFrame:
        """The judge's verdicts plus `mismatch`, one row per text."""
        found = await ajudge(self.judge, client, texts, requested)
        found["mismatch"] = ((found["predicted_label"] != UNKNOWN)
                             & (found["p_requested"] < self.min_p))
        return found


def label_filter(spec: TaskSpec, method: str, real: pd.DataFrame, seed: int,
                 temperature: float) -> LabelFilter | None:
    """The filter a task's `fidelity` block sets for a method (None: `judge: none`);
    `temperature` is the LLM judge's (0, or the one an endpoint is fixed at)."""
    name = judge_for(spec, method)
    if name is None:
        return None
    judge = (LLMJudge(spec, method, seed, temperature) if name == Judge.LLM
             else BUILDERS[name](real, spec, seed))
    return LabelFilter(judge, spec.fidelity.min_p)


def judge_for(spec: TaskSpec, method: str) -> Judge | None:
    """The judge a task's `fidelity.judge` names for a method (`auto` resolved)."""
    chosen = spec.fidelity.judge
    if chosen == "auto":
        return Judge.SEED_CLASSIFIER if method in SHOWS_REAL else Judge.LLM
    return None if chosen == "none" else Judge(chosen)


class Judges:
    """The judges of one task, each built on first use: embedding judges trained once, the
    LLM judge on one session opened for the lot (and closed by `close`)."""

    def __init__(self, lake, spec: TaskSpec, seed: int = 0, endpoint=None, wire=None,
                 config: FidelityConfig | None = None):
        self.lake, self.spec, self.seed, self.endpoint, self.wire = lake, spec, seed, endpoint, wire
        self.config = config or DEFAULTS
        self._built: dict = {}
        self._session = contextlib.ExitStack()
        self.llm_usage: dict = {}

    def get(self, name: Judge, method: str):
        if name == Judge.LLM:
            return LLMJudge(self.spec, method, self.seed, self._llm()[1])
        if name not in self._built:
            self._built[name] = BUILDERS[name](self._real(), self.spec, self.seed, self.config)
        return self._built[name]

    def _real(self) -> pd.DataFrame:
        """The task's real examples, read once for every embedding judge."""
        if "real" not in self._built:
            self._built["real"] = self.lake.read(
                "real_examples", where={"task": self.spec.name},
                columns=["split", "example_id", "text", "label"]).to_pandas()
        return self._built["real"]

    def _llm(self):
        """The session, opened on first use, and the temperature the judge asks for (the
        embedded model samples at one temperature only, and that one is recorded)."""
        from synthlake.llm import EndpointConfig, Journal, fixed_temperature, session

        if "llm" not in self._built:
            endpoint = self.endpoint or EndpointConfig.from_env()
            fixed = fixed_temperature(endpoint)
            llm = self._session.enter_context(session(
                endpoint, Journal.path_for_lake(self.lake.local), self.wire))
            self._built["llm"] = llm, 0.0 if fixed is None else fixed
        return self._built["llm"]

    def judge(self, name: Judge, method: str, rows: pd.DataFrame) -> pd.DataFrame:
        """`label_fidelity` rows of one judge over `rows` (example_id, label, text, kept)."""
        judge = self.get(name, method)
        texts, requested = rows["text"].tolist(), rows["label"].tolist()
        if name != Judge.LLM:
            found = judge.judge(texts, requested)
        else:
            found, usage = self._llm()[0].run(lambda c: judge.ajudge(c, texts, requested))
            counted = usage["by_kind"].get(FIDELITY_KIND, {})
            for key in COUNTED_USAGE:
                self.llm_usage[key] = self.llm_usage.get(key, 0) + counted.get(key, 0)
        return (pd.concat([rows[["example_id", "label", "kept"]], found], axis=1)
                .assign(task=self.spec.name, method=method, judge=str(name),
                        judged_at=pd.Timestamp.now(tz="UTC")))

    def close(self) -> None:
        self._session.close()


def judged_rows(lake, task: str, method: str) -> pd.DataFrame:
    """example_id | label | text | kept: the rows that passed every check but fidelity
    (accepted, or rejected as `label mismatch`); `kept` marks those the filter kept."""
    rows = lake.read("synthetic_examples", where={"task": task, "method": method},
                     columns=["example_id", "label", "text", "status", "reason"]).to_pandas()
    kept = rows["status"] == Status.ACCEPTED
    rows = rows[kept | (rows["reason"] == Reason.LABEL_MISMATCH)].assign(kept=kept)
    return rows[["example_id", "label", "text", "kept"]].reset_index(drop=True)


def judge_task(lake, spec: TaskSpec, run_id: str, judges: tuple[Judge, ...] | None = None,
               seed: int = 0, endpoint=None, wire=None, config: FidelityConfig | None = None
               ) -> tuple[pd.DataFrame, dict[str, int], dict]:
    """Judge every row of each method of a task that passed the checks before fidelity
    (`judged_rows`: kept and filtered out alike, so the filter's effect is measurable), by
    the method's own judge (`judge_for`) and `real_oracle`, or by `judges`; write each
    method's `label_fidelity` partition. Returns all rows, the Delta version written per
    method (methods without rows are left alone) and the LLM judge's usage (tokens apart
    from generation's; the filter's own questions come back from the journal)."""
    exists = "synthetic_examples" in lake.tables()
    candidates = {str(m): judged_rows(lake, spec.name, m) for m in Method if exists}
    frames, versions = [], {}
    panel = Judges(lake, spec, seed, endpoint, wire, config)
    try:
        for method, rows in candidates.items():
            if rows.empty:
                continue
            names = judges or tuple(j for j in (judge_for(spec, method), Judge.REAL_ORACLE) if j)
            frame = pd.concat([panel.judge(name, method, rows) for name in names],
                              ignore_index=True)
            versions[method] = lake.write_partition(
                "label_fidelity", tables.from_rows("label_fidelity", frame.to_dict("records")),
                {"task": spec.name, "method": method}, run_id)
            frames.append(frame)
    finally:
        panel.close()
    columns = list(tables.TABLES["label_fidelity"].data_schema.names)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame, versions, panel.llm_usage


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """task | method | judge | label | filter | n | agree | named | share | low | high:
    the share of rows the judge gives their requested label, before the filter and after
    it, with its 95% Wilson interval; `named` is the share it put in any label at all (an
    LLM judge answering outside the labels has no signal)."""
    from scipy.stats import binomtest

    staged = pd.concat([frame.assign(filter=FilterStage.BEFORE.value),
                        frame[frame["kept"].astype(bool)].assign(filter=FilterStage.AFTER.value)])
    out = (staged.assign(named=staged["predicted_label"] != UNKNOWN)
           .groupby(["task", "method", "judge", "label", "filter"], sort=False)
           .agg(n=("agrees", "size"), agree=("agrees", "sum"), named=("named", "mean"))
           .reset_index())
    intervals = [binomtest(int(k), int(n)).proportion_ci(method="wilson")
                 for k, n in zip(out["agree"], out["n"], strict=True)]
    out["share"] = (out["agree"] / out["n"]).round(3)
    out["low"] = np.round([ci.low for ci in intervals], 3)
    out["high"] = np.round([ci.high for ci in intervals], 3)
    return out.sort_values(["task", "method", "judge", "label"], kind="stable",
                           ignore_index=True)
