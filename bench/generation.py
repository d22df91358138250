"""Benchmark: the generation engine against a loopback endpoint with a fixed latency.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.generation \\
        [--latency 0.2] [--concurrency 1 8 64 256] [--rate-limit 640] [--seconds 8] [--memory]

Starts `tests.support.loopback` (a real HTTP server answering after `--latency` seconds) and
runs the real engine against it at each concurrency, then at the highest one against a
server that also enforces `--rate-limit` requests per second (429 with Retry-After over
it, as a provider would): `Generator` for
few-shot `sms_spam` (demonstrations from the real train split; every answer parsed,
judged, journaled; waves until each label's quota is met; the final pass over the set).
Sized so each level lasts about `--seconds`. Prints, measured in this one run:
* answers per second as a fraction of the bound min(concurrency / latency, rate limit),
  and how many requests were refused with 429 on the way;
* client CPU time per answer (this process: engine, transport, journal, final passes);
* the same generation with an in-memory journal instead of the durable one: the cost;
* the very requests the engine sent (read back from its journal), sent again by a bare
  `asyncio.gather` over `openai.AsyncOpenAI` with a semaphore (and, against a rate limit,
  the client's own retries, which honour Retry-After): the baseline ratio;
* with --memory, peak RSS of a fresh process running `generate()` (real data, journal,
  Delta writes included) for all 20 partitions, 10 tasks x 2 methods, as the CLI does:
  about 500 requests per partition (10,000 in all) against about 5,000 (100,000 in all,
  a user asking 3,000 texts per label).
Throughput counts the time requests are in flight; the final passes between waves
(dedup, near duplicates, demonstration copies over the whole set) are timed apart.
The server shares the 2 cores with the client, so absolute figures are pessimistic.
"""

import argparse
import asyncio
import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from synthlake.catalog import get_task, load_catalog
from synthlake.generation import prompts, similarity
from synthlake.generation.generate import GenerationConfig, Generator, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig, session
from synthlake.llm.embedded import free_port
from synthlake.realdata import load_real, write_real_examples
from tests.support import loopback

TASK = "sms_spam"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a child started by
    fork + exec inherits its parent's ru_maxrss on Linux, and the parent here has just
    loaded the real data of 10 tasks."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demonstration_pools() -> dict:
    """The few-shot seed pools of TASK (real train split), built once, before any timing;
    the similarity code is warmed up too (its first call imports scikit-learn)."""
    spec = get_task(TASK)
    similarity.near_duplicate_flags(["warm up", "warm up too"], 0.9)
    return prompts.seed_pool(load_real(spec).examples.to_pandas(), spec, seed=0)


def run_engine(url: str, concurrency: int, n_per_label: int, journal: Path,
               pools: dict, seed: int) -> tuple[float, float, int, int]:
    """One few-shot generation through `session()`; returns (seconds in flight, seconds
    in final passes, answers, requests refused with 429)."""
    spec = get_task(TASK)
    config = GenerationConfig(n_per_label=n_per_label, seed=seed, max_attempts_factor=2)
    endpoint = EndpointConfig(base_url=url, model="dev", max_concurrency=concurrency, timeout_s=30)
    generator: Generator | None = None

    async def work(client):
        nonlocal generator
        generator = Generator(client, spec, "few_shot", config, [])
        return await generator.run(pools)

    with session(endpoint, journal) as llm:
        started = time.perf_counter()
        candidates, usage = llm.run(work)
        elapsed = time.perf_counter() - started
    assert usage["failures"] == 0 and len(candidates) == usage["requests_sent"] - usage["retries"]
    return elapsed - generator.final_pass_s, generator.final_pass_s, len(candidates), \
        usage["rate_limited"]


async def bare_gather(url: str, concurrency: int, requests: list[tuple[list, dict]],
                      retries: int) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=retries,
                                http_client=openai.DefaultAioHttpClient())
    limit = asyncio.Semaphore(concurrency)

    async def one(messages: list, params: dict):
        async with limit:
            await client.chat.completions.create(model="dev", messages=messages, **params)

    started = time.perf_counter()
    await asyncio.gather(*[one(m, p) for m, p in requests])
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def sent_requests(journal_path: Path) -> list[tuple[list, dict]]:
    with sqlite3.connect(journal_path) as db:
        rows = db.execute("SELECT messages, params FROM responses ORDER BY created_at").fetchall()
    return [(json.loads(m), json.loads(p)) for m, p in rows]


