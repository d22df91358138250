"""Test data: where the shared datasets are, a user task written from scratch, and a tiny
stand-in for a shipped task's dataset so unit tests need nothing outside the repository.

    write_user_task(tasks_dir, data_dir)   a YAML-only task `support_tickets` with CSV data
    write_tiny_dataset(data_dir, spec)     train/test Parquet (`text`, `label`)
                                           in the spec's labels, distinct texts per label
    write_shortest_real(data_dir, spec, splits)
                                           the shared dataset's shortest real texts
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("SYNTHLAKE_DATA_DIR", REPO.parent / "shared" / "datasets"))

USER_TASK_YAML = """\
name: {name}
description: Decide whether a support ticket is about billing or something else.
labels:
  - {{name: billing, description: The ticket is about invoices or payments.}}
  - {{name: other, description: Anything else.}}
context_prompt: You are a customer writing to a support desk.
generation_prompt: Write a support ticket about {{label_description}} in at most {{max_words}} words.
word_limits: {{min: 2, max: 30}}
data:
  local: {name}
"""

USER_ROWS = {
    "train": [("I was charged twice this month", "billing"), ("My invoice is wrong", "billing"),
              ("Refund my payment please", "billing"), ("The app crashes on start", "other"),
              ("How do I change my avatar", "other"), ("Login page is blank", "other")],
    "test": [("Why is my bill so high", "billing"), ("The button does nothing", "other")],
}


def write_user_task(tasks_dir: Path, data_dir: Path, name: str = "support_tickets",
                    rows: dict | None = None, yaml_text: str | None = None) -> Path:
    """A task that only exists as a YAML file and a folder of CSV files."""
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (tasks_dir / f"{name}.yaml").write_text(yaml_text or USER_TASK_YAML.format(name=name))
    folder = data_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, split_rows in (rows or USER_ROWS).items():
        lines = ["text,label"] + [f'"{t}",{lab}' for t, lab in split_rows]
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


WORDS = ("call", "prize", "dinner", "meeting", "tomorrow", "free", "reply", "home", "win",
         "cash", "love", "work", "weekend", "text", "offer", "train", "late", "movie")
TINY_SPLITS = {"train": 60, "test": 10}  # texts per label, the splits the shared data has


def write_tiny_dataset(data_dir: Path, spec) -> Path:
    """A few dozen texts per label (train and test) under `data_dir/<spec.data.local>/`, seeded by the task
    name: each text names its label and a handful of words, so classifiers can learn it."""
    rng = random.Random(spec.name)
    folder = data_dir / spec.data.local
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_label in TINY_SPLITS.items():
        rows = [{"text": f"{label} {' '.join(rng.sample(WORDS, 5))} {split} {i}", "label": label}
                for label in spec.label_names for i in range(per_label)]
        pd.DataFrame(rows).to_parquet(folder / f"{split}.parquet", index=False)
    return folder


def write_shortest_real(data_dir: Path, spec, splits: dict[str, int]) -> Path:
    """Each label's `splits[split]` shortest real texts of the shared dataset under
    `data_dir/<spec.data.local>/`: real texts where a test's cost grows with their length
    (fine-tuning) and its assertions do not depend on which texts they are."""
    folder = data_dir / spec.data.local
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_label in splits.items():
        frame = pd.read_parquet(SHARED_DATA / spec.data.local / f"{split}.parquet",
                                columns=["text", "label"])
        frame = frame.assign(length=frame["text"].str.len()).sort_values(["length", "text"])
        frame.groupby("label").head(per_label)[["text", "label"]].to_parquet(
            folder / f"{split}.parquet", index=False)
    return folder
