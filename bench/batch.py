"""Batch mode against online mode, for the same 2,000 few-shot requests (sms_spam, 1,000
per label) against the loopback server: each mode in a fresh process with a fresh lake,
measuring that process's CPU time (user + system) and peak memory. Prints requests per
second of client CPU, peak RSS, and the ratios batch / online.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.batch [--per-label 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from synthlake.catalog import get_task
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from tests.support import loopback
from tests.support.data import REPO

RUN = """
import json, resource, sys, time
from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
url, root, per_label, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
start = resource.getrusage(resource.RUSAGE_SELF)
wall = time.perf_counter()
report = generate(Lake(root), get_task("sms_spam").with_judge("none"), "few_shot", "bench",
                  GenerationConfig(n_per_label=per_label),
                  EndpointConfig(base_url=url, model="dev", max_concurrency=64, batch=batch,
                                 batch_poll_s=0.2, batch_gather_s=0.3))
end = resource.getrusage(resource.RUSAGE_SELF)
cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
print(json.dumps({"requests": report.usage["requests_sent"], "cpu_s": cpu,
                  "wall_s": time.perf_counter() - wall, "peak_rss_mb": end.ru_maxrss / 1024}))
"""


def measure(url: str, per_label: int, batch: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "lake"
        write_real_examples(Lake(root), get_task("sms_spam"), "bench")
        done = subprocess.run([sys.executable, "-c", RUN, url, str(root), str(per_label),
                               "1" if batch else "0"], cwd=REPO, capture_output=True,
                              text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, default=1000)
    args = parser.parse_args()
    with loopback.running(free_port(), "--batch-delay", "1") as url:
        online = measure(url, args.per_label, batch=False)
        batch = measure(url, args.per_label, batch=True)
    for name, found in (("online", online), ("batch", batch)):
        print(f"{name:6}: {found['requests']} requests, {found['cpu_s']:.2f} s client CPU "
              f"({found['requests'] / found['cpu_s']:.0f} requests per CPU-second), "
              f"{found['wall_s']:.1f} s wall, peak RSS {found['peak_rss_mb']:.0f} MB")
    per_cpu = (batch["requests"] / batch["cpu_s"]) / (online["requests"] / online["cpu_s"])
    print(f"batch / online: {per_cpu:.2f}x requests per CPU-second, "
          f"{batch['peak_rss_mb'] / online['peak_rss_mb']:.2f}x peak memory")


if __name__ == "__main__":
    main()
