"""Benchmark: the objectivity proxies of every task from real data alone.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.proxies [--lake DIR]

Writes every task's real data into a fresh lake (or `--lake`), then times
`proxies.write` with the default `ProxyConfig` (the bag-of-words classifier against the
sentence-embedding logistic regression, 1,000 train and 1,000 test texts per task) and
prints each task's proxy and the total wall time (target: all 10 tasks within 5 minutes
on 2 cores).
"""

import argparse
import tempfile
import time

from synthlake import catalog, realdata
from synthlake.lake import Lake
from synthlake.subjectivity import proxies

TARGET_S = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default="")
    args = parser.parse_args()
    lake = Lake(args.lake or tempfile.mkdtemp(prefix="synthlake-proxies-"))
    specs = catalog.load_catalog()
    for spec in specs.values():
        realdata.write_real_examples(lake, spec, "bench")
        realdata.write_real_annotations(lake, spec, "bench")
    started = time.perf_counter()
    frame = proxies.write(lake, specs, "bench", proxies.ProxyConfig(), log=lambda _: None)
    elapsed = time.perf_counter() - started
    print(frame.drop(columns=["detail"]).round(3).to_string(index=False))
    print(f"{len(specs)} tasks: {elapsed:.0f} s ({elapsed / TARGET_S:.2f}x the "
          f"{TARGET_S} s target, {'within' if elapsed <= TARGET_S else 'over'})")


if __name__ == "__main__":
    main()
