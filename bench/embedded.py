"""Benchmark: the embedded model's runtimes side by side, on the same prompts, in one run.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.embedded \\
        [--runtimes llama_cpp transformers] [--concurrency 1 4 8] [--requests 16] \\
        [--fidelity 200]

For each installed runtime (`synthlake.llm.embedded.RUNTIMES`) it starts the embedded
server as the pipeline does (a real HTTP server on 127.0.0.1), then:
* sends `--requests` chat requests at each concurrency, for two prompt sets: few-shot
  sms_spam (3 real demonstrations) and zero-shot ag_news, built by `synthlake.generation.prompts`
  exactly as generation builds them, each request with its own seed, at temperature 1.0
  and the task's completion-token cap; prints requests/s and completion tokens/s;
* generates `--fidelity` few-shot sms_spam texts (half per label), parses them as
  generation does, and has the real-data oracle (`fidelity.real_oracle`) judge whether
  each carries its requested label: the share with its 95% Wilson interval, so a faster
  runtime that writes worse texts shows;
* prints each runtime's ratio to the baseline (`transformers`) at every concurrency.
Figures are one run on a shared machine: read the ratios, not the absolute values.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import pandas as pd

from synthlake.catalog import get_task
from synthlake.generation import fidelity, parse, prompts
from synthlake.generation.generate import GenerationConfig
from synthlake.llm import embedded
from synthlake.realdata import load_real


def prompt_sets(n: int) -> dict[str, list[tuple[str, list[dict]]]]:
    """name -> n (label, messages) pairs, as generation builds them."""
    sms, ag = get_task("sms_spam"), get_task("ag_news")
    real = load_real(sms).examples.to_pandas()
    pools = prompts.seed_pool(real, sms, seed=0)
    few = []
    for i in range(n):
        label = sms.label_names[i % 2]
        rng = prompts.rng_for(0, "bench", label, i)
        _, texts = pools[label].sample(sms.few_shot.k, rng)
        few.append((label, prompts.few_shot_messages(sms, label, texts, rng)))
    zero = []
    for i in range(n):
        label = ag.label_names[i % len(ag.labels)]
        rng = prompts.rng_for(0, "bench", label, i)
        zero.append((label, prompts.zero_shot_messages(
            ag, [], prompts.zero_shot_user_turn(ag, label, rng, False))))
    return {"few_shot sms_spam": few, "zero_shot ag_news": zero}


async def send(url: str, requests: list[list[dict]], concurrency: int, max_tokens: int):
    """(texts, completion tokens, seconds) of the requests at a concurrency."""
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        async def one(i: int, messages: list[dict]) -> tuple[str, int]:
            body = {"model": embedded.MODEL_ID, "messages": messages, "temperature": 1.0,
                    "max_tokens": max_tokens, "seed": 1000 + i}
            async with gate, http.post(f"{url}/chat/completions", json=body) as answer:
                found = await answer.json()
            return found["choices"][0]["message"]["content"], found["usage"]["completion_tokens"]

        started = time.perf_counter()
        done = await asyncio.gather(*[one(i, m) for i, m in enumerate(requests)])
        return [t for t, _ in done], sum(n for _, n in done), time.perf_counter() - started


def fidelity_of(url: str, n: int) -> dict:
    """Few-shot sms_spam texts at the demo's concurrency, judged by the real oracle."""
    spec = get_task("sms_spam")
    pairs = prompt_sets(n)["few_shot sms_spam"]
    texts, _, _ = asyncio.run(send(url, [m for _, m in pairs], 8,
                                   GenerationConfig().max_tokens_for(spec)))
    kept = [(label, parse.extract_text(t)) for (label, _), t in zip(pairs, texts, strict=True)]
    kept = [(label, t) for label, t in kept if t]
    real = load_real(spec).examples.to_pandas()
    oracle = fidelity.real_oracle(real, spec, seed=0)
    verdicts = oracle.judge([t for _, t in kept], [label for label, _ in kept])
    agree = int(verdicts["agrees"].sum())
    low, high = fidelity.wilson(agree, len(kept))
    return {"texts": len(kept), "oracle_agrees": agree, "share": agree / max(len(kept), 1),
            "low": float(low), "high": float(high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="+", default=list(embedded.RUNTIMES))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--fidelity", type=int, default=200)
    args = parser.parse_args()
    sets = prompt_sets(args.requests)
    caps = {"few_shot sms_spam": GenerationConfig().max_tokens_for(get_task("sms_spam")),
            "zero_shot ag_news": GenerationConfig().max_tokens_for(get_task("ag_news"))}
    rows, judged = [], []
    for name in args.runtimes:
        chosen = embedded.RUNTIMES[name]
        if not embedded.installed(chosen):
            print(f"{name}: not installed, skipped")
            continue
        started = time.perf_counter()
        with embedded.start_server(chosen=chosen) as server:
            print(f"{name}: server up in {time.perf_counter() - started:.1f} s", flush=True)
            for concurrency in args.concurrency:
                for prompt_set, pairs in sets.items():
                    _, tokens, seconds = asyncio.run(send(
                        server.base_url, [m for _, m in pairs], concurrency, caps[prompt_set]))
                    rows.append({"runtime": name, "prompts": prompt_set,
                                 "concurrency": concurrency, "requests": len(pairs),
                                 "requests_per_s": len(pairs) / seconds,
                                 "tokens_per_s": tokens / seconds})
                    print(f"  {prompt_set:18} concurrency {concurrency}: "
                          f"{rows[-1]['requests_per_s']:.2f} requests/s, "
                          f"{rows[-1]['tokens_per_s']:.0f} tokens/s", flush=True)
            if args.fidelity:
                judged.append({"runtime": name, **fidelity_of(server.base_url, args.fidelity)})
                print(f"  oracle finds the requested label in {judged[-1]['oracle_agrees']}/"
                      f"{judged[-1]['texts']} ({judged[-1]['low']:.2f} to "
                      f"{judged[-1]['high']:.2f})", flush=True)
    frame = pd.DataFrame(rows)
    base = frame[frame["runtime"] == "transformers"].set_index(["prompts", "concurrency"])
    if len(base):
        frame["requests_ratio"] = [
            r.requests_per_s / base.loc[(r.prompts, r.concurrency), "requests_per_s"]
            for r in frame.itertuples()]
    print("\n" + frame.round(2).to_markdown(index=False))
    if judged:
        print("\n" + pd.DataFrame(judged).round(3).to_markdown(index=False))


if __name__ == "__main__":
    main()
