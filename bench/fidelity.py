"""Benchmark: what the LLM label judge costs next to the generation it judges.

    SYNTHLAKE_DATA_DIR=../shared/datasets .venv/bin/python -m bench.fidelity \\
        [--rows 1000] [--latency 0.05] [--concurrency 64]

Against `tests.support.loopback` (a real HTTP server; it counts a word as a token, for
generation and judging alike, and answers a judge's question with a label name, as a
model asked for one label does), for `sms_spam` and each method: generate `--rows`
texts (`--rows / 2` per label, label filter off), then judge every accepted one with the
LLM judge (`fidelity.judge_task`, a fresh journal, nothing cached). Prints, measured in
this one run, the judge's tokens and wall time as a ratio to the generation's (target:
at most 0.3x the tokens), and the seed classifier's wall time on the same rows.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from synthlake.catalog import get_task
from synthlake.generation import fidelity
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import Judge, Method
from tests.support import loopback

TASK = "sms_spam"


def tokens(usage: dict) -> int:
    return usage["prompt_tokens"] + usage["completion_tokens"]


def measure(root: Path, method: str, rows: int, latency: float, concurrency: int) -> dict:
    spec = get_task(TASK).with_judge("none")
    lake = Lake(root / method)
    write_real_examples(lake, spec, "bench")
    script = root / "script.json"
    script.write_text(json.dumps([[fidelity.INSTRUCTION, spec.label_names[0]]]))
    with loopback.running(free_port(), "--latency", str(latency), "--script", str(script)) as url:
        endpoint = EndpointConfig(base_url=url, model="dev", max_concurrency=concurrency)
        started = time.perf_counter()
        report = generate(lake, spec, "bench",
                          GenerationConfig(n_per_label=rows // len(spec.labels)), method=method,
                          endpoint=endpoint)
        generation_s = time.perf_counter() - started
        started = time.perf_counter()
        frame, _, judged = fidelity.judge_task(lake, spec, "bench", judges=(Judge.LLM,),
                                               endpoint=endpoint)
        judge_s = time.perf_counter() - started
    started = time.perf_counter()
    fidelity.judge_task(lake, spec, "bench", judges=(Judge.SEED_CLASSIFIER,))
    seed_s = time.perf_counter() - started
    return {"method": method, "rows": len(frame), "generation_tokens": tokens(report.usage),
            "judge_tokens": tokens(judged), "generation_s": generation_s, "judge_s": judge_s,
            "seed_classifier_s": seed_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for method in Method:
            m = measure(Path(tmp), method, args.rows, args.latency, args.concurrency)
            ratio = m["judge_tokens"] / m["generation_tokens"]
            print(f"{m['method']:9} {m['rows']} rows judged: tokens {m['judge_tokens']} vs "
                  f"{m['generation_tokens']} generating them = {ratio:.2f}x "
                  f"({'within' if ratio <= 0.3 else 'over'} the 0.3x target); wall "
                  f"{m['judge_s']:.1f} s vs {m['generation_s']:.1f} s = "
                  f"{m['judge_s'] / m['generation_s']:.2f}x; seed classifier "
                  f"{m['seed_classifier_s']:.1f} s")


if __name__ == "__main__":
    main()
