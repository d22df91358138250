"""Objectivity proxies: rankings of the tasks from real data alone, each named a proxy
wherever it is shown (they stand in for the paper's crowd judgments; they are not them).

`objectivity_proxies` columns (higher score = more objective):

    task | proxy | score | low | high (95% bootstrap interval) | n | detail

    annotator agreement      mean a_i (share of annotators choosing the majority label,
                             `subjectivity.instance_agreement`) over the task's annotated
                             texts; only tasks with annotations. Interval: bootstrap over
                             the texts; n: annotated texts.
    surface predictability   macro-F1 of a bag-of-words linear classifier (TF-IDF of word
                             unigrams and bigrams, class-balanced logistic regression)
                             divided by the reference classifier's (`ProxyConfig.reference`:
                             by default the same regression on frozen sentence embeddings;
                             or the fine-tuned classifier), both trained and scored on the
                             same real train and test texts. The paper's
                             own definition of objective: the label follows from
                             identifiable words and phrases. Interval: paired bootstrap
                             over the test texts; n: test texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake import evidence
from synthlake.catalog import TaskSpec
from synthlake.lake import Lake
from synthlake.vocabulary import Classifier

AGREEMENT = "annotator agreement"
SURFACE = "surface predictability"
PROXIES = (AGREEMENT, SURFACE)


class ProxyConfig(BaseModel):
    """How the surface-predictability proxy trains its two classifiers."""

    model_config = ConfigDict(frozen=True)

    reference: Classifier = Field(Classifier.LOGREG, description="the classifier the "
                                  "bag-of-words one is compared with: logreg (the same "
                                  "regression on frozen sentence embeddings; all 10 tasks in "
                                  "minutes on 2 cores) or finetune (slower)")
    tasks: list[str] = Field([], description="tasks to compute them for (empty: every task "
                             "whose real data is in the lake)")
    max_train: int = Field(1000, ge=10, description="real train texts per task (stratified)")
    max_test: int = Field(1000, ge=10, description="real test texts per task (stratified)")
    epochs: int = Field(2, ge=1, description="fine-tuning epochs when the reference is finetune")


def linear(seed: int):
    """The linear classifier of both sides of the comparison: a class-balanced logistic
    regression (macro-F1 weighs every label alike)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed)


