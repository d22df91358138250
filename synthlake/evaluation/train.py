"""Classifiers trained on real or synthetic data, evaluated on the real test split.

Training sources of a task (configurable):

    real_full             all real train texts
    real_capped           instead of real_full where `max_train_real` caps it: a stratified
                          sample of that many, drawn afresh by each seed
    real                  real train texts, as many per label as the few-shot set has,
                          drawn afresh by each seed
    zero_shot, few_shot,  the accepted synthetic texts of that method (the label filter
    attributed            kept them)
    real_small+few_shot   the real texts shown as demonstrations plus the few-shot texts
                          (the paper's augmentation study)
    <method>_unfiltered   as many texts per label as the filtered source, drawn from the
                          rows that passed every check but the label filter: what the
                          filter changes, drawn afresh by each seed. Trained only where the
                          filter rejected something (otherwise they are the filtered rows)

Seeds: every seed re-draws every sampled training set (the drawn sources above, each
learning-curve point, each share of a synthetic set); a fixed set (real_full, a method's
rows) is trained once per seed only by a classifier whose seed changes the model
(fine-tuning). Both classifiers weight the classes as `class_weight="balanced"` does
(n / (labels x n_label)), so an imbalanced real train split is not a crippled baseline
under macro-F1.

Classifiers:

    finetune   transformers fine-tuning (default: the packaged all-MiniLM-L6-v2 with a new
               classification head; any Hugging Face model id or path), cross-entropy
               with balanced class weights. Dynamic padding,
               length-sorted batches, the task's `max_length_tokens`, the epoch with the best
               macro-F1 on a validation split drawn from the training source (never the
               real test set) is kept.
    logreg     frozen sentence embeddings + logistic regression (fast), balanced classes.

`evaluations` columns (partitioned by task):

    task | train_source | classifier | seed | n_train | n_validation | macro_f1 | accuracy |
    macro_f1_low | macro_f1_high | accuracy_low | accuracy_high (95% bootstrap over the
    test texts of this one run, `evidence`) | per_class (JSON: label -> precision, recall,
    f1, support) | test_split | n_test | epochs_run | best_epoch | class_weight |
    model_path | trained_at

`source_scores` (one row per source x classifier: the mean over its runs, with the
interval over test texts x training draws, `evidence.score_rows`) is what the headline
reads.

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

from synthlake import gates, tables
from synthlake.catalog import TaskSpec
from synthlake.evaluation import cartography, curves
from synthlake.lake import Lake
from synthlake.progress import advance
from synthlake.vocabulary import FILTERED, UNFILTERED, Classifier, Method, Reason, Status, TrainSource


class TrainConfig(BaseModel):
    """Which classifiers to train on which sources, and how."""

    model_config = ConfigDict(frozen=True)

    sources: list[TrainSource] = Field(list(TrainSource), description="training sources: "
                                       + ", ".join(TrainSource))
    classifiers: list[Classifier] = Field(list(Classifier), description="classifiers: "
                                          + ", ".join(Classifier))
    seeds: list[int] = Field([0, 1, 2, 3, 4], min_length=1, description="seeds: each "
                             "re-draws every sampled training set (size-matched real, curve "
                             "points, shares); a fixed set trains once per seed only when "
                             "fine-tuned")
    model: str = Field("all-MiniLM-L6-v2", description="base model to fine-tune and to "
                       "embed for logreg: a Hugging Face id or a path")
    epochs: int = Field(3, ge=1, description="fine-tuning epochs (the best on validation is kept)")
    batch_size: int = Field(16, ge=1, description="fine-tuning batch size")
    learning_rate: float = Field(5e-5, gt=0, description="fine-tuning learning rate (AdamW)")
    validation_share: float = Field(0.1, ge=0, lt=1, description="share of each training "
                                    "source held out to choose the epoch")
    max_train_real: int | None = Field(None, ge=1, description="cap on the real baseline's "
                                       "training texts; none: all (real_full); a cap trains "
                                       "`real_capped` instead, drawn per seed")
    max_test: int = Field(2000, ge=1, description="cap on real test texts (stratified)")
    save_models: bool = Field(True, description="keep fine-tuned models under the lake")
    curve_max_per_label: int | None = Field(None, ge=0, description="largest n per label of "
                                            "the real learning curve (4, 8, 16, ...); none: up "
                                            "to all real train texts; 0: no curves")
    curve_beyond: int = Field(1, ge=0, description="doublings of the real curve past the "
                              "first point at or above the best synthetic source's upper "
                              "95% bound (so its interval is bracketed); the curve stops "
                              "there or at all real texts")
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


@dataclass(eq=False)
class Source:
    """A training source: `draw(seed)` gives its rows for one seed; `drawn` says whether
    seeds draw different rows (else one fixed set)."""

    rows: pd.DataFrame  # every row it draws from (a fixed set: the rows)
    drawn: bool = False
    counts: pd.Series | None = None  # per label, how many a draw takes (matched draws)
    cap: int | None = None  # a stratified cap (real_capped)

    def draw(self, seed: int) -> pd.DataFrame:
        if self.counts is not None:
            return matched_sample(self.rows, self.counts, seed)
        if self.cap is not None:
            return stratified_cap(self.rows, self.cap, seed)
        return self.rows


def training_sources(lake, spec: TaskSpec, config: TrainConfig, train: pd.DataFrame,
                     gated: Iterable[str] = ()) -> dict[str, Source]:
    """Every requested source that has data (frames of example_id | text | label |
    origin, real or a method); `train` is the real train split (`real_train`). The rows
    of the `gated` methods (their generation failed a blocking check) train nothing."""
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
    capped = config.max_train_real is not None and len(train) > config.max_train_real
    candidates = {
        TrainSource.REAL_FULL: Source(train) if not capped else None,
        TrainSource.REAL_CAPPED: Source(train, True, cap=config.max_train_real) if capped else None,
        TrainSource.REAL: Source(train, True, reference["label"].value_counts()),
        **{FILTERED[m]: Source(by_method[m]) for m in Method},
        TrainSource.REAL_SMALL_FEW_SHOT: Source(pd.concat([train[train["example_id"].isin(shown)],
                                                           few]) if len(few) else few),
        **{UNFILTERED[m]: unfiltered(passed[passed["method"] == m], by_method[m]) for m in Method},
    }
    wanted = set(config.sources) | ({TrainSource.REAL_CAPPED}
                                    if TrainSource.REAL_FULL in config.sources else set())
    sources = {}
    for name, source in candidates.items():
        if source is None or name not in wanted:
            continue
        source.rows = source.rows[SOURCE_COLUMNS].reset_index(drop=True)
        if len(source.rows) and source.draw(0)["label"].nunique() >= 2:
            sources[str(name)] = source
    return sources


SOURCE_COLUMNS = ["example_id", "text", "label", "origin"]


def unfiltered(passed: pd.DataFrame, kept: pd.DataFrame) -> Source:
    """As many rows per label as `kept`, drawn (per seed) from the rows that passed every
    check but the label filter; empty when the filter rejected nothing (the same rows)."""
    if len(passed) == len(kept):
        return Source(kept.iloc[:0])
    return Source(passed, True, kept["label"].value_counts())


def stratified_cap(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    if len(frame) <= cap:
        return frame
    share = cap / len(frame)
    parts = [g.sample(n=max(1, round(len(g) * share)), random_state=seed)
             for _, g in frame.groupby("label")]
    return pd.concat(parts)


def matched_sample(frame: pd.DataFrame, counts: pd.Series, seed: int) -> pd.DataFrame:
    """Texts with the same count per label as a synthetic set (a label with fewer gives
    all it has)."""
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
CLASS_WEIGHT = "balanced"  # what `evaluations.class_weight` records for every run


def balanced_weights(labels: list[int], n_labels: int) -> list[float]:
    """scikit-learn's "balanced" weights, n / (labels present x n_label); 0 for a label
    absent from training."""
    counts = np.bincount(labels, minlength=n_labels)
    present = int((counts > 0).sum())
    return [len(labels) / (present * c) if c else 0.0 for c in counts]


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

        from synthlake.progress import quiet_transformers

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
        loss = torch.nn.CrossEntropyLoss(weight=torch.tensor(
            balanced_weights(train.labels, len(self.spec.labels)), dtype=torch.float32))
        for epoch in range(1, self.config.epochs + 1):
            self.model.train()
            # The data map's input, read off the training passes as dataset cartography
            # does (no extra pass): each row's label probability and whether it won.
            p_label = np.zeros(len(features))
            correct = np.zeros(len(features), dtype=bool)
            for rows, batch in self._batches(features, train.labels, rng):
                gold = batch.pop("labels")
                output = self.model(**batch)
                loss(output.logits, gold).backward()
                optimizer.step()
                optimizer.zero_grad()
                with torch.no_grad():
                    proba = torch.softmax(output.logits, -1)
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

        self.model = LogisticRegression(max_iter=2000, random_state=self.seed, C=1.0,
                                        class_weight=CLASS_WEIGHT)
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
    if classifier not in set(Classifier):
        raise ValueError(f"classifier {classifier!r}: one of {', '.join(Classifier)}")
    builder = FineTuner if classifier == Classifier.FINETUNE else EmbeddingLogReg
    train_frame, val_frame = hold_out(frame, config.validation_share, seed)
    model = builder(spec, config, seed)
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
    folder = lake.models(spec.name, source, classifier, f"seed{seed}")
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
        "best_epoch": model.best_epoch, "class_weight": CLASS_WEIGHT, "model_path": path,
        "trained_at": pd.Timestamp.now(tz="UTC"),
    }
    dynamics = (cartography.dynamics_rows(np.array(model.epoch_p), np.array(model.epoch_correct),
                                          train_frame, run)
                if getattr(model, "epoch_p", None) else [])
    return Run(evaluation, predicted, dynamics)


def seeds_of(config: TrainConfig, classifier: str, drawn: bool) -> list[int]:
    """Every configured seed where a seed changes something (the training draw, or the
    model: fine-tuning); the first one otherwise (the same model again)."""
    return config.seeds if drawn or classifier in SEEDED else config.seeds[:1]


@dataclass(eq=False)
class Job:
    """One classifier to train: `key` is (source, classifier, seed) for a main run, and
    (curve, classifier, n_per_label, share, n_train, seed) for a point of a curve."""

    name: str  # what its log line calls it
    frame: pd.DataFrame
    classifier: str
    seed: int
    key: tuple


def main_jobs(sources: dict[str, Source], config: TrainConfig) -> list[Job]:
    return [Job(name, source.draw(seed), classifier, seed, (name, classifier, seed))
            for name, source in sources.items() for classifier in config.classifiers
            for seed in seeds_of(config, classifier, source.drawn)]


def share_jobs(sources: dict[str, Source], classifier: str, config: TrainConfig) -> list[Job]:
    """Each generated source's own curve: `curve_shares` of its rows, drawn per seed."""
    jobs = []
    for name in (s for s in curves.OWN_CURVES if s in sources):
        for share in sorted(config.curve_shares):
            for seed in config.seeds:
                frame = curves.share_sample(sources[name].rows, share, seed)
                jobs.append(Job(f"{name}, {share:.0%}", frame, classifier, seed,
                                (name, classifier, curves.per_label(frame), share,
                                 len(frame), seed)))
    return jobs


