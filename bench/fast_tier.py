"""Benchmark: the fast test tier's wall time against its one-minute budget.

    .venv/bin/python -m bench.fast_tier [--repeats 3]

Runs `pytest tests/unit` in a fresh process with `SYNTHLAKE_DATA_DIR` pointing at a folder
that does not exist (the tier must not need the shared datasets), `--repeats` times, and
prints each wall time, the median and its ratio to the 60 s budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def one_run(missing_data_dir: Path) -> float:
    env = {**os.environ, "SYNTHLAKE_DATA_DIR": str(missing_data_dir)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/unit"], cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"tests/unit failed:\n{done.stdout[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = [one_run(Path(tmp) / "no-datasets-here") for _ in range(args.repeats)]
    median = statistics.median(times)
    print("runs (s):", ", ".join(f"{t:.1f}" for t in times))
    print(f"median {median:.1f} s = {median / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget")


if __name__ == "__main__":
    main()
