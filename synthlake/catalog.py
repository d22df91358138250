"""The task catalogue: one YAML file per task, validated into a `TaskSpec`.

The 10 tasks of Li et al. (EMNLP 2023) ship in `synthlake/tasks/`. A user adds a task by
dropping a YAML file into the folder named by `SYNTHLAKE_TASKS_DIR` (tasks there override
shipped tasks of the same name). Every model forbids unknown fields, so a typo is an error
that names the file and the field, never a silently ignored setting.

A minimal task file::

    name: my_task
    description: Decide whether a support ticket is about billing.
    labels:
      - {name: billing, description: The ticket is about invoices or payments.}
      - {name: other, description: Anything else.}
    context_prompt: You are a customer writing to a support desk.
    generation_prompt: Write a support ticket about {label_description} in at most {max_words} words.
    data: {local: my_task}
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthlake import settings

SHIPPED_TASKS_DIR = Path(__file__).parent / "tasks"
TEMPLATE_SLOTS = {"label", "label_description", "max_words", "min_words"}
DEFAULT_DIVERSITY_PROMPT = (
    "Can you provide something more diverse compared to the previously generated data?"
)
DEFAULT_FEW_SHOT_CONSTRAINT = (
    "You should imitate the example I have provided, but you cannot simply modify or "
    "rewrite the example I have given."
)


class TaskSpecError(ValueError):
    """A task file that cannot be used; the message names the file and the field."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(StrictModel):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class WordLimits(StrictModel):
    min: int = Field(default=1, ge=0)
    max: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> WordLimits:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


class HubSource(StrictModel):
    """Where an online user finds the same data on the Hugging Face hub."""

    id: str
    config: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    # hub label values (often ints) -> source label names; applied before `label_map`
    label_names: dict[str, str] = Field(default_factory=dict)
    splits: dict[str, str] = Field(default_factory=dict)


class AnnotationSource(StrictModel):
    """Annotator information beside the real data (`real_annotations`).

    kind `agreement_levels`: one row per text with an agreement column holding a tier
    name; `levels` maps each tier to the agreement value a_i it stands for.
    kind `rater_rows`: one row per (text, rater) with the rater's label(s), comma-joined.
    """

    file: str = "annotations.parquet"
    kind: Literal["agreement_levels", "rater_rows"]
    text_column: str = "text"
    agreement_column: str = "agreement"
    levels: dict[str, float] = Field(default_factory=dict)
    rater_column: str = "rater_id"
    labels_column: str = "label"


class DataSource(StrictModel):
    """The real data of a task and how its labels map onto the spec's labels.

    Source labels are mapped with `label_map` (identity when absent); labels listed in
    `drop_labels` are removed on purpose (a label subset) and reported; any other label
    that is not in the spec is an error naming the file and row.
    """

    local: str | None = Field(default=None, description="folder under SYNTHLAKE_DATA_DIR")
    hub: HubSource | None = None
    text_column: str = "text"
    label_column: str = "label"
    label_map: dict[str, str] = Field(default_factory=dict)
    drop_labels: list[str] = Field(default_factory=list)
    subset_reason: str | None = None
    annotations: AnnotationSource | None = None
    max_chars: int = Field(default=20_000, ge=1, description="longest real text kept")
    oversize: Literal["drop", "truncate"] = Field(
        default="drop", description="what happens to a longer text: dropped, or cut to max_chars "
        "(counted either way)")

    @model_validator(mode="after")
    def _somewhere(self) -> DataSource:
        if not self.local and not self.hub:
            raise ValueError("give `local` (a folder under SYNTHLAKE_DATA_DIR) or `hub`")
        return self


class FewShot(StrictModel):
    k: int = Field(default=3, ge=1, description="demonstrations per request")
    seed_pool_per_label: int = Field(default=50, ge=1, description="real train texts per label")
    constraint: str = DEFAULT_FEW_SHOT_CONSTRAINT
    max_similarity_to_demo: float = Field(default=0.9, gt=0, le=1)


class Diversity(StrictModel):
    every: int = Field(default=5, ge=1, description="diversity turn after every n accepted texts")
    prompt: str = DEFAULT_DIVERSITY_PROMPT
    history_turns: int = Field(default=4, ge=0, description="past exchanges kept in a stream")


