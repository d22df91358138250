import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa

from synthlake import embed
from synthlake.catalog import get_task
from synthlake.generation.generate import SYNTHETIC_SCHEMA
from synthlake.measures import diversity
from synthlake.realdata import write_real_examples
from tests.support.data import REPO


def write_synthetic(lake, n: int, method: str = "zero_shot") -> None:
    rows = [{
        "task": "sms_spam", "method": method, "label": ["ham", "spam"][i % 2],
        "text": f"synthetic message number {i} about topic {i * 7 % 13}",
        "example_id": f"{method}-{i}", "request_key": f"k{i}", "model": "m",
        "prompt_version": "p", "temperature": 1.0, "seed": i, "slot": f"q{i}",
        "demo_example_ids": [], "diversity_prompted": False, "status": "accepted",
        "reason": None, "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
    } for i in range(n)]
    lake.write_partition("synthetic_examples", pa.Table.from_pylist(rows, schema=SYNTHETIC_SCHEMA),
                         {"task": "sms_spam", "method": method}, "r")


def test_only_new_texts_are_embedded(lake):
    spec = get_task("sms_spam")
    write_real_examples(lake, spec, "r")
    write_synthetic(lake, 30)
    first = embed.embed_task(lake, spec, "e1", embed.EmbeddingConfig(max_real_per_split=40))
    assert first.computed == first.rows == 40 + 40 + 30
    write_synthetic(lake, 40)  # the same 30 texts and 10 new ones
    second = embed.embed_task(lake, spec, "e2", embed.EmbeddingConfig(max_real_per_split=40))
    assert second.computed == 10 and second.reused == 110
    table = lake.read("embeddings", where={"task": "sms_spam"})
    vectors = embed.vectors_of(table)
    assert vectors.shape == (120, 384)
    assert abs(float((vectors ** 2).sum(axis=1).mean()) - 1) < 1e-4


def test_diversity_rows_compare_sources_at_one_n(lake):
    spec = get_task("sms_spam")
    write_real_examples(lake, spec, "r")
    write_synthetic(lake, 24)
    write_synthetic(lake, 16, method="few_shot")
    embed.embed_task(lake, spec, "e", embed.EmbeddingConfig(max_real_per_split=50))
    metrics, similarity, _ = diversity.measure_task(lake, spec, "d")
    pooled = metrics[(metrics.label == "ALL") & (metrics.n_kind == "comparison")]
    assert set(pooled.source) == {"real", "zero_shot", "few_shot"}
    assert set(pooled.n) == {16}
    full = metrics[(metrics.label == "ALL") & (metrics.n_kind == "full")].set_index("source")
    assert full.loc["real", "n"] == 50 and full.loc["zero_shot", "n"] == 24
    # templated synthetic texts are far less diverse than real messages
    assert full.loc["zero_shot", "remote_clique"] < full.loc["real", "remote_clique"]
    assert set(similarity.source) == {"real", "zero_shot", "few_shot"}
    assert similarity.set_index("source").loc["real", "n_real_test"] == 50


def test_vectors_computed_in_one_process_are_read_by_the_next(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_CACHE", str(tmp_path))
    texts = ["free entry to win a prize", "see you at lunch", "call me back later"]
    script = ("from synthlake import embed; "
              f"embed.encode_memoized({texts[:2]!r})")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO,
                   env={**os.environ, "SYNTHLAKE_CACHE": str(tmp_path)})
    computed: list[list[str]] = []

    def compute(missing):
        computed.append(missing)
        return embed.encode(missing, embed.embedder_name())

    cache = embed.vector_cache(embed.embedder_name())
    vectors = cache.vectors(texts, compute)
    assert computed == [texts[2:]]  # only the text the other process did not embed
    fresh = embed.encode(texts, embed.embedder_name())
    assert np.allclose(np.stack([vectors[t] for t in texts]), fresh, atol=1e-5)
    assert cache.vectors(texts, compute) and len(computed) == 1  # now all are on disk


def test_an_unreadable_vector_cache_computes_every_vector(tmp_path, caplog):
    path = tmp_path / "vectors.sqlite"
    path.write_bytes(b"not a database, " * 64)
    cache = embed.VectorCache(path, "m@0")
    vectors = cache.vectors(["a", "b"], lambda texts: np.ones((len(texts), 3), np.float32))
    assert set(vectors) == {"a", "b"} and vectors["a"].tolist() == [1.0, 1.0, 1.0]
    assert "unreadable" in caplog.text and str(path) in caplog.text


def test_a_vector_cache_in_a_folder_that_cannot_exist_computes_every_vector(tmp_path, caplog):
    (tmp_path / "file").write_text("a file where the cache folder would be")
    cache = embed.VectorCache(tmp_path / "file" / "vectors.sqlite", "m@0")
    vectors = cache.vectors(["a"], lambda texts: np.ones((len(texts), 3), np.float32))
    assert vectors["a"].tolist() == [1.0, 1.0, 1.0] and "unreadable" in caplog.text


def test_a_model_replaced_under_its_name_does_not_reuse_vectors(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"0" * 10)
    before = embed.model_fingerprint(str(folder))
    embed.model_fingerprint.cache_clear()
    (folder / "weights.bin").write_bytes(b"0" * 11)
    assert embed.model_fingerprint(str(folder)) != before