def real_point_jobs(real: pd.DataFrame, n: int, classifier: str, config: TrainConfig) -> list[Job]:
    jobs = []
    for seed in config.seeds:
        frame = curves.nested_sample(real, n, seed)
        jobs.append(Job(f"real, {n} per label", frame, classifier, seed,
                        (curves.REAL_CURVE, classifier, n, 1.0, len(frame), seed)))
    return jobs


class Trainer:
    """Runs jobs on one task's test split, counting them for the progress stage."""

    def __init__(self, lake, spec: TaskSpec, config: TrainConfig, gold: Split, log, total: int):
        self.lake, self.spec, self.config, self.gold, self.log = lake, spec, config, gold, log
        self.done: dict[tuple, Run] = {}
        self.total = total

    def run(self, jobs: list[Job], save: bool = False) -> list[Run]:
        found = []
        for job in jobs:
            self.done[job.key] = run_one(self.lake, self.spec, self.config, job.name, job.frame,
                                         job.classifier, job.seed, self.gold, self.log, save)
            found.append(self.done[job.key])
            self.total = max(self.total, len(self.done))
            advance(f"{self.spec.name} training", len(self.done), self.total)
        return found


def real_curve(trainer: Trainer, real: pd.DataFrame, grid: list[int], classifier: str,
               target: float, book) -> list[Job]:
    """The real curve's points on the grid (`curves.grid`), grown until
    `curve_beyond` doublings past the first point whose mean reaches `target` (the
    highest upper bound of a synthetic source's macro-F1), or to the grid's top."""
    config, jobs, beyond = trainer.config, [], None
    for n in grid:
        point = real_point_jobs(real, n, classifier, config)
        runs = trainer.run(point)
        jobs += point
        mean = float(np.mean([book.point(r.predicted) for r in runs]))
        beyond = (0 if mean >= target else None) if beyond is None else beyond + 1
        if beyond is not None and beyond >= config.curve_beyond:
            break
    return jobs