class Quality(StrictModel):
    """Thresholds of the quality gates; defaults suit most tasks."""

    label_share_tolerance: float = Field(default=0.05, ge=0, le=1)
    max_duplicate_rate: float = Field(default=0.05, ge=0, le=1)
    near_duplicate_similarity: float = Field(default=0.9, gt=0, le=1)
    max_rejection_rate: float = Field(default=0.9, ge=0, le=1)


JudgeChoice = Literal["auto", "llm", "seed_classifier", "none"]


class Fidelity(StrictModel):
    """Which judge decides whether a generated text carries its label (`fidelity.py`)."""

    judge: JudgeChoice = Field(
        default="auto", description="auto: seed_classifier for few-shot and error-driven (it "
        "uses only the real texts those methods already show), llm for zero-shot and "
        "attributed (no real data); none: not judged")
    min_p: float = Field(default=0.5, ge=0, le=1, description="a text whose judge gives its "
                         "requested label a lower probability is a label mismatch (the bar "
                         "is lowered per label where genuine texts score lower: "
                         "`false_rejection`)")
    calibration_per_label: int = Field(default=50, ge=0, description="real train texts per "
                                       "label, outside the seed pool and held out from every "
                                       "judge, that calibrate the judge: its agreement on real "
                                       "data (the blocking check's ceiling), the filter's bar "
                                       "and its false-rejection rate")
    false_rejection: float = Field(default=0.05, ge=0, lt=1, description="the share of "
                                   "genuine texts the filter may reject: each label's bar is "
                                   "the calibration texts' conformal quantile at this share, "
                                   "never above min_p")
    min_agreement: float = Field(default=0.8, ge=0, le=1, description="attribute coverage: a "
                                 "label x value cell whose fidelity interval lies under it is "
                                 "flagged")


class AttributeValues(StrictModel):
    """Values of one attribute dimension, for every label or for one."""

    dimension: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str | None = Field(default=None, description="empty: every label")
    values: list[str] = Field(min_length=1)


class Attributes(StrictModel):
    """Attribute-conditioned generation (`attributes.py`): what the LLM is asked to propose,
    and what the task file pins (exactly these values, the LLM not asked for them), adds
    or forbids. `style_attributes` join as values of their dimensions."""

    propose: bool = Field(default=True, description="ask the LLM (false: only values given here)")
    dimensions: int = Field(default=3, ge=0, le=10, description="dimensions the LLM proposes")
    values_per_dimension: int = Field(default=5, ge=2, le=20)
    subtopics_per_label: int = Field(default=5, ge=0, le=20, description="label-specific "
                                     "values of the dimension `subtopic` (0: none)")
    pin: list[AttributeValues] = Field(default_factory=list)
    add: list[AttributeValues] = Field(default_factory=list)
    forbid: list[AttributeValues] = Field(default_factory=list)


