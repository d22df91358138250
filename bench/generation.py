"""Benchmark: requests through the engine's LLM client against a loopback endpoint.

    .venv/bin/python bench/generation.py [--latency 0.2] [--concurrency 1 8 64 256]

Starts `synthlake.devserver` (a real HTTP server answering after `--latency` seconds) and
sends chat requests through `LLMClient` (journal lookup and record, adaptive limiter,
retries): the path every generated text takes. Prints, measured in this one run:
* requests per second as a fraction of the bound min(concurrency / latency, rate limit);
* client CPU time per request;
* the same requests without durable journaling (an in-memory journal): the cost ratio;
* a bare `asyncio.gather` over `openai.AsyncOpenAI` with a semaphore: the baseline ratio;
* peak memory (RSS growth) of the client at 10,000 and at 100,000 requests (--memory).
The server shares the 2 cores with the client, so absolute figures are pessimistic.
"""

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import openai

from synthlake import devserver
from synthlake.journal import Journal
from synthlake.llm import ChatRequest, EndpointConfig, LLMClient
from synthlake.local_llm import free_port

PROMPT = "Write an SMS message about dinner number {i} in at most 20 words."


def requests_for(n: int, tag: str):
    """Built lazily, so the benchmark's own list does not count as the engine's memory."""
    for i in range(n):
        yield ChatRequest("bench", "few_shot", [{"role": "user", "content": PROMPT.format(i=i)}],
                          {"temperature": 1.0, "max_tokens": 40, "seed": i}, slot=f"{tag}/{i}")


async def through_engine(url: str, n: int, concurrency: int, journal: Journal, tag: str):
    config = EndpointConfig(base_url=url, model="dev", max_concurrency=concurrency, timeout_s=30)
    client = LLMClient(config, journal, url, "dev")
    pending = requests_for(n, tag)

    async def worker():
        for request in pending:  # a shared iterator: at most `concurrency` coroutines exist
            response = await client.complete(request)
            assert response.error is None, response.error

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed


async def bare_gather(url: str, n: int, concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0,
                                http_client=openai.DefaultAioHttpClient())
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int):
        async with limit:
            await client.chat.completions.create(
                model="dev", messages=[{"role": "user", "content": PROMPT.format(i=i)}],
                temperature=1.0, max_tokens=40, seed=i)

    started = time.perf_counter()
    await asyncio.gather(*[one(i) for i in range(n)])
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, latency: float, concurrency: int, n: int, workdir: Path) -> None:
    bound = concurrency / latency
    cpu0 = cpu_seconds()
    durable = asyncio.run(through_engine(url, n, concurrency,
                                         Journal(workdir / f"j{concurrency}.sqlite"), "d"))
    cpu_per_request = (cpu_seconds() - cpu0) / n
    memory = asyncio.run(through_engine(url, n, concurrency, Journal(Path(":memory:")), "m"))
    bare = asyncio.run(bare_gather(url, n, concurrency))
    rate = n / durable
    print(f"concurrency {concurrency:3}: {n:5} requests, {rate:7.1f} req/s = "
          f"{rate / bound:.2f} of the bound {bound:.0f}; client CPU {cpu_per_request * 1e3:.2f} ms"
          f"/request; durable journal costs {100 * (1 - memory / durable):+.1f}% "
          f"(in-memory {n / memory:.1f} req/s); engine/bare gather {bare / durable:.2f}x "
          f"(bare {n / bare:.1f} req/s)", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(url: str, n: int, workdir: Path) -> None:
    """Run in a fresh process: peak RSS after n requests through the engine."""
    before = peak_rss_mb()
    asyncio.run(through_engine(url, n, 256, Journal(workdir / f"mem{n}.sqlite"), f"mem{n}"))
    print(f"{n} {peak_rss_mb():.1f} {before:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--seconds", type=float, default=8.0, help="target duration per level")
    parser.add_argument("--memory", action="store_true", help="also 10,000 vs 100,000 requests")
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    if args.probe:
        memory_probe(args.probe[0], int(args.probe[1]), workdir)
        return
    port = free_port()
    with devserver.running(port, "--latency", str(args.latency)) as url:
        for concurrency in args.concurrency:
            n = max(20, int(args.seconds * concurrency / args.latency))
            measure(url, args.latency, concurrency, n, workdir)
        if args.memory:
            import subprocess

            peaks = {}
            for n in (10_000, 100_000):
                out = subprocess.run([sys.executable, __file__, "--probe", url, str(n)],
                                     capture_output=True, text=True, check=True,
                                     env={**os.environ}).stdout.split()
                peaks[n] = float(out[1])
            print(f"peak RSS: {peaks[10_000]:.0f} MB at 10,000 requests, {peaks[100_000]:.0f} MB "
                  f"at 100,000: ratio {peaks[100_000] / peaks[10_000]:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