def curve_points(curve_runs: dict[tuple, Run], runs: dict[tuple[str, str, int], Run],
                 sources: dict[str, Source]) -> list[curves.Point]:
    """The curves' points, each with its seeds' predictions (all drawn); a generated
    source's 100% point is its main run (one fixed set). The n of a share point is the
    first seed's (they agree)."""
    from synthlake.evidence import Runs

    # A point's key: curve, classifier, n_per_label, share, n_train (the Point's fields).
    Key = tuple[str, str, int, float, int]
    grouped: dict[Key, list] = {}
    for (curve, classifier, n_per_label, share, n_train, _seed), run in curve_runs.items():
        grouped.setdefault((curve, classifier, n_per_label, share, n_train), []).append(
            run.predicted)
    points = [curves.Point(*point, Runs(found, drawn=True)) for point, found in grouped.items()]
    curved = {key[1] for key in curve_runs}  # the classifiers the curves trained
    whole: dict[Key, list] = {}
    for source, classifier, seed in runs:
        if source in curves.OWN_CURVES and classifier in curved:
            rows = sources[source].rows
            whole.setdefault((source, classifier, curves.per_label(rows), 1.0, len(rows)),
                             []).append(runs[source, classifier, seed].predicted)
    return points + [curves.Point(*point, Runs(found, drawn=False))
                     for point, found in whole.items()]


