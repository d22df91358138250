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

`label_fidelity` columns (partitioned by task and method; one row per accepted synthetic
row and judge):

    task | method | example_id | label (requested) | judge | predicted_label |
    p_requested | agrees (predicted == requested) | judged_at | run_id

`summary()` turns them into the share of rows a judge agrees with, per label, with its
95% Wilson interval and the n behind it.
"""

from __future__ import annotations

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

        from synthlake.embed import embedder_name, encode

        vectors = encode(texts, embedder_name())
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
        from synthlake.embed import embedder_name, encode

        if not texts:
            return pd.DataFrame({"predicted_label": [], "p_requested": [], "agrees": []})
        proba = self.model.predict_proba(encode(texts, embedder_name()))
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


def judge_task(lake, spec: TaskSpec, run_id: str,
               judges: tuple[Judge, ...] = (Judge.SEED_CLASSIFIER, Judge.REAL_ORACLE),
               seed: int = 0) -> tuple[pd.DataFrame, dict[str, int]]:
    """Judge every accepted row of each method of a task; write each method's
    `label_fidelity` partition. Each judge is trained once per task. Returns all rows and
    the Delta version written per method (methods without rows are left alone)."""
    accepted = {}
    for method in Method if "synthetic_examples" in lake.tables() else ():
        rows = lake.read("synthetic_examples", where={"task": spec.name, "method": method},
                         columns=["example_id", "label", "text", "status"]).to_pandas()
        rows = rows[rows["status"] == Status.ACCEPTED].reset_index(drop=True)
        if not rows.empty:
            accepted[str(method)] = rows
    if not accepted:
        return pd.DataFrame(columns=list(tables.TABLES["label_fidelity"].data_schema.names)), {}
    real = lake.read("real_examples", where={"task": spec.name},
                     columns=["split", "example_id", "text", "label"]).to_pandas()
    trained = {name: BUILDERS[name](real, spec, seed) for name in judges}
    frames, versions = [], {}
    for method, rows in accepted.items():
        frame = pd.concat([verdicts(judge, rows, spec.name, method) for judge in trained.values()],
                          ignore_index=True)
        versions[method] = lake.write_partition(
            "label_fidelity", tables.from_rows("label_fidelity", frame.to_dict("records")),
            {"task": spec.name, "method": method}, run_id)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), versions


def verdicts(judge: EmbeddingJudge, rows: pd.DataFrame, task: str, method: str) -> pd.DataFrame:
    """`label_fidelity` rows of one judge over `rows` (example_id, label, text)."""
    found = judge.judge(rows["text"].tolist(), rows["label"].tolist())
    return (pd.concat([rows[["example_id", "label"]], found], axis=1)
            .assign(task=task, method=method, judge=str(judge.name),
                    judged_at=pd.Timestamp.now(tz="UTC")))


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """task | method | judge | label | n | agree | share | low | high: the share of rows
    the judge gives their requested label, with its 95% Wilson interval."""
    from scipy.stats import binomtest

    out = (frame.groupby(["task", "method", "judge", "label"], sort=True)["agrees"]
           .agg(n="size", agree="sum").reset_index())
    intervals = [binomtest(int(k), int(n)).proportion_ci(method="wilson")
                 for k, n in zip(out["agree"], out["n"], strict=True)]
    out["share"] = (out["agree"] / out["n"]).round(3)
    out["low"] = np.round([ci.low for ci in intervals], 3)
    out["high"] = np.round([ci.high for ci in intervals], 3)
    return out
