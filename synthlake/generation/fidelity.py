"""Label fidelity: does each synthetic text carry the label it was generated for?

A judge reads a text and says which label fits it, with the probability it gives the
label that was requested. Judges, each recorded by name (`vocabulary.Judge`):

    seed_classifier  frozen sentence embeddings + logistic regression trained on the
                     few-shot seed pool only (the real train texts generation may show,
                     never validation or test); probabilities calibrated out of fold
                     (`CalibratedClassifierCV`, sigmoid, stratified folds)
    real_oracle      the same, trained on the real train split (capped per label, the
                     calibration texts left out): a diagnostic that measures the data and
                     the other judges, never a filter
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

Every judge is read against real data first. The **calibration texts** are
`fidelity.calibration_per_label` real train texts per label outside the seed pool, held
out from every judge (`calibration_texts`). On them a judge shows its ceiling (how often
it finds the label of a genuine text) and the filter sets its bar: per label, the
conformal quantile of the genuine texts' `p_requested` at `fidelity.false_rejection`
(never above `min_p`), so a genuine text is rejected with probability at most that share
whatever the judge's calibration (with fewer than 1 / share calibration texts, at most
1 / (n + 1)). Its false-rejection rate is measured leave-one-out on
the same texts (each text against the bar the others set). An `unknown` answer abstains:
counted apart, never as disagreement, and never rejected.

Generation filters with the method's judge (`LabelFilter`, task YAML `fidelity`): a row
below its label's bar is rejected as `label mismatch` and a later wave replaces it; the
calibration verdicts go to `fidelity_calibration` (task x method):

    task | method | judge | example_id | label | predicted_label | p_requested | agrees |
    threshold (its label's bar) | rejected (leave-one-out) | judged_at | run_id

Afterwards `judge_task` judges every row that passed the other checks, kept or filtered
out, by that judge and by `real_oracle`, and the calibration texts by `real_oracle` too.
`label_fidelity` columns (partitioned by task and method; one row per text and judge):

    task | method | example_id | label (requested, or the real label) | sample (synthetic,
    or real_heldout: the calibration texts) | kept (passed the filter; null for real) |
    judge | role (filter: the judge that filtered; independent) | predicted_label |
    p_requested | agrees (predicted == requested) | rejected (the filter's verdict; null
    for an independent judge) | judged_at | run_id

`summary()` turns them into the share of named rows a judge agrees with, per label,
before the filter (every judged row), after it (the kept ones, by independent judges
only: the filtering judge agrees with what it kept by construction) and on the held-out
real texts (the ceiling), with its 95% Wilson interval, the n behind it and the share the
judge abstained on.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake import tables
from synthlake.catalog import TaskSpec
from synthlake.generation import prompts
from synthlake.lake import Lake
from synthlake.vocabulary import (
    SHOWS_REAL,
    FilterStage,
    Judge,
    JudgeRole,
    Method,
    Reason,
    Sample,
    Status,
)

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
    model: Any  # a fitted scikit-learn classifier with predict_proba and classes_
    trained_on: tuple[str, ...]  # the texts it learned from

    @classmethod
    def fit(cls, name: str, texts: list[str], labels: list[str], seed: int) -> EmbeddingJudge:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        from synthlake.embed import encode_memoized

        vectors = encode_memoized(texts)
        # Balanced classes: synthetic sets are balanced by plan, real splits often not.
        base = LogisticRegression(max_iter=2000, C=1.0, random_state=seed,
                                  class_weight="balanced")
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


def calibration_texts(real: pd.DataFrame, spec: TaskSpec, seed: int) -> pd.DataFrame:
    """example_id | text | label: per label, `fidelity.calibration_per_label` real train
    texts outside the seed pool (seeded), held out from every judge."""
    try:
        shown = {i for pool in prompts.seed_pool(real, spec, seed).values()
                 for i in pool.example_ids}
    except ValueError:  # a label too small for a seed pool: nothing is shown
        shown = set()
    train = real[(real["split"] == "train") & ~real["example_id"].isin(shown)]
    picked = (train.sort_values("example_id").sample(frac=1.0, random_state=seed)
              .groupby("label", sort=False).head(spec.fidelity.calibration_per_label))
    return picked[["example_id", "text", "label"]].reset_index(drop=True)


def real_oracle(real: pd.DataFrame, spec: TaskSpec, seed: int,
                config: FidelityConfig = DEFAULTS) -> EmbeddingJudge:
    """Trained on the real train split less the calibration texts, at most
    `config.oracle_per_label` texts per label."""
    held = set(calibration_texts(real, spec, seed)["example_id"])
    train = real[(real["split"] == "train") & ~real["example_id"].isin(held)]
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


def conformal_bar(scores: np.ndarray, share: float, cap: float) -> float:
    """The bar under which at most `share` of genuine texts fall: the k-th smallest of n
    genuine scores, k = floor(share x (n + 1)) (a new genuine text falls below it with
    probability k / (n + 1) <= share), never above `cap`. With too few texts for that
    share (k < 1) it is the smallest genuine score (probability 1 / (n + 1)); with none,
    `cap`."""
    if not len(scores):
        return cap
    k = max(1, int(np.floor(share * (len(scores) + 1))))
    return min(cap, float(np.sort(scores)[k - 1]))


def leave_one_out_rejected(scores: np.ndarray, share: float, cap: float) -> np.ndarray:
    """Whether each genuine text falls under the bar the other n - 1 set: an
    out-of-sample false-rejection rate from the same texts."""
    return np.array([score < conformal_bar(np.delete(scores, i), share, cap)
                     for i, score in enumerate(scores)], dtype=bool)


@dataclass
class LabelFilter:
    """The filter inside generation: a row whose judge names another label, or gives the
    requested one less than its label's bar, is rejected as `label mismatch`. The bars
    come from `calibrate` on genuine real texts (`conformal_bar`); an `unknown` answer
    abstains and keeps the row: a judge that cannot tell must not empty the set."""

    judge: EmbeddingJudge | LLMJudge
    min_p: float
    false_rejection: float
    bars: dict[str, float] = field(default_factory=dict)
    calibration: pd.DataFrame | None = None  # the verdicts on the calibration texts

    async def calibrate(self, client, texts: pd.DataFrame) -> pd.DataFrame:
        """Judge the calibration texts; set each label's bar; return their verdicts with
        `threshold` and the leave-one-out `rejected` (a label with no calibration text
        keeps `min_p`)."""
        found = await ajudge(self.judge, client, texts["text"].tolist(), texts["label"].tolist())
        found = pd.concat([texts[["example_id", "label"]].reset_index(drop=True), found], axis=1)
        found["threshold"], found["rejected"] = self.min_p, False
        for label, rows in found.groupby("label"):
            named = rows[rows["predicted_label"] != UNKNOWN]
            scores = named["p_requested"].to_numpy(dtype=float)
            self.bars[label] = conformal_bar(scores, self.false_rejection, self.min_p)
            found.loc[rows.index, "threshold"] = self.bars[label]
            found.loc[named.index, "rejected"] = leave_one_out_rejected(
                scores, self.false_rejection, self.min_p)
        self.calibration = found
        return found

    async def verdicts(self, client, texts: list[str], requested: list[str]) -> pd.DataFrame:
        """The judge's verdicts plus `mismatch`, one row per text."""
        found = await ajudge(self.judge, client, texts, requested)
        bars = np.array([self.bars.get(label, self.min_p) for label in requested])
        found["mismatch"] = ((found["predicted_label"] != UNKNOWN)
                             & (found["p_requested"].to_numpy() < bars))
        return found