def train_and_evaluate(lake: Lake, spec: TaskSpec, run_id: str, config: TrainConfig | None = None,
                       *, log=print) -> pd.DataFrame:
    """Every source x classifier x seed (one seed where a seed changes nothing), then the
    learning curves; writes `evaluations`, `predictions`, `training_dynamics`,
    `source_scores`, `comparisons`, `learning_curves` and `real_equivalents` (one commit
    each, this task's partition) and returns the evaluations. Each run trained is a step
    of the progress stage "<task> training"."""
    from synthlake import evidence

    config = config or TrainConfig()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    real = real_train(lake, spec)
    gated = gates.failed_gates(lake, spec.name)
    for method, suites in gated.items():
        log(f"{spec.name} {method}: not trained, its generation failed the blocking "
            f"check(s) {', '.join(suites)}")
    sources = training_sources(lake, spec, config, real, gated)
    test = test_split(lake, spec, config.max_test)
    gold = as_split(test, spec, ids=True)
    book = evidence.Resamples(gold.labels, len(spec.labels))
    main = main_jobs(sources, config)
    curved = [c for c in config.classifiers if c in config.curve_classifiers] \
        if config.curve_max_per_label != 0 else []
    grid = curves.grid(int(real["label"].value_counts().max()), config.curve_max_per_label)
    trainer = Trainer(lake, spec, config, gold, log,
                      len(main) + len(curved) * len(config.seeds) * len(grid))
    trainer.run(main, save=True)
    runs = {job.key: trainer.done[job.key] for job in main}
    by_source = {key: evidence.Runs(found, sources[key[0]].drawn) for key, found in
                 evidence_runs({key: run.predicted for key, run in runs.items()}).items()}
    curve: list[Job] = []
    for classifier in curved if len(grid) >= 2 else []:
        scores = [evidence.score(book, r, evidence.reference_of(s, by_source, c)).high
                  for (s, c), r in by_source.items()
                  if c == classifier and s not in curves.NOT_SYNTHETIC]
        curve += real_curve(trainer, real, grid, classifier, max(scores, default=0.0), book)
        shares = share_jobs(sources, classifier, config)
        trainer.run(shares)
        curve += shares
    if trainer.total != len(trainer.done):  # the curve stopped early: the bar completes
        advance(f"{spec.name} training", len(trainer.done), len(trainer.done))
    write_results(lake, spec, run_id, book, gold, runs, by_source, sources,
                  curve_points({job.key: trainer.done[job.key] for job in curve}, runs, sources))
    return pd.DataFrame([run.evaluation for run in runs.values()])


