"""Export accepted synthetic examples: Parquet, JSON lines, or a Hugging Face dataset folder
with a dataset card (model, prompts, counts, checks, diversity, cost, citation).

Exported columns: text | label | example_id | method | model | prompt_version | seed
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthlake.catalog import get_task
from synthlake.vocabulary import Status

COLUMNS = ["text", "label", "example_id", "method", "model", "prompt_version", "seed"]
PAPER = ("Li, Zhu, Lu & Yin (2023). Synthetic Data Generation with Large Language Models for "
         "Text Classification: Potential and Limitations. EMNLP 2023.")


def accepted_rows(lake, task: str, method: str | None) -> pd.DataFrame:
    where = {"task": task, **({"method": method} if method else {})}
    rows = lake.read("synthetic_examples", where=where).to_pandas()
    rows = rows[rows["status"] == Status.ACCEPTED].sort_values(["method", "label", "slot"])
    return rows[COLUMNS].reset_index(drop=True)


def export(lake, task: str, method: str | None, fmt: str, out: Path) -> Path:
    rows = accepted_rows(lake, task, method)
    if rows.empty:
        raise ValueError(f"no accepted synthetic examples for task {task!r} "
                         f"{'method ' + method if method else ''}")
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        path = out / f"{task}.parquet"
        rows.to_parquet(path, index=False)
    elif fmt == "jsonl":
        path = out / f"{task}.jsonl"
        rows.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "hf":
        import datasets

        path = out
        datasets.Dataset.from_pandas(rows, preserve_index=False).save_to_disk(str(out))
    else:
        raise ValueError(f"unknown format {fmt!r}: parquet, jsonl or hf")
    (out / "README.md").write_text(dataset_card(lake, task, method, rows))
    return path


def dataset_card(lake, task: str, method: str | None, rows: pd.DataFrame) -> str:
    spec = get_task(task)
    con = lake.connect()
    method_filter = f"AND method = '{method}'" if method else ""
    checks = con.sql(f"""SELECT method, suite, bool_and(passed) AS passed FROM quality_results
                         WHERE task = '{task}' {method_filter} GROUP BY ALL ORDER BY ALL""").df() \
        if "quality_results" in lake.tables() else pd.DataFrame()
    usage = con.sql(f"""SELECT sum(prompt_tokens) p, sum(completion_tokens) c, count(*) n
                        FROM llm_responses WHERE task = '{task}' {method_filter}""").fetchall()[0] \
        if "llm_responses" in lake.tables() else (0, 0, 0)
    div = con.sql(f"""SELECT source, n, round(remote_clique, 4) rc, round(chamfer, 4) ch
                      FROM diversity_metrics WHERE task = '{task}' AND label = 'ALL'
                      AND n_kind = 'comparison' ORDER BY source""").df() \
        if "diversity_metrics" in lake.tables() else pd.DataFrame()
    counts = rows.groupby(["method", "label"]).size().to_dict()
    check_lines = [f"- {r.method} {r.suite}: {'passed' if r.passed else 'FAILED'}"
                   for r in checks.itertuples()] or ["- not run"]
    diversity_lines = [f"- {r.source}: n={r.n}, remote clique {r.rc}, chamfer {r.ch}"
                       for r in div.itertuples()] or ["- not measured"]
    lines = [
        f"# Synthetic {task} ({method or 'all methods'})", "",
        f"{spec.description}", "",
        f"- generator model(s): {', '.join(sorted(rows['model'].unique()))}",
        f"- prompt version(s): {', '.join(sorted(rows['prompt_version'].unique()))}",
        f"- context prompt: {spec.context_prompt}",
        f"- generation prompt: {spec.generation_prompt}",
        f"- examples: {len(rows)}; per method and label: "
        + ", ".join(f"{m}/{lab}: {n}" for (m, lab), n in counts.items()),
        f"- LLM requests: {usage[2]}, tokens: {usage[0] or 0} prompt + {usage[1] or 0} completion",
        "", "## Quality checks", "",
        *check_lines,
        "", "## Diversity (comparison n)", "",
        *diversity_lines,
        "", "## Citation", "", f"Method: {PAPER}",
        f"Real data: {spec.citation or 'see the task YAML'}", "",
        "Made with synthlake.",
    ]
    return "\n".join(lines) + "\n"
