"""Label fidelity: does each accepted synthetic text carry the label it was generated for?

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

`label_fidelity` columns (partitioned by task and method; one row per accepted synthetic
row and judge):

    task | method | example_id | label (requested) | judge | predicted_label |
    p_requested | agrees (predicted == requested) | judged_at | run_id

`summary()` turns them into the share of rows a judge agrees with, per label, with its
95% Wilson interval and the n behind it.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthlake import prompts, tables
from synthlake.catalog import TaskSpec
from synthlake.vocabulary import Judge, Method, Status

ORACLE_PER_LABEL = 2000  # real train texts per label the oracle learns from, at most
MAX_FOLDS = 5


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


def seed_classifier(real: pd.DataFrame, spec: TaskSpec, seed: int) -> EmbeddingJudge:
    """Trained on the seed pool few-shot generation draws its demonstrations from."""
    pools = prompts.seed_pool(real, spec, seed)
    texts = [t for pool in pools.values() for t in pool.texts]
    labels = [label for label, pool in pools.items() for _ in pool.texts]
    return EmbeddingJudge.fit(Judge.SEED_CLASSIFIER, texts, labels, seed)


def real_oracle(real: pd.DataFrame, spec: TaskSpec, seed: int) -> EmbeddingJudge:
    """Trained on the real train split, at most `ORACLE_PER_LABEL` texts per label."""
    train = real[real["split"] == "train"]
    capped = train.sample(frac=1.0, random_state=seed).groupby("label").head(ORACLE_PER_LABEL)
    return EmbeddingJudge.fit(Judge.REAL_ORACLE, capped["text"].tolist(),
                              capped["label"].tolist(), seed)


BUILDERS = {Judge.SEED_CLASSIFIER: seed_classifier, Judge.REAL_ORACLE: real_oracle}

SYSTEM = "You label texts for a text classification task."
INSTRUCTION = "Answer with exactly one label name from the list, or unknown if none fits."
UNKNOWN = "unknown"
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
    """Judges through an open `llm.session`; every answer is journaled, and the tokens it
    spends are counted apart from generation's (`usage`)."""

    name = Judge.LLM

    def __init__(self, llm, spec: TaskSpec, method: str, seed: int, temperature: float):
        self.llm, self.spec, self.method, self.seed = llm, spec, method, seed
        self.params = {"temperature": temperature, "max_tokens": 16}
        self.usage: dict = {}  # of its last `judge` call

    def request(self, text: str):
        from synthlake.embed import text_hash
        from synthlake.llm import ChatRequest

        options = list(self.spec.label_names)
        prompts.rng_for(self.seed, self.spec.name, text).shuffle(options)
        return ChatRequest(self.spec.name, f"{self.method}/fidelity",
                           judge_messages(self.spec, text, options),
                           {**self.params, "seed": self.seed}, slot=f"fidelity/{text_hash(text)}")

    def judge(self, texts: list[str], requested: list[str]) -> pd.DataFrame:
        import asyncio

        requests = [self.request(text) for text in texts]
        responses, usage = self.llm.run(
            lambda client: asyncio.gather(*[client.complete(r) for r in requests]))
        self.usage = usage
        predicted = [parse_verdict(r.text, self.spec.label_names) for r in responses]
        agrees = [p == r for p, r in zip(predicted, requested, strict=True)]
        return pd.DataFrame({"predicted_label": predicted,
                             "p_requested": [float(a) for a in agrees], "agrees": agrees})


def judge_for(spec: TaskSpec, method: str) -> Judge | None:
    """The judge a task's `fidelity.judge` names for a method (`auto` resolved)."""
    chosen = spec.fidelity.judge
    if chosen == "auto":
        return Judge.SEED_CLASSIFIER if method == Method.FEW_SHOT else Judge.LLM
    return None if chosen == "none" else Judge(chosen)


class Judges:
    """The judges of one task, each built on first use: embedding judges trained once, the
    LLM judge on one session opened for the lot (and closed by `close`)."""

    def __init__(self, lake, spec: TaskSpec, seed: int = 0, endpoint=None, wire=None):
        self.lake, self.spec, self.seed, self.endpoint, self.wire = lake, spec, seed, endpoint, wire
        self._built: dict = {}
        self._session = contextlib.ExitStack()
        self.llm_usage: dict = {}

    def get(self, name: Judge, method: str):
        if name == Judge.LLM:
            llm, temperature = self._llm()
            return LLMJudge(llm, self.spec, method, self.seed, temperature)
        if name not in self._built:
            self._built[name] = BUILDERS[name](self._real(), self.spec, self.seed)
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
                endpoint, Journal.path_for_lake(self.lake.root), self.wire))
            self._built["llm"] = llm, 0.0 if fixed is None else fixed
        return self._built["llm"]

    def judge(self, name: Judge, method: str, rows: pd.DataFrame) -> pd.DataFrame:
        judge = self.get(name, method)
        found = verdicts(judge, rows, self.spec.name, method)
        for key in COUNTED_USAGE if isinstance(judge, LLMJudge) else ():
            self.llm_usage[key] = self.llm_usage.get(key, 0) + judge.usage.get(key, 0)
        return found

    def close(self) -> None:
        self._session.close()


def judge_task(lake, spec: TaskSpec, run_id: str, judges: tuple[Judge, ...] | None = None,
               seed: int = 0, endpoint=None, wire=None) -> tuple[pd.DataFrame, dict[str, int], dict]:
    """Judge every accepted row of each method of a task, by the method's own judge
    (`judge_for`) and `real_oracle`, or by `judges`; write each method's `label_fidelity`
    partition. Returns all rows, the Delta version written per method (methods without
    rows are left alone) and the LLM judge's usage (tokens apart from generation's)."""
    accepted = {}
    for method in Method if "synthetic_examples" in lake.tables() else ():
        rows = lake.read("synthetic_examples", where={"task": spec.name, "method": method},
                         columns=["example_id", "label", "text", "status"]).to_pandas()
        rows = rows[rows["status"] == Status.ACCEPTED].reset_index(drop=True)
        if not rows.empty:
            accepted[str(method)] = rows
    frames, versions = [], {}
    panel = Judges(lake, spec, seed, endpoint, wire)
    try:
        for method, rows in accepted.items():
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


def verdicts(judge, rows: pd.DataFrame, task: str, method: str) -> pd.DataFrame:
    """`label_fidelity` rows of one judge over `rows` (example_id, label, text)."""
    found = judge.judge(rows["text"].tolist(), rows["label"].tolist())
    return (pd.concat([rows[["example_id", "label"]], found], axis=1)
            .assign(task=task, method=method, judge=str(judge.name),
                    judged_at=pd.Timestamp.now(tz="UTC")))


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """task | method | judge | label | n | agree | named | share | low | high: the share
    of rows the judge gives their requested label, with its 95% Wilson interval; `named`
    is the share it put in any label at all (an LLM judge answering outside the labels has
    no signal)."""
    from scipy.stats import binomtest

    out = (frame.assign(named=frame["predicted_label"] != UNKNOWN)
           .groupby(["task", "method", "judge", "label"], sort=True)
           .agg(n=("agrees", "size"), agree=("agrees", "sum"), named=("named", "mean"))
           .reset_index())
    intervals = [binomtest(int(k), int(n)).proportion_ci(method="wilson")
                 for k, n in zip(out["agree"], out["n"], strict=True)]
    out["share"] = (out["agree"] / out["n"]).round(3)
    out["low"] = np.round([ci.low for ci in intervals], 3)
    out["high"] = np.round([ci.high for ci in intervals], 3)
    return out