def evidence_runs(predicted: dict[tuple[str, str, int], list]) -> dict[tuple[str, str], list]:
    """Each (source, classifier)'s predictions, one per seed in seed order."""
    found: dict[tuple[str, str], list] = {}
    for (source, classifier, _seed), p in sorted(predicted.items(), key=lambda kv: kv[0]):
        found.setdefault((source, classifier), []).append(p)
    return found


def write_results(lake, spec: TaskSpec, run_id: str, book, gold: Split,
                  runs: dict[tuple, Run], by_source: dict, sources: dict[str, Source],
                  points: list[curves.Point]) -> None:
    """The task's partition of every table training writes, one commit each."""
    from synthlake import evidence

    names = spec.label_names
    predictions = [{**run.evaluation, "example_id": i, "predicted": names[p], "gold": names[g]}
                   for run in runs.values()
                   for i, p, g in zip(gold.ids, run.predicted, gold.labels, strict=True)]
    partition = {"task": spec.name}
    sizes = {name: len(source.draw(0)) for name, source in sources.items()}  # one run's n

    # One call per table, named: tests/unit/test_tables.py finds every table written.
    lake.write_partition("predictions", tables.from_rows("predictions", predictions),
                         partition, run_id)
    lake.write_partition("evaluations", tables.from_rows(
        "evaluations", [run.evaluation for run in runs.values()]), partition, run_id)
    lake.write_partition("training_dynamics", tables.from_rows(
        "training_dynamics", [row for run in runs.values() for row in run.dynamics]),
        partition, run_id)
    lake.write_partition("source_scores", tables.from_rows(
        "source_scores", evidence.score_rows(spec.name, book, by_source, sizes)), partition, run_id)
    lake.write_partition("comparisons", tables.from_rows(
        "comparisons", evidence.comparisons(spec.name, book, by_source)), partition, run_id)
    lake.write_partition("learning_curves", tables.from_rows(
        "learning_curves", curves.curve_rows(spec.name, book, points)), partition, run_id)
    lake.write_partition("real_equivalents", tables.from_rows(
        "real_equivalents", curves.equivalent_rows(spec.name, book, points, by_source)),
        partition, run_id)