def label_filter(spec: TaskSpec, method: str, real: pd.DataFrame, seed: int,
                 temperature: float) -> LabelFilter | None:
    """The filter a task's `fidelity` block sets for a method (None: `judge: none`),
    not yet calibrated; `temperature` is the LLM judge's (0, or the one an endpoint is
    fixed at)."""
    name = judge_for(spec, method)
    if name is None:
        return None
    judge = (LLMJudge(spec, method, seed, temperature) if name == Judge.LLM
             else BUILDERS[name](real, spec, seed))
    return LabelFilter(judge, spec.fidelity.min_p, spec.fidelity.false_rejection)


def calibration_summary(label_filter: LabelFilter | None) -> list[dict]:
    """Per label, what the calibrated filter does to genuine held-out texts: label | n |
    named (the judge named a label) | agree (of named) | bar | rejected (leave-one-out) |
    rejected_low | rejected_high (95% Wilson)."""
    if label_filter is None or label_filter.calibration is None:
        return []
    found = label_filter.calibration
    rows = []
    for label, group in found.groupby("label", sort=True):
        named = group["predicted_label"] != UNKNOWN
        rejected = int(group["rejected"].sum())
        low, high = wilson(rejected, len(group))
        rows.append({"label": label, "n": len(group), "named": int(named.sum()),
                     "agree": int((group["agrees"].astype(bool) & named).sum()),
                     "bar": round(float(group["threshold"].iloc[0]), 4), "rejected": rejected,
                     "rejected_low": round(float(low), 3), "rejected_high": round(float(high), 3)})
    return rows


