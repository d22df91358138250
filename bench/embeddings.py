"""Benchmark: the embeddings step against a bare `model.encode` of the same texts.

    .venv/bin/python bench/embeddings.py [--texts 2000] [--repeats 3]

The step (`embed.embed_task`: read the lake, hash, look up the cache, encode, write a
Delta commit) is timed on an empty cache, against `SentenceTransformer.encode` of the
same texts with the same batch size. Target: overhead at most 10%. Medians of repeats.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthlake import embed  # noqa: E402
from synthlake.catalog import get_task  # noqa: E402
from synthlake.lake import Lake  # noqa: E402
from synthlake.realdata import write_real_examples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=1000, help="real texts per split")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--task", default="ag_news")
    args = parser.parse_args()
    spec = get_task(args.task)
    base = Path(tempfile.mkdtemp())
    lake = Lake(base / "lake")
    write_real_examples(lake, spec, "bench")
    texts = embed.rows_to_embed(lake, args.task, args.texts, 0)["text"].tolist()
    model = embed.load_embedder(embed.DEFAULT_EMBEDDER)
    model.encode(texts[:64])  # warm up

    bare, step = [], []
    for i in range(args.repeats):
        start = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        bare.append(time.perf_counter() - start)
        fresh = Lake(base / f"lake{i}")
        write_real_examples(fresh, spec, "bench")
        start = time.perf_counter()
        report = embed.embed_task(fresh, spec, "bench",
                                  embed.EmbeddingConfig(max_real_per_split=args.texts))
        step.append(time.perf_counter() - start)
        assert report.computed == len(texts)
    b, s = statistics.median(bare), statistics.median(step)
    print(f"{len(texts)} texts of {args.task}: bare encode {b:.2f} s, embeddings step {s:.2f} s "
          f"(medians of {args.repeats}); overhead {100 * (s / b - 1):+.1f}% (target <= +10%)")
    print(f"throughput: {len(texts) / s:.0f} texts/s through the step")


if __name__ == "__main__":
    main()
