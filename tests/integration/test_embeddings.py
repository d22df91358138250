import pandas as pd
import pyarrow as pa

from synthlake import embed
from synthlake.catalog import get_task
from synthlake.generation.generate import SYNTHETIC_SCHEMA
from synthlake.measures import diversity
from synthlake.realdata import write_real_examples


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