def calibration_rows(spec: TaskSpec, method: str, label_filter: LabelFilter | None) -> list[dict]:
    """`fidelity_calibration` rows of a calibrated filter."""
    if label_filter is None or label_filter.calibration is None:
        return []
    return (label_filter.calibration.assign(
        task=spec.name, method=method, judge=str(label_filter.judge.name),
        judged_at=pd.Timestamp.now(tz="UTC")).to_dict("records"))


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
        from synthlake.llm import EndpointConfig, fixed_temperature, session

        if "llm" not in self._built:
            endpoint = self.endpoint or EndpointConfig.from_env()
            fixed = fixed_temperature(endpoint)
            llm = self._session.enter_context(session(
                endpoint, self.lake.journal, self.wire))
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


def ceiling_rows(lake, panel: Judges, name: Judge, role: JudgeRole, method: str,
                 held: pd.DataFrame) -> pd.DataFrame:
    """A judge's verdicts on the calibration texts: for the filtering judge the ones
    generation calibrated on (`fidelity_calibration`, with its leave-one-out `rejected`),
    for any other (or where none were stored) judged now."""
    spec = panel.spec
    if role == JudgeRole.FILTER and lake.exists("fidelity_calibration"):
        stored = lake.read("fidelity_calibration", where={"task": spec.name, "method": method}
                           ).to_pandas()
        stored = stored[stored["judge"] == str(name)]
        if len(stored):
            return stored[["example_id", "label", "predicted_label", "p_requested", "agrees",
                           "rejected"]].assign(task=spec.name, method=method, judge=str(name),
                                                 kept=None, judged_at=pd.Timestamp.now(tz="UTC"))
    return panel.judge(name, method, held.assign(kept=None)).assign(rejected=None)


