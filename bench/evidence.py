"""Benchmark: what the bootstrap costs next to the training it qualifies.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.evidence \\
        [--task sms_spam] [--evaluations 30] [--test 2000] [--train 500]

Trains, as `synthlake train` does, fine-tuned classifiers on `--train` real texts of
`--task`, one run per seed, until `--evaluations` runs are made, scoring each on `--test`
real test texts; then times, apart, the evidence of those runs: each run's 95% intervals
(`evidence.score_intervals`, 1,000 resamples) and the paired comparison of every pair of
consecutive runs (`evidence.paired_difference`). Prints the bootstrap's wall time as a
ratio to the training's, measured in this one run (target: at most 0.05).
"""

import argparse
import time

from synthlake import evidence
from synthlake.catalog import get_task
from synthlake.evaluation.train import FineTuner, Split, TrainConfig, as_split, stratified_cap
from synthlake.realdata import load_real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sms_spam")
    parser.add_argument("--evaluations", type=int, default=30)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--train", type=int, default=500)
    args = parser.parse_args()
    spec = get_task(args.task)
    real = load_real(spec).examples.to_pandas()
    train = as_split(stratified_cap(real[real["split"] == "train"], args.train, seed=0), spec)
    gold = as_split(stratified_cap(real[real["split"] == "test"], args.test, seed=0), spec)
    config = TrainConfig(epochs=1)
    predicted, started = [], time.perf_counter()
    for seed in range(args.evaluations):
        model = FineTuner(spec, config, seed)
        model.fit(train, Split([], []))
        predicted.append(model.predict(gold.texts))
    training_s = time.perf_counter() - started
    started = time.perf_counter()
    for seed, found in enumerate(predicted):
        evidence.score_intervals(gold.labels, found, len(spec.labels), seed=seed)
    for a, b in zip(predicted, predicted[1:], strict=False):
        evidence.paired_difference(gold.labels, [a], [b], len(spec.labels))
    evidence_s = time.perf_counter() - started
    ratio = evidence_s / training_s
    print(f"{spec.name}: {args.evaluations} evaluations of {len(gold.labels)} test texts: bootstrap "
          f"{evidence_s:.2f} s (intervals and {args.evaluations - 1} paired comparisons) vs "
          f"training {training_s:.1f} s ({args.train} texts, 1 epoch each) = {ratio:.3f}x "
          f"({'within' if ratio <= 0.05 else 'over'} the 0.05 target)")


if __name__ == "__main__":
    main()
