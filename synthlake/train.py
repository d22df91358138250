"""Classifiers trained on real or synthetic data, evaluated on the real test split.

Training sources of a task (configurable):

    real_full             all real train texts (capped at `max_train_real`, stratified)
    real                  real train texts, as many per label as the few-shot set has
    zero_shot, few_shot,  the accepted synthetic texts of that method (the label filter
    attributed            kept them)
    real_small+few_shot   the real texts shown as demonstrations plus the few-shot texts
                          (the paper's augmentation study)
    <method>_unfiltered   as many texts per label as the filtered source, drawn from the
                          rows that passed every check but the label filter: what the
                          filter changes. Trained only where the filter rejected something
                          (otherwise they are the filtered rows again)

Classifiers:

    finetune   transformers fine-tuning (default: the packaged all-MiniLM-L6-v2 with a new
               classification head; any Hugging Face model id or path). Dynamic padding,
               length-sorted batches, the task's `max_length_tokens`, the epoch with the best
               macro-F1 on a validation split drawn from the training source (never the
               real test set) is kept.
    logreg     frozen sentence embeddings + logistic regression (fast).

`evaluations` columns (partitioned by task):

    task | train_source | classifier | seed | n_train | n_validation | macro_f1 | accuracy |
    macro_f1_low | macro_f1_high | accuracy_low | accuracy_high (95% test-set bootstrap,
    `evidence`) | per_class (JSON: label -> precision, recall, f1, support) | test_split |
    n_test | epochs_run | best_epoch | model_path | trained_at

`predictions` columns: task | train_source | classifier | seed | example_id | predicted | gold

Every fine-tuned run also writes its rows' training dynamics (`cartography`).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake import cartography, curves, tables, versions
from synthlake.catalog import TaskSpec
from synthlake.progress import advance
from synthlake.vocabulary import FILTERED, UNFILTERED, Classifier, Method, Reason, Status, TrainSource


class TrainConfig(BaseModel):
    """Which classifiers to train on which sources, and how."""

    model_config = ConfigDict(frozen=True)

    sources: list[TrainSource] = Field(list(TrainSource), description="training sources: "
                                       + ", ".join(TrainSource))
    classifiers: list[Classifier] = Field(list(Classifier), description="classifiers: "
                                          + ", ".join(Classifier))
    seeds: list[int] = Field([0, 1, 2], description="seeds; one run per source, "
                             "classifier and seed")
    model: str = Field("all-MiniLM-L6-v2", description="base model to fine-tune and to "
                       "embed for logreg: a Hugging Face id or a path")
    epochs: int = Field(3, ge=1, description="fine-tuning epochs (the best on validation is kept)")
    batch_size: int = Field(16, ge=1, description="fine-tuning batch size")
    learning_rate: float = Field(5e-5, gt=0, description="fine-tuning learning rate (AdamW)")
    validation_share: float = Field(0.1, ge=0, lt=1, description="share of each training "
                                    "source held out to choose the epoch")
    max_train_real: int = Field(4000, ge=1, description="cap on real_full training texts "
                                "(stratified)")
    max_test: int = Field(2000, ge=1, description="cap on real test texts (stratified)")
    save_models: bool = Field(True, description="keep fine-tuned models under the lake")
    curve_max_per_label: int = Field(256, ge=0, description="largest n per label of the real "
                                     "learning curve (4, 8, 16, ...); 0: no curves")
    curve_shares: list[float] = Field([0.25, 0.5], description="shares of each generated "
                                      "source's rows its own curve trains on (1 is its main run)")
    curve_classifiers: list[Classifier] = Field(list(Classifier), description="classifiers "
                                                "the learning curves train (of `classifiers`)")


@dataclass
class Split:
    texts: list[str]
    labels: list[int]
    ids: list[str] = field(default_factory=list)


# -- data --------------------------------------------------------------------------------
def real_train(lake, spec: TaskSpec) -> pd.DataFrame:
    """The task's real train split as a source frame (origin `real`)."""
    real = lake.read("real_examples", where={"task": spec.name, "split": "train"}).to_pandas()
    return real.assign(origin="real")[SOURCE_COLUMNS]