def judge_task(lake: Lake, spec: TaskSpec, run_id: str, config: FidelityConfig | None = None, *,
               judges: tuple[Judge, ...] | None = None, seed: int = 0, endpoint=None, wire=None
               ) -> tuple[pd.DataFrame, dict[str, int], dict]:
    """Judge every row of each method of a task that passed the checks before fidelity
    (`judged_rows`: kept and filtered out alike, so the filter's effect is measurable), by
    the method's own judge (`judge_for`) and `real_oracle`, or by `judges`, and the
    calibration texts by the same judges (their ceiling on real data); write each
    method's `label_fidelity` partition. Returns all rows, the Delta version written per
    method (methods without rows are left alone) and the LLM judge's usage (tokens apart
    from generation's; the filter's own questions come back from the journal)."""
    exists = "synthetic_examples" in lake.tables()
    candidates = {str(m): judged_rows(lake, spec.name, m) for m in Method if exists}
    frames, versions = [], {}
    panel = Judges(lake, spec, seed, endpoint, wire, config)
    try:
        held = calibration_texts(panel._real(), spec, seed) if exists else None
        for method, rows in candidates.items():
            if rows.empty:
                continue
            filtering = judge_for(spec, method)
            names = judges or tuple(j for j in (filtering, Judge.REAL_ORACLE) if j)
            parts = []
            for name in names:
                role = JudgeRole.FILTER if name == filtering else JudgeRole.INDEPENDENT
                judged = panel.judge(name, method, rows)
                judged["rejected"] = ~judged["kept"] if role == JudgeRole.FILTER else None
                parts += [judged.assign(sample=Sample.SYNTHETIC.value, role=role.value),
                          ceiling_rows(lake, panel, name, role, method, held).assign(
                              sample=Sample.REAL_HELDOUT.value, role=role.value)]
            frame = pd.concat(parts, ignore_index=True)
            versions[method] = lake.write_partition(
                "label_fidelity", tables.from_rows("label_fidelity", frame.to_dict("records")),
                {"task": spec.name, "method": method}, run_id)
            frames.append(frame)
    finally:
        panel.close()
    columns = list(tables.TABLES["label_fidelity"].data_schema.names)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame, versions, panel.llm_usage


def wilson(k, n) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson intervals of k / n, elementwise (0 to 1 where n is 0)."""
    from scipy.stats import norm

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = norm.ppf(0.975)
    safe = np.where(n > 0, n, 1)
    p = k / safe
    centre = (p + z * z / (2 * safe)) / (1 + z * z / safe)
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / (1 + z * z / safe)
    return np.where(n > 0, centre - half, 0.0), np.where(n > 0, centre + half, 1.0)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """task | method | judge | role | label | filter | n | n_named | agree | named |
    share | low | high | rejected: the share of the rows a judge named a label for that
    it finds their requested (or real) label in, with its 95% Wilson interval: before the
    filter, after it (independent judges only) and on held-out real texts (the ceiling).
    `named` is the share it named a label for at all (abstentions are apart, never
    disagreement; under half has no signal); `rejected` the share the filter rejected
    (on real texts: its false-rejection rate, leave-one-out)."""
    synthetic = frame[frame["sample"] == Sample.SYNTHETIC]
    kept = synthetic["kept"].astype(bool) & (synthetic["role"] == JudgeRole.INDEPENDENT)
    staged = pd.concat([synthetic.assign(filter=FilterStage.BEFORE.value),
                        synthetic[kept].assign(filter=FilterStage.AFTER.value),
                        frame[frame["sample"] == Sample.REAL_HELDOUT].assign(
                            filter=FilterStage.REAL_HELDOUT.value)])
    staged = staged.assign(named=staged["predicted_label"] != UNKNOWN,
                           rejected=staged["rejected"].astype("float"))
    staged["agree"] = staged["agrees"].astype(bool) & staged["named"]
    out = (staged.groupby(["task", "method", "judge", "role", "label", "filter"], sort=False)
           .agg(n=("agree", "size"), n_named=("named", "sum"), agree=("agree", "sum"),
                rejected=("rejected", "mean"))
           .reset_index())
    low, high = wilson(out["agree"], out["n_named"])
    out["named"] = (out["n_named"] / out["n"]).round(3)
    out["share"] = (out["agree"] / out["n_named"].where(out["n_named"] > 0)).round(3)
    out["low"], out["high"] = np.round(low, 3), np.round(high, 3)
    out["rejected"] = out["rejected"].round(3)
    return out.sort_values(["task", "method", "judge", "label", "filter"], kind="stable",
                           ignore_index=True)