class TaskSpec(StrictModel):
    """One classification task: labels, prompts, limits and where its real data lives."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    labels: list[Label] = Field(min_length=2)
    context_prompt: str
    generation_prompt: str
    style_attributes: dict[str, list[str]] = Field(default_factory=dict)
    word_limits: WordLimits
    few_shot: FewShot = FewShot()
    diversity: Diversity = Diversity()
    data: DataSource
    quality: Quality = Quality()
    fidelity: Fidelity = Fidelity()
    attributes: Attributes = Attributes()
    max_length_tokens: int = Field(default=128, ge=8, description="classifier truncation")
    citation: str | None = None

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, labels: list[Label]) -> list[Label]:
        names = [label.name for label in labels]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"duplicate label names: {repeated}")
        return labels

    @model_validator(mode="after")
    def _template_slots(self) -> TaskSpec:
        slots = set(re.findall(r"{(\w+)}", self.generation_prompt))
        unknown = slots - TEMPLATE_SLOTS - set(self.style_attributes)
        if unknown:
            raise ValueError(
                f"generation_prompt uses unknown slots {sorted(unknown)}; known: "
                f"{sorted(TEMPLATE_SLOTS | set(self.style_attributes))}"
            )
        empty = [k for k, values in self.style_attributes.items() if not values]
        if empty:
            raise ValueError(f"style_attributes {empty} have no values")
        named = {entry.label for block in (self.attributes.pin, self.attributes.add,
                                           self.attributes.forbid) for entry in block}
        unknown_labels = named - {None, *self.label_names}
        if unknown_labels:
            raise ValueError(f"attributes name labels not in `labels`: {sorted(map(str, unknown_labels))}")
        mapped = set(self.data.label_map.values())
        unknown_targets = mapped - set(self.label_names)
        if unknown_targets:
            raise ValueError(f"data.label_map maps to labels not in `labels`: {sorted(unknown_targets)}")
        return self

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def label(self, name: str) -> Label:
        return next(label for label in self.labels if label.name == name)

    def with_judge(self, judge: str) -> TaskSpec:
        """This spec with another label-fidelity judge (a run's choice, e.g. `--judge`)."""
        return self.model_copy(update={"fidelity": self.fidelity.model_copy(update={"judge": judge})})

    @cached_property
    def prompt_version(self) -> str:
        """Hash of everything that shapes a prompt: a new version means new generations."""
        parts = self.model_dump(include={
            "context_prompt", "generation_prompt", "style_attributes", "word_limits",
            "few_shot", "diversity", "labels",
        })
        return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()[:12]


def tasks_dirs() -> list[Path]:
    """Shipped tasks first, then the user's folder (later folders win on a name clash)."""
    dirs = [SHIPPED_TASKS_DIR]
    if settings.get("SYNTHLAKE_TASKS_DIR"):
        dirs.append(settings.path("SYNTHLAKE_TASKS_DIR"))
    return dirs


def load_task_file(path: Path) -> TaskSpec:
    """Parse and validate one YAML file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TaskSpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise TaskSpecError(f"{path}: expected a mapping of task fields, got {type(raw).__name__}")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field `{'.'.join(str(p) for p in err['loc']) or '<root>'}`: {err['msg']}"
            for err in exc.errors()
        )
        raise TaskSpecError(f"{path}: {problems}") from exc
    if spec.name != path.stem:
        raise TaskSpecError(f"{path}: field `name` is {spec.name!r} but the file is {path.name}")
    return spec


def load_catalog(dirs: list[Path] | None = None) -> dict[str, TaskSpec]:
    """All tasks by name, from the shipped folder and `SYNTHLAKE_TASKS_DIR`."""
    catalog: dict[str, TaskSpec] = {}
    for folder in dirs or tasks_dirs():
        if not folder.is_dir():
            raise TaskSpecError(f"{folder}: task folder does not exist")
        for path in sorted(folder.glob("*.yaml")):
            spec = load_task_file(path)
            catalog[spec.name] = spec
    return catalog


def choose(catalog: dict[str, TaskSpec], names: list[str], setting: str) -> dict[str, TaskSpec]:
    """The tasks `names` picks from `catalog`, by name (empty: every task); a name not in
    the catalogue is an error naming the `setting` it came from."""
    if unknown := sorted(set(names) - set(catalog)):
        raise TaskSpecError(f"{setting}: unknown tasks {unknown}; known: {sorted(catalog)}")
    return {name: spec for name, spec in sorted(catalog.items()) if not names or name in names}


def get_task(name: str) -> TaskSpec:
    catalog = load_catalog()
    if name not in catalog:
        raise TaskSpecError(f"unknown task {name!r}; known: {sorted(catalog)}")
    return catalog[name]


def task_for_run(name: str, pin_dir: Path) -> TaskSpec:
    """The spec of `name` as this run first read it.

    The first step of a run that asks reads the YAML and pins the validated spec as
    `pin_dir/<name>.json`; every later step of the run (other processes included) reads
    the pin, so a task file edited mid-run cannot give two steps two specs. A new run
    (a new `pin_dir`) reads the file again.
    """
    pin = pin_dir / f"{name}.json"
    if not pin.exists():
        spec = get_task(name)
        pin_dir.mkdir(parents=True, exist_ok=True)
        draft = pin.with_name(f"{pin.name}.{os.getpid()}.draft")
        draft.write_text(spec.model_dump_json(), encoding="utf-8")
        try:
            os.link(draft, pin)  # atomic and exclusive: of two racing steps, the first wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return TaskSpec.model_validate_json(pin.read_text(encoding="utf-8"))


def catalog_table(catalog: dict[str, TaskSpec]):
    """The catalogue as rows: task | description | labels | label_descriptions |
    prompt_version | spec_json (the full validated spec)."""
    import pyarrow as pa

    specs = list(catalog.values())
    return pa.table({
        "task": [s.name for s in specs],
        "description": [s.description for s in specs],
        "labels": [s.label_names for s in specs],
        "label_descriptions": [[lab.description for lab in s.labels] for s in specs],
        "prompt_version": [s.prompt_version for s in specs],
        "spec_json": [s.model_dump_json() for s in specs],
    })