def measure(url: str, latency: float, concurrency: int, seconds: float, workdir: Path,
            pools: dict, rate_limit: float | None = None) -> None:
    bound = min(concurrency / latency, rate_limit or math.inf)
    n_per_label = max(5, math.ceil(seconds * bound / 2))
    path = workdir / f"journal{concurrency}-{rate_limit}.sqlite"
    cpu0 = cpu_seconds()
    durable, final_pass, answers, refused = run_engine(url, concurrency, n_per_label, path,
                                                       pools, 1)
    cpu_per_request = (cpu_seconds() - cpu0) / answers
    in_memory, _, answers_m, _ = run_engine(url, concurrency, n_per_label, Path(":memory:"),
                                            pools, 2)
    requests = sent_requests(path)
    bare = asyncio.run(bare_gather(url, concurrency, requests, 20 if rate_limit else 0))
    rate, rate_m, rate_b = answers / durable, answers_m / in_memory, len(requests) / bare
    note = f" against {rate_limit:.0f} req/s ({refused} refused with 429)" if rate_limit else ""
    print(f"concurrency {concurrency:3}{note}: {answers:5} answers, {rate:7.1f} per s = "
          f"{rate / bound:.2f} of the bound {bound:.0f}; client CPU "
          f"{cpu_per_request * 1e3:.2f} ms/answer; durable journal costs "
          f"{100 * (1 - rate / rate_m):+.1f}% (in-memory {rate_m:.1f} per s); "
          f"engine / bare gather {rate / rate_b:.2f}x (bare {rate_b:.1f} req/s); "
          f"final passes {final_pass:.2f} s", flush=True)


def memory_probe(url: str, per_partition: int, lake_root: Path) -> None:
    """In a fresh process: generate() for 10 tasks x 2 methods; print requests and RSS.
    The real data is already in the lake (loaded by the parent, as `synthlake real` or
    the real_examples asset would), so what grows here is the generation engine."""
    lake = Lake(lake_root)
    endpoint = EndpointConfig(base_url=url, model="dev", max_concurrency=256, timeout_s=30)
    before, sent = peak_rss_mb(), 0
    for spec in load_catalog().values():
        labels = len(spec.label_names)
        config = GenerationConfig(n_per_label=per_partition // labels, max_attempts_factor=1.2,
                                  streams_per_label=max(1, 256 // labels))
        for method in ("few_shot", "zero_shot"):
            report = generate(lake, spec, "bench", config, method=method, endpoint=endpoint)
            sent += report.usage["requests_sent"]
    print(sent, f"{peak_rss_mb():.1f}", f"{before:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--seconds", type=float, default=8.0, help="target duration per level")
    parser.add_argument("--rate-limit", type=float, nargs="*", default=[640.0],
                        help="server limits (requests/s), each run at the highest concurrency")
    parser.add_argument("--memory", action="store_true", help="also 10,000 vs 100,000 requests")
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    if args.probe:
        memory_probe(args.probe[0], int(args.probe[1]), Path(args.probe[2]))
        return
    latency = ["--latency", str(args.latency)]
    pools = demonstration_pools()
    with loopback.running(free_port(), *latency) as url:
        for concurrency in args.concurrency:
            measure(url, args.latency, concurrency, args.seconds, workdir, pools)
    for limit in args.rate_limit:
        with loopback.running(free_port(), *latency, "--rate-limit", str(limit)) as url:
            measure(url, args.latency, max(args.concurrency), args.seconds, workdir, pools,
                    limit)
    if args.memory:
        with loopback.running(free_port(), *latency) as url:
            memory_ratio(url, workdir)


def memory_ratio(url: str, workdir: Path) -> None:
    peaks = []
    for per_partition in (500, 5_000):
        lake_root = workdir / f"lake{per_partition}"
        for spec in load_catalog().values():
            write_real_examples(Lake(lake_root), spec, "bench")
        out = subprocess.run([sys.executable, __file__, "--probe", url, str(per_partition),
                              str(lake_root)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ}).stdout.split()
        sent, peak, imports = int(out[0]), float(out[1]), float(out[2])
        peaks.append((sent, peak))
        print(f"peak RSS after {sent:,} requests in 20 partitions: {peak:.0f} MB "
              f"(after imports: {imports:.0f} MB)", flush=True)
    (small, p_small), (large, p_large) = peaks
    print(f"peak RSS ratio {large:,} / {small:,} requests: {p_large / p_small:.2f} "
          f"(target <= 1.5)")


if __name__ == "__main__":
    main()
