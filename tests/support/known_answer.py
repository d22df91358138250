"""A generator whose answer is known: it serves held-out *real* texts of the requested
label, so the true worth of the "synthetic" set is the number of texts it has.

    split_task(task, out_dir, seed)   the task's real data with half of each label's train
                                      texts held out: `out_dir/<task>/` has the other half
                                      (train) and the test split; the held-out half is
                                      returned (the generator's pool, never seen by the task)
    collapsed(pool, per_label)        each label's pool narrowed to the texts nearest one
                                      anchor (sentence embeddings): distinct real texts with
                                      little diversity, like a collapsed generator
    RealTexts                         what the loopback server (`--serve-real FILE`) answers:

A generation request (its last user message names a label: by its description, or by
its name as a whole word, the longest named) gets the next unused text of that label's
pool; with probability `flip` (seeded by the request) a text of another label instead.
A label-fidelity question ("Answer with exactly one label name ...") gets the true label
of the quoted text (every text it serves or was told of), or `unknown` with probability
`abstain`, or a random other label with probability `noise`. Each answer is remembered
by request, so a retried request gets the same text.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pandas as pd

from tests.support.data import SHARED_DATA


def split_task(task: str, out_dir: Path, seed: int = 0, held_share: float = 0.5,
               source: Path = SHARED_DATA, train_per_label: int | None = None) -> pd.DataFrame:
    """Write `out_dir/<task>/{train,test}.parquet` (train: each label's texts less a
    seeded `held_share`, at most `train_per_label` of them); return the held-out texts
    (text, label)."""
    folder = out_dir / task
    folder.mkdir(parents=True, exist_ok=True)
    train = pd.read_parquet(source / task / "train.parquet", columns=["text", "label"])
    train = train.drop_duplicates("text")
    held = (train.sample(frac=1.0, random_state=seed).groupby("label", sort=False)
            .apply(lambda g: g.head(int(round(len(g) * held_share))), include_groups=False))
    held = held.reset_index(level=0).reset_index(drop=True)[["text", "label"]]
    kept = train[~train["text"].isin(set(held["text"]))]
    if train_per_label is not None:
        kept = kept.sample(frac=1.0, random_state=seed).groupby("label", sort=False).head(
            train_per_label)
    kept.to_parquet(folder / "train.parquet", index=False)
    test = pd.read_parquet(source / task / "test.parquet", columns=["text", "label"])
    test[~test["text"].isin(set(train["text"]))].to_parquet(folder / "test.parquet", index=False)
    return held


def collapsed(pool: pd.DataFrame, per_label: int, seed: int = 0) -> pd.DataFrame:
    """Per label, the `per_label` texts nearest (cosine) to one seeded anchor text."""
    from synthlake.embed import encode_memoized

    parts = []
    for _label, group in pool.groupby("label", sort=True):
        vectors = encode_memoized(group["text"].tolist())
        anchor = random.Random(seed).randrange(len(group))
        nearest = (vectors @ vectors[anchor]).argsort()[::-1][:per_label]
        parts.append(group.iloc[nearest])
    return pd.concat(parts, ignore_index=True)


def write_serving(path: Path, pool: pd.DataFrame, descriptions: dict[str, str],
                  known: pd.DataFrame | None = None, flip: float = 0.0,
                  abstain: float = 0.0, noise: float = 0.0) -> Path:
    """The `--serve-real` file: pools by label, how labels are named in prompts, and the
    true label of every text the judge may be asked about (`known`: e.g. the task's
    real train split)."""
    truth = pd.concat([pool, known]) if known is not None else pool
    path.write_text(json.dumps({
        "pools": {label: group["text"].tolist() for label, group in pool.groupby("label")},
        "descriptions": descriptions,
        "truth": dict(zip(truth["text"], truth["label"], strict=True)),
        "flip": flip, "abstain": abstain, "noise": noise,
    }))
    return path


JUDGE_QUESTION = "Answer with exactly one label name from the list"


class RealTexts:
    def __init__(self, config: dict):
        self.pools = config["pools"]
        self.labels = sorted(self.pools)
        self.descriptions = {label: text.rstrip(".").strip()
                             for label, text in config.get("descriptions", {}).items()}
        self.truth = config.get("truth", {})
        self.flip, self.abstain = config.get("flip", 0.0), config.get("abstain", 0.0)
        self.noise = config.get("noise", 0.0)
        self.next = {label: 0 for label in self.labels}
        self.answered: dict[str, str] = {}
        self.served: dict[str, list[str]] = {label: [] for label in self.labels}  # by truth

    def answer(self, body: dict, digest: str) -> str | None:
        if digest not in self.answered:
            last = str((body.get("messages") or [{}])[-1].get("content", ""))
            found = self._judge(last, digest) if JUDGE_QUESTION in last else self._serve(last, digest)
            if found is None:
                return None
            self.answered[digest] = found
        return self.answered[digest]

    def requested(self, prompt: str) -> str | None:
        described = [lab for lab, d in self.descriptions.items() if d and d in prompt]
        if len(described) == 1:
            return described[0]
        named = [lab for lab in self.labels
                 if re.search(rf"(?<![\w-]){re.escape(lab)}(?![\w-])", prompt)]
        return max(named, key=len) if named else None

    def _serve(self, prompt: str, digest: str) -> str | None:
        label = self.requested(prompt)
        if label is None:
            return None
        rng = random.Random(digest)
        if self.flip and rng.random() < self.flip:
            label = rng.choice([lab for lab in self.labels if lab != label])
        pool = self.pools[label]
        text = pool[self.next[label] % len(pool)]
        self.next[label] += 1
        self.served[label].append(text)
        return text

    def _judge(self, question: str, digest: str) -> str:
        quoted = re.search(r'"""(.*)"""', question, re.S)
        truth = self.truth.get(quoted.group(1)) if quoted else None
        rng = random.Random(digest)
        if truth is None or rng.random() < self.abstain:
            return "unknown"
        if rng.random() < self.noise:
            return rng.choice([lab for lab in self.labels if lab != truth])
        return truth