def bag_of_words(train_texts: list[str], train_labels: list[int], seed: int):
    """TF-IDF of word unigrams and bigrams into `linear`: a classifier that sees only
    which words occur."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), linear(seed))
    return model.fit(train_texts, train_labels)


def reference_predictions(spec: TaskSpec, train: pd.DataFrame, test: pd.DataFrame,
                          config: ProxyConfig, seed: int) -> list[int]:
    """The reference classifier's labels for `test`: `linear` on frozen sentence
    embeddings (logreg: the same learner, other features), or the fine-tuned classifier
    of `train.py` (finetune)."""
    from synthlake.evaluation import train as training

    if config.reference == Classifier.LOGREG:
        from synthlake.embed import encode_memoized

        model = linear(seed).fit(encode_memoized(train["text"].tolist()),
                                 training.as_split(train, spec).labels)
        return model.predict(encode_memoized(test["text"].tolist())).tolist()
    model, _, _ = training.fitted(
        spec, training.TrainConfig(classifiers=[config.reference], epochs=config.epochs,
                                   save_models=False), train, config.reference, seed)
    return model.predict(test["text"].tolist())


def ratio_of_f1(gold, a, b, n_labels: int, seed: int = 0) -> tuple[float, float, float]:
    """Macro-F1 of predictions `a` over that of `b`, with its 95% paired-bootstrap interval
    over the texts (a resample where `b` scores 0 counts as ratio 0)."""
    def statistic(g, p, q, axis=-1):
        top, bottom = evidence.macro_f1(g, p, n_labels), evidence.macro_f1(g, q, n_labels)
        return np.divide(top, bottom, out=np.zeros(np.shape(top)), where=bottom > 0)

    arrays = tuple(np.asarray(x) for x in (gold, a, b))
    interval = evidence.bootstrap(arrays, statistic, seed).confidence_interval
    return float(statistic(*arrays)), float(interval.low), float(interval.high)


def surface_predictability(spec: TaskSpec, train: pd.DataFrame, test: pd.DataFrame,
                           config: ProxyConfig, seed: int = 0) -> dict:
    """One `objectivity_proxies` row from the task's real train and test rows (text, label,
    example_id)."""
    from synthlake.evaluation import train as training

    labels = training.as_split(test, spec).labels
    words = bag_of_words(train["text"].tolist(), training.as_split(train, spec).labels, seed)
    predicted_words = words.predict(test["text"].tolist())
    predicted_reference = reference_predictions(spec, train, test, config, seed)
    score, low, high = ratio_of_f1(labels, predicted_words, predicted_reference,
                                   len(spec.labels), seed)
    n_labels = len(spec.labels)
    f1_words = float(evidence.macro_f1(np.array(labels), np.array(predicted_words), n_labels))
    f1_reference = float(evidence.macro_f1(np.array(labels), np.array(predicted_reference),
                                           n_labels))
    return {"task": spec.name, "proxy": SURFACE, "score": score, "low": low, "high": high,
            "n": len(test), "detail": f"macro-F1 bag-of-words {f1_words:.3f} / "
            f"{config.reference} {f1_reference:.3f} ({len(train)} train texts)"}


def annotator_agreement(task: str, agreement: pd.Series, seed: int = 0) -> dict | None:
    """One `objectivity_proxies` row from the a_i of the task's annotated texts; None
    without any."""
    values = agreement.dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return None
    row = {"task": task, "proxy": AGREEMENT, "score": float(values.mean()), "n": len(values),
           "detail": f"mean a_i over {len(values)} annotated texts"}
    if len(values) >= 2 and values.std() > 0:
        interval = evidence.bootstrap((values,), lambda v, axis=-1: v.mean(axis=axis),
                                      seed).confidence_interval
        row.update(low=float(interval.low), high=float(interval.high))
    else:
        row.update(low=row["score"], high=row["score"])
    return row


def compute(lake, specs: dict[str, TaskSpec], config: ProxyConfig, log=print) -> list[dict]:
    """Every proxy for every task whose real data is in the lake."""
    from synthlake.catalog import choose
    from synthlake.evaluation import train
    from synthlake.progress import advance
    from synthlake.subjectivity import ranking as subjectivity

    have = set(lake.read("real_examples", columns=["task"]).column("task").unique().to_pylist()) \
        if lake.exists("real_examples") else set()
    tasks = [name for name in choose(specs, config.tasks, "objectivity_proxies tasks")
             if name in have]
    rows = []
    for done, name in enumerate(tasks, 1):
        spec = specs[name]
        real = train.real_train(lake, spec)
        row = surface_predictability(spec, train.stratified_cap(real, config.max_train, seed=0),
                                     train.test_split(lake, spec, config.max_test), config)
        log(f"{name}: {SURFACE} {row['score']:.3f} ({row['low']:.3f} to {row['high']:.3f}); "
            f"{row['detail']}")
        rows.append(row)
        if lake.exists("real_annotations"):
            annotations = lake.read("real_annotations", where={"task": name}).to_pandas()
            found = annotator_agreement(name, subjectivity.instance_agreement(annotations)
                                        ["agreement"] if len(annotations) else pd.Series())
            rows += [found] if found else []
        advance("objectivity proxies", done, len(tasks))
    return rows


def write(lake: Lake, specs: dict[str, TaskSpec], run_id: str, config: ProxyConfig | None = None,
          *, log=print) -> pd.DataFrame:
    """`objectivity_proxies` in one commit (the whole table: proxies compare tasks)."""
    from synthlake import tables

    rows = compute(lake, specs, config or ProxyConfig(), log)
    lake.write_partition("objectivity_proxies", tables.from_rows("objectivity_proxies", rows),
                         {}, run_id)
    return pd.DataFrame(rows, columns=list(tables.TABLES["objectivity_proxies"].data_schema.names))
