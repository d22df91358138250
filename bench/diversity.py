"""Benchmark: diversity metrics against the machine's matrix product and the O(n^2) reference.

    .venv/bin/python bench/diversity.py [--n 50000] [--repeats 3]

Prints medians and ratios measured in this one run (machines are shared and noisy):
* chamfer at n=50,000, d=384 against a plain float32 matrix product doing the same
  FLOPs (2 n^2 d), timed as 4096^3 products and scaled: target ratio <= 2;
* remote clique at n=10,000 against the O(n^2) reference: target speed-up >= 100.
"""

import argparse
import statistics
import time

import numpy as np

from synthlake.measures import diversity


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    m = 4096
    a, b = rng.normal(size=(m, m)).astype(np.float32), rng.normal(size=(m, m)).astype(np.float32)
    matmul_s = median_time(lambda: a @ b, args.repeats)
    gflops = 2 * m**3 / matmul_s / 1e9
    x = rng.normal(size=(args.n, args.d)).astype(np.float32)
    chamfer_s = median_time(lambda: diversity.chamfer(x), args.repeats)
    same_flops_s = 2 * args.n**2 * args.d / (gflops * 1e9)
    print(f"matmul {m}^3 float32: {matmul_s:.3f} s median ({gflops:.0f} GFLOP/s)")
    print(f"chamfer n={args.n} d={args.d}: {chamfer_s:.2f} s median; a matmul of the same FLOPs "
          f"{same_flops_s:.2f} s; ratio {chamfer_s / same_flops_s:.2f} (target <= 2)")

    y = rng.normal(size=(10_000, args.d)).astype(np.float32)
    fast_s = median_time(lambda: diversity.remote_clique(y), max(args.repeats, 5))
    reference_s = median_time(lambda: diversity.remote_clique_reference(y), args.repeats)
    gap = abs(diversity.remote_clique(y) - diversity.remote_clique_reference(y))
    print(f"remote clique n=10000: {fast_s * 1e3:.1f} ms median vs O(n^2) reference "
          f"{reference_s * 1e3:.0f} ms; speed-up {reference_s / fast_s:.0f}x (target >= 100); "
          f"|difference| {gap:.1e}")


if __name__ == "__main__":
    main()
