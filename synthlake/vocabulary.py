"""Every word the pipeline stores or matches on, declared once as an enum: generation
methods, training sources, classifiers, label-fidelity judges and filter stages, data-map
regions, row statuses and rejection reasons.

They are `StrEnum`s, so a member is the very string stored in the lake and compared in
SQL; the CLI choices, the asset keys and selections, and `Lake.connect()`'s `vocabulary`
table (kind | value | position, which the SQL files use for ordering) derive from them,
and a test checks the SQL files name no other.
"""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    """How synthetic texts are generated."""

    ZERO_SHOT = "zero_shot"  # the paper's: conversation streams with the diversity prompt
    FEW_SHOT = "few_shot"  # the paper's: real demonstrations
    ATTRIBUTED = "attributed"  # one value per attribute dimension in each request
    ERROR_DRIVEN = "error_driven"  # rounds: more like the real texts a classifier gets wrong


# Methods one request at a time from a prompt (`generate.py`); error-driven rounds wrap
# generation in training (`rounds.py`).
PROMPTED = (Method.ZERO_SHOT, Method.FEW_SHOT, Method.ATTRIBUTED)
SHOWS_REAL = (Method.FEW_SHOT, Method.ERROR_DRIVEN)  # requests show real train texts


class TrainSource(StrEnum):
    """What a classifier is trained on."""

    REAL_FULL = "real_full"  # all real train texts
    REAL_CAPPED = "real_capped"  # a stratified sample of them (`max_train_real`), per seed
    REAL = "real"  # real train texts, as many per label as the synthetic set
    ZERO_SHOT = "zero_shot"  # the rows the label filter kept
    ZERO_SHOT_UNFILTERED = "zero_shot_unfiltered"  # as many, before the label filter
    FEW_SHOT = "few_shot"
    FEW_SHOT_UNFILTERED = "few_shot_unfiltered"
    REAL_SMALL_FEW_SHOT = "real_small+few_shot"  # demonstrations shown + few-shot texts
    ATTRIBUTED = "attributed"
    ATTRIBUTED_UNFILTERED = "attributed_unfiltered"
    ERROR_DRIVEN = "error_driven"
    ERROR_DRIVEN_UNFILTERED = "error_driven_unfiltered"


# Each method's training sources: its kept rows, and as many before the label filter.
FILTERED = {m: TrainSource(m.value) for m in Method}
UNFILTERED = {m: TrainSource(f"{m.value}_unfiltered") for m in Method}


class Classifier(StrEnum):
    FINETUNE = "finetune"
    LOGREG = "logreg"


class Judge(StrEnum):
    """Who decides whether a synthetic text carries its label (`label_fidelity.judge`)."""

    LLM = "llm"  # the LLM asked which label fits
    SEED_CLASSIFIER = "seed_classifier"  # trained on the few-shot seed pool only
    REAL_ORACLE = "real_oracle"  # trained on the whole real train split: a diagnostic


class FilterStage(StrEnum):
    """Which rows a label-fidelity figure counts (`fidelity.summary`, label_fidelity.sql)."""

    BEFORE = "before"  # every row that passed the other checks
    AFTER = "after"  # the rows the label filter kept (independent judges only)
    REAL_HELDOUT = "real_heldout"  # held-out real texts of the label: the judge's ceiling


class Sample(StrEnum):
    """What a `label_fidelity` row judged."""

    SYNTHETIC = "synthetic"  # a generated row
    REAL_HELDOUT = "real_heldout"  # a calibration text: real, held out from every judge


class JudgeRole(StrEnum):
    """A judge's part in a method's generation (`label_fidelity.role`)."""

    FILTER = "filter"  # it filtered the rows: its post-filter agreement is not evidence
    INDEPENDENT = "independent"  # it did not


class Region(StrEnum):
    """Where a training row sits on the data map (`cartography.py`)."""

    EASY = "easy"  # consistently its label
    AMBIGUOUS = "ambiguous"  # the model keeps changing its mind
    HARD = "hard"  # consistently not its label: where mislabelled rows land


class AttributeSource(StrEnum):
    """Where an attribute value came from (`attributes.source`)."""

    LLM = "llm"  # proposed by the LLM
    YAML = "yaml"  # the task file (pinned, added, or a style attribute)
    USER = "user"  # a run's own `user_values`


class Status(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why an answer was rejected (`synthetic_examples.reason`)."""

    ENDPOINT_ERROR = "endpoint error"
    REQUEST_TOO_LARGE = "request too large"
    TRUNCATED = "truncated"
    EMPTY = "empty"
    REFUSAL = "refusal"
    ASSISTANT_TALK = "assistant talk"
    TEMPLATE_PLACEHOLDER = "template placeholder"
    TOO_SHORT = "too short"
    TOO_LONG = "too long"
    REPETITIVE = "repetitive"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near duplicate"
    COPIES_DEMONSTRATION = "copies a demonstration"
    MATCHES_REAL_TEST = "matches a real test text"
    SURPLUS = "surplus beyond quota"
    LABEL_MISMATCH = "label mismatch"  # the fidelity judge finds another label (fidelity.py)


# Reasons judged against the whole set, in the final pass (so judged again each pass).
SET_REASONS = (Reason.DUPLICATE, Reason.NEAR_DUPLICATE, Reason.COPIES_DEMONSTRATION,
               Reason.MATCHES_REAL_TEST, Reason.SURPLUS)

ALL = {"method": Method, "train_source": TrainSource, "classifier": Classifier,
       "judge": Judge, "filter": FilterStage, "sample": Sample, "role": JudgeRole,
       "region": Region, "status": Status, "reason": Reason,
       "attribute_source": AttributeSource}


def rows() -> list[dict]:
    """kind | value | position: the `vocabulary` table of `Lake.connect()`."""
    return [{"kind": kind, "value": member.value, "position": i}
            for kind, enum in ALL.items() for i, member in enumerate(enum)]
