"""Benchmark: fine-tuning throughput with dynamic padding against fixed padding.

    .venv/bin/python bench/training.py [--texts 512] [--repeats 3]

One epoch of the packaged all-MiniLM-L6-v2 classifier on real AG News train texts, with
the engine's length-sorted batches padded to the longest text of each batch, against the
same batches padded to `max_length` (128). Prints examples per second (medians) and the
ratio measured in this one run.
"""

import argparse
import random
import statistics
import time

from synthlake.catalog import get_task
from synthlake.evaluation import train
from synthlake.realdata import load_real


def epoch_seconds(tuner: train.FineTuner, texts: list[str], labels: list[int], pad: str) -> float:
    import torch

    features = tuner._encode(texts)
    rng = random.Random(0)
    batches = train.length_sorted_batches([len(f["input_ids"]) for f in features], 16, rng)
    optimizer = torch.optim.AdamW(tuner.model.parameters(), lr=5e-5)
    tuner.model.train()
    started = time.perf_counter()
    for batch in batches:
        inputs = tuner.tokenizer.pad([features[i] for i in batch], padding=pad,
                                     max_length=tuner.spec.max_length_tokens, return_tensors="pt")
        inputs["labels"] = torch.tensor([labels[i] for i in batch])
        tuner.model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = get_task("ag_news")
    real = load_real(spec).examples.to_pandas()
    rows = real[real.split == "train"].sample(n=args.texts, random_state=0)
    split = train.as_split(rows, spec)
    tuner = train.FineTuner(spec, train.TrainConfig(), seed=0)
    results = {}
    for pad in ("longest", "max_length"):
        times = [epoch_seconds(tuner, split.texts, split.labels, pad) for _ in range(args.repeats)]
        results[pad] = args.texts / statistics.median(times)
        print(f"padding={pad:10}: {results[pad]:6.1f} examples/s (median of {args.repeats} epochs)")
    print(f"dynamic padding is {results['longest'] / results['max_length']:.2f}x the throughput "
          f"of padding to {spec.max_length_tokens} tokens")


if __name__ == "__main__":
    main()