def training_sources(lake, spec: TaskSpec, config: TrainConfig, train: pd.DataFrame,
                     gated: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """example_id | text | label | origin (real or a method) frames of every requested
    source that has data; `train` is the real train split (`real_train`). The rows of the
    `gated` methods (their generation failed a blocking check) train nothing."""
    synthetic = pd.DataFrame(columns=["method", "example_id", "text", "label", "status",
                                      "reason", "demo_example_ids"])
    if lake.exists("synthetic_examples"):
        synthetic = lake.read("synthetic_examples", where={"task": spec.name}).to_pandas()
        synthetic = synthetic[~synthetic["method"].isin(list(gated))]
    synthetic = synthetic.assign(origin=synthetic["method"])
    accepted = synthetic[synthetic["status"] == Status.ACCEPTED]
    passed = synthetic[(synthetic["status"] == Status.ACCEPTED)
                       | (synthetic["reason"] == Reason.LABEL_MISMATCH)]
    by_method = {m: accepted[accepted["method"] == m] for m in Method}
    few = by_method[Method.FEW_SHOT]
    shown = {i for ids in few["demo_example_ids"] for i in (ids if ids is not None else [])}
    reference = few if len(few) else by_method[Method.ZERO_SHOT]
    candidates = {
        TrainSource.REAL_FULL: stratified_cap(train, config.max_train_real, seed=0),
        TrainSource.REAL: matched_sample(train, reference["label"].value_counts(), seed=0),
        **{FILTERED[m]: by_method[m] for m in Method},
        TrainSource.REAL_SMALL_FEW_SHOT: pd.concat([train[train["example_id"].isin(shown)], few])
        if len(few) else few,
        **{UNFILTERED[m]: unfiltered(passed[passed["method"] == m], by_method[m]) for m in Method},
    }
    return {name: frame[SOURCE_COLUMNS].reset_index(drop=True)
            for name, frame in candidates.items()
            if name in config.sources and len(frame) and frame["label"].nunique() >= 2}


SOURCE_COLUMNS = ["example_id", "text", "label", "origin"]


def unfiltered(passed: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """As many rows per label as `kept`, drawn from the rows that passed every check but
    the label filter; empty when the filter rejected nothing (the same rows again)."""
    if len(passed) == len(kept):
        return kept.iloc[:0]
    return matched_sample(passed, kept["label"].value_counts(), seed=0)


def stratified_cap(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    if len(frame) <= cap:
        return frame
    share = cap / len(frame)
    parts = [g.sample(n=max(1, round(len(g) * share)), random_state=seed)
             for _, g in frame.groupby("label")]
    return pd.concat(parts)


def matched_sample(frame: pd.DataFrame, counts: pd.Series, seed: int) -> pd.DataFrame:
    """Real texts with the same count per label as a synthetic set."""
    parts = [frame[frame["label"] == label].sample(
        n=min(int(n), int((frame["label"] == label).sum())), random_state=seed)
        for label, n in counts.items()]
    return pd.concat(parts) if parts else frame.iloc[:0]


def test_split(lake, spec: TaskSpec, max_test: int) -> pd.DataFrame:
    real = lake.read("real_examples", where={"task": spec.name, "split": "test"}).to_pandas()
    return stratified_cap(real, max_test, seed=0).sort_values("example_id").reset_index(drop=True)


def hold_out(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified validation split of a training source (labels with one text stay in train)."""
    validation = []
    for _, group in frame.groupby("label"):
        n = int(round(len(group) * share))
        if len(group) >= 2:
            validation.append(group.sample(n=max(1, n), random_state=seed))
    held = pd.concat(validation) if validation else frame.iloc[:0]
    return frame.drop(held.index), held


# -- metrics -----------------------------------------------------------------------------
def metrics(gold: list[int], predicted: list[int], labels: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=ids, zero_division=0)
    per_class = {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                       "support": int(s[i])} for i, lab in enumerate(labels)}
    return {"macro_f1": float(f1_score(gold, predicted, labels=ids, average="macro",
                                       zero_division=0)),
            "accuracy": float(accuracy_score(gold, predicted)), "per_class": per_class}


# -- classifiers -------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def model_path(name: str) -> str:
    from synthlake.embed import DEFAULT_EMBEDDER
    from synthlake.embed import model_path as embedder_path

    return embedder_path(name) if name == DEFAULT_EMBEDDER else name


def length_sorted_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in a shuffled order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


class FineTuner:
    """Fine-tunes a sequence classifier; `predict` uses the best epoch's weights."""

    def __init__(self, spec: TaskSpec, config: TrainConfig, seed: int):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from synthlake.embed import quiet_transformers

        quiet_transformers()
        seed_everything(seed)
        self.spec, self.config, self.seed = spec, config, seed
        path = model_path(config.model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(spec.labels), id2label=dict(enumerate(spec.label_names)),
            label2id={lab: i for i, lab in enumerate(spec.label_names)})
        self.best_epoch, self.epochs_run = 0, 0
        # Per epoch, the probability of each training row's label and whether it was the
        # prediction (rows in training order), from the training passes (`cartography`).
        self.epoch_p: list[np.ndarray] = []
        self.epoch_correct: list[np.ndarray] = []

    def _encode(self, texts: list[str]) -> list[dict]:
        encoded = self.tokenizer(texts, truncation=True, max_length=self.spec.max_length_tokens)
        return [{k: encoded[k][i] for k in encoded} for i in range(len(texts))]

    def _batches(self, features: list[dict], labels: list[int] | None, rng: random.Random | None):
        import torch

        lengths = [len(f["input_ids"]) for f in features]
        if rng is None:  # inference: sorted, not shuffled
            order = sorted(range(len(features)), key=lengths.__getitem__)
            batches = [order[i:i + 64] for i in range(0, len(order), 64)]
        else:
            batches = length_sorted_batches(lengths, self.config.batch_size, rng)
        for batch in batches:
            padded = self.tokenizer.pad([features[i] for i in batch], padding="longest",
                                        return_tensors="pt")
            if labels is not None:
                padded["labels"] = torch.tensor([labels[i] for i in batch])
            yield batch, padded

    def fit(self, train: Split, validation: Split) -> None:
        import torch

        features = self._encode(train.texts)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.learning_rate)
        rng = random.Random(self.seed)
        best_score, best_state = -1.0, None
        labels = torch.tensor(train.labels)
        for epoch in range(1, self.config.epochs + 1):
            self.model.train()
            # The data map's input, read off the training passes as dataset cartography
            # does (no extra pass): each row's label probability and whether it won.
            p_label = np.zeros(len(features))
            correct = np.zeros(len(features), dtype=bool)
            for rows, batch in self._batches(features, train.labels, rng):
                output = self.model(**batch)
                output.loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                with torch.no_grad():
                    proba = torch.softmax(output.logits, -1)
                    gold = labels[rows]
                    p_label[rows] = proba[torch.arange(len(rows)), gold].numpy()
                    correct[rows] = (proba.argmax(-1) == gold).numpy()
            self.epoch_p.append(p_label)
            self.epoch_correct.append(correct)
            self.epochs_run = epoch
            if validation.texts:
                score = metrics(validation.labels, self.predict(validation.texts),
                                self.spec.label_names)["macro_f1"]
                if score > best_score:
                    best_score, self.best_epoch = score, epoch
                    best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if best_state is not None:
            self.model.load_state_dict(best_state)
        else:
            self.best_epoch = self.epochs_run

    def _probabilities(self, features: list[dict]) -> np.ndarray:
        """Class probabilities (rows x labels), in evaluation mode (no dropout)."""
        import torch

        self.model.eval()
        found = np.zeros((len(features), len(self.spec.labels)))
        with torch.no_grad():
            for batch, inputs in self._batches(features, None, None):
                found[batch] = torch.softmax(self.model(**inputs).logits, -1).numpy()
        return found

    def predict(self, texts: list[str]) -> list[int]:
        return self._probabilities(self._encode(texts)).argmax(-1).tolist()

    def save(self, folder: Path, card: str) -> str:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        (folder / "README.md").write_text(card)
        return str(folder)


class EmbeddingLogReg:
    """Frozen sentence embeddings, logistic regression on top."""

    def __init__(self, spec: TaskSpec, config: TrainConfig, seed: int):
        self.seed, self.best_epoch, self.epochs_run = seed, 0, 0

    @staticmethod
    def _encode(texts: list[str]) -> np.ndarray:
        # Shared across sources and seeds: the real test split is encoded once per process.
        from synthlake.embed import encode_memoized

        return encode_memoized(texts)

    def fit(self, train: Split, validation: Split) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(max_iter=2000, random_state=self.seed, C=1.0)
        self.model.fit(self._encode(train.texts + validation.texts),
                       train.labels + validation.labels)

    def predict(self, texts: list[str]) -> list[int]:
        return self.model.predict(self._encode(texts)).tolist()

    def save(self, folder: Path, card: str) -> str:
        return ""


# -- the loop ----------------------------------------------------------------------------
def as_split(frame: pd.DataFrame, spec: TaskSpec, ids: bool = False) -> Split:
    index = {lab: i for i, lab in enumerate(spec.label_names)}
    return Split(frame["text"].tolist(), [index[lab] for lab in frame["label"]],
                 frame["example_id"].tolist() if ids else [])


def model_card(spec: TaskSpec, source: str, classifier: str, seed: int, config: TrainConfig,
               n_train: int, result: dict) -> str:
    return (f"# {spec.name} classifier trained on `{source}`\n\n"
            f"- base model: {config.model}; classifier: {classifier}; seed: {seed}\n"
            f"- training texts: {n_train}; labels: {', '.join(spec.label_names)}\n"
            f"- real test macro-F1 {result['macro_f1']:.4f}, accuracy {result['accuracy']:.4f}\n"
            f"- made by synthlake (Li et al., EMNLP 2023 method)\n")


SEEDED = {Classifier.FINETUNE}  # the others give the same model whatever the seed: run once


def fitted(spec: TaskSpec, config: TrainConfig, frame: pd.DataFrame, classifier: str,
           seed: int):
    """A `classifier` fitted on `frame` minus its validation share (which chooses the
    epoch): (model, train rows, validation rows)."""
    builders = {Classifier.FINETUNE: FineTuner, Classifier.LOGREG: EmbeddingLogReg}
    train_frame, val_frame = hold_out(frame, config.validation_share, seed)
    model = builders[classifier](spec, config, seed)
    model.fit(as_split(train_frame, spec), as_split(val_frame, spec))
    return model, train_frame, val_frame


@dataclass
class Run:
    """What one source x classifier x seed produced."""

    evaluation: dict
    predicted: list[int]
    dynamics: list[dict]


def run_one(lake, spec: TaskSpec, config: TrainConfig, source: str, frame: pd.DataFrame,
            classifier: str, seed: int, gold: Split, log, save: bool = True) -> Run:
    """Train on one source with one classifier and seed; score it on `gold`, with its
    bootstrap intervals (`evidence`)."""
    from synthlake import evidence

    model, train_frame, val_frame = fitted(spec, config, frame, classifier, seed)
    predicted = model.predict(gold.texts)
    result = metrics(gold.labels, predicted, spec.label_names)
    intervals = evidence.score_intervals(gold.labels, predicted, len(spec.labels), seed=seed)
    folder = lake.local / "_models" / spec.name / source / classifier / f"seed{seed}"
    path = model.save(folder, model_card(spec, source, classifier, seed, config,
                                         len(train_frame), result)) \
        if config.save_models and save else ""
    log(f"{spec.name} {source:20} {classifier:8} seed {seed}: macro-F1 {result['macro_f1']:.4f} "
        f"({intervals['macro_f1_low']:.3f} to {intervals['macro_f1_high']:.3f}) accuracy "
        f"{result['accuracy']:.4f} (n_train {len(train_frame)})")
    run = {"task": spec.name, "train_source": source, "classifier": classifier, "seed": seed}
    evaluation = {
        **run, "n_train": len(train_frame), "n_validation": len(val_frame),
        "macro_f1": result["macro_f1"], "accuracy": result["accuracy"], **intervals,
        "per_class": json.dumps(result["per_class"]), "test_split": "test",
        "n_test": len(gold.labels), "epochs_run": model.epochs_run,
        "best_epoch": model.best_epoch, "model_path": path,
        "trained_at": pd.Timestamp.now(tz="UTC"),
    }
    dynamics = (cartography.dynamics_rows(np.array(model.epoch_p), np.array(model.epoch_correct),
                                          train_frame, run)
                if getattr(model, "epoch_p", None) else [])
    return Run(evaluation, predicted, dynamics)


def seeds_of(config: TrainConfig, classifier: str) -> list[int]:
    """The configured seeds for a classifier a seed changes; the first one otherwise."""
    return config.seeds if classifier in SEEDED else config.seeds[:1]


@dataclass(eq=False)
class Job:
    """One classifier to train: `key` is (source, classifier, seed) for a main run, and
    (curve, classifier, n_per_label, share, n_train, seed) for a point of a curve."""

    name: str  # what its log line calls it
    frame: pd.DataFrame
    classifier: str
    seed: int
    key: tuple


def main_jobs(sources: dict[str, pd.DataFrame], config: TrainConfig) -> list[Job]:
    return [Job(source, frame, classifier, seed, (source, classifier, seed))
            for source, frame in sources.items() for classifier in config.classifiers
            for seed in seeds_of(config, classifier)]


def curve_jobs(real: pd.DataFrame, sources: dict[str, pd.DataFrame],
               config: TrainConfig) -> list[Job]:
    """The real learning curve of every classifier and each generated source's shares
    (`curves`); nothing when the grid has fewer than 2 points."""
    sizes = curves.grid(int(real["label"].value_counts().max()), config.curve_max_per_label)
    if len(sizes) < 2:
        return []
    jobs = []
    for classifier in (c for c in config.classifiers if c in config.curve_classifiers):
        for seed in seeds_of(config, classifier):
            for n in sizes:
                frame = curves.nested_sample(real, n, seed)
                jobs.append(Job(f"real, {n} per label", frame, classifier, seed,
                                (curves.REAL_CURVE, classifier, n, 1.0, len(frame), seed)))
            for source in (s for s in curves.OWN_CURVES if s in sources):
                for share in sorted(config.curve_shares):
                    frame = curves.share_sample(sources[source], share, seed)
                    jobs.append(Job(f"{source}, {share:.0%}", frame, classifier, seed,
                                    (source, classifier, curves.per_label(frame), share,
                                     len(frame), seed)))
    return jobs


def curve_points(curve_runs: dict[tuple, Run], runs: dict[tuple[str, str, int], Run],
                 sources: dict[str, pd.DataFrame]) -> list[curves.Point]:
    """The curves' points, each with its seeds' predictions; a generated source's 100%
    point is its main run. The n of a share point is the first seed's (they agree)."""
    grouped: dict[tuple, list] = {}
    for (*point, _seed), run in curve_runs.items():
        grouped.setdefault(tuple(point), []).append(run.predicted)
    curved = {key[1] for key in curve_runs}  # the classifiers the curves trained
    for source, classifier, seed in runs:
        if source in curves.OWN_CURVES and classifier in curved:
            point = (source, classifier, curves.per_label(sources[source]), 1.0,
                     len(sources[source]))
            grouped.setdefault(point, []).append(runs[source, classifier, seed].predicted)
    return [curves.Point(*point, found) for point, found in grouped.items()]


def train_and_evaluate(lake, spec: TaskSpec, run_id: str, config: TrainConfig | None = None,
                       log=print) -> pd.DataFrame:
    """Every source x classifier x seed (one seed for a classifier the seed does not
    change), then the learning curves; writes `evaluations`, `predictions`,
    `training_dynamics`, `comparisons`, `learning_curves` and `real_equivalents` (one
    commit each, this task's partition) and returns the evaluations. Each run trained is
    a step of the progress stage "<task> training"."""
    from synthlake import evidence

    config = config or TrainConfig()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    real = real_train(lake, spec)
    gated = versions.failed_gates(lake, spec.name)
    for method, suites in gated.items():
        log(f"{spec.name} {method}: not trained, its generation failed the blocking "
            f"check(s) {', '.join(suites)}")
    sources = training_sources(lake, spec, config, real, gated)
    test = test_split(lake, spec, config.max_test)
    gold = as_split(test, spec, ids=True)
    main = main_jobs(sources, config)
    curve = curve_jobs(real, sources, config) if config.curve_max_per_label else []
    done: dict[tuple, Run] = {}
    for k, job in enumerate(main + curve, start=1):
        done[job.key] = run_one(lake, spec, config, job.name, job.frame, job.classifier,
                                job.seed, gold, log, save=k <= len(main))
        advance(f"{spec.name} training", k, len(main) + len(curve))
    runs = {job.key: done[job.key] for job in main}
    names = spec.label_names
    predictions = [{**run.evaluation, "example_id": i, "predicted": names[p], "gold": names[g]}
                   for run in runs.values()
                   for i, p, g in zip(gold.ids, run.predicted, gold.labels, strict=True)]
    frame = pd.DataFrame([run.evaluation for run in runs.values()])
    partition = {"task": spec.name}
    lake.write_partition("predictions", tables.from_rows("predictions", predictions), partition,
                         run_id)
    lake.write_partition("evaluations", tables.from_rows("evaluations", frame.to_dict("records")),
                         partition, run_id)
    lake.write_partition("training_dynamics", tables.from_rows(
        "training_dynamics", [row for run in runs.values() for row in run.dynamics]),
        partition, run_id)
    lake.write_partition("comparisons", tables.from_rows("comparisons", evidence.comparisons(
        spec.name, gold.labels, {key: run.predicted for key, run in runs.items()},
        len(names))), partition, run_id)
    points = curve_points({job.key: done[job.key] for job in curve}, runs, sources)
    by_source = evidence.by_source({key: run.predicted for key, run in runs.items()})
    lake.write_partition("learning_curves", tables.from_rows(
        "learning_curves", curves.curve_rows(spec.name, gold.labels, len(names), points)),
        partition, run_id)
    lake.write_partition("real_equivalents", tables.from_rows(
        "real_equivalents", curves.equivalent_rows(spec.name, gold.labels, len(names), points,
                                                   by_source)), partition, run_id)
    return frame
