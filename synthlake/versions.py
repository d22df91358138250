"""Generation versions of a task: history and differences, from Delta's own versions.

Every generation run is one commit to `synthetic_examples` (its task x method
partition). `history(lake, task)` lists those commits with what they hold; `diff`
compares two of them: counts, rejection reasons, diversity of the accepted texts, and
the classifier metrics evaluated on each.
"""

from __future__ import annotations

import pandas as pd

from synthlake import diversity, embed
from synthlake.vocabulary import Status


def generation_versions(lake, task: str) -> list[dict]:
    """Commits of `synthetic_examples` that wrote a partition of `task`, oldest first."""
    return [e for e in reversed(lake.history("synthetic_examples"))
            if e.get("partition") and e["partition"].get("task") == task]


def rows_at(lake, task: str, version: int, method: str | None = None) -> pd.DataFrame:
    where = {"task": task, **({"method": method} if method else {})}
    return lake.read("synthetic_examples", where=where, version=version).to_pandas()


def history(lake, task: str) -> pd.DataFrame:
    """version | written_at | run_id | method | model | prompt_version | accepted |
    rejected | checks (passed/total) | tokens"""
    checks = lake.read("quality_results", where={"task": task}).to_pandas() \
        if lake.exists("quality_results") else pd.DataFrame(columns=["delta_version", "method",
                                                                      "passed"])
    tokens = _tokens_by_key(lake, task)
    out = []
    for entry in generation_versions(lake, task):
        version, method = entry["version"], entry["partition"]["method"]
        rows = rows_at(lake, task, version, method)
        mine = checks[(checks["delta_version"] == version) & (checks["method"] == method)]
        out.append({
            "version": version,
            "written_at": pd.Timestamp(entry["timestamp"], unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M"),
            "run_id": entry.get("run_id", ""), "method": method,
            "model": ",".join(sorted(rows["model"].dropna().unique())),
            "prompt_version": ",".join(sorted(rows["prompt_version"].dropna().unique())),
            "accepted": int((rows["status"] == Status.ACCEPTED).sum()),
            "rejected": int((rows["status"] != Status.ACCEPTED).sum()),
            "checks": f"{int(mine['passed'].sum())}/{len(mine)}" if len(mine) else "not run",
            "tokens": int(sum(tokens.get(k, 0) for k in rows["request_key"])),
        })
    return pd.DataFrame(out)


def _tokens_by_key(lake, task: str) -> dict[str, int]:
    if not lake.exists("llm_responses"):
        return {}
    frame = lake.read("llm_responses", where={"task": task},
                      columns=["request_key", "prompt_tokens", "completion_tokens"]).to_pandas()
    return dict(zip(frame["request_key"], frame["prompt_tokens"] + frame["completion_tokens"],
                    strict=True))


def summary(rows: pd.DataFrame) -> dict:
    accepted = rows[rows["status"] == Status.ACCEPTED]
    texts = accepted["text"].tolist()
    vectors = embed.encode(texts, embed.embedder_name()) if len(texts) >= 2 else None
    return {
        "accepted": len(accepted), "rejected": int((rows["status"] != Status.ACCEPTED).sum()),
        "per_label": accepted["label"].value_counts().sort_index().to_dict(),
        "reasons": rows["reason"].dropna().value_counts().sort_index().to_dict(),
        "remote_clique": diversity.remote_clique(vectors) if vectors is not None else float("nan"),
        "chamfer": diversity.chamfer(vectors) if vectors is not None else float("nan"),
        "mean_words": float(accepted["text"].str.split().str.len().mean()) if len(accepted) else 0.0,
    }


def metrics_after(lake, task: str, timestamp_ms: int) -> pd.DataFrame:
    """Mean macro-F1 per synthetic source from the first `evaluations` commit of the task
    made after `timestamp_ms` (the classifiers trained on that generation)."""
    if not lake.exists("evaluations"):
        return pd.DataFrame()
    later = [e for e in reversed(lake.history("evaluations"))
             if e["timestamp"] >= timestamp_ms and (e.get("partition") or {}).get("task") == task]
    if not later:
        return pd.DataFrame()
    frame = lake.read("evaluations", where={"task": task}, version=later[0]["version"]).to_pandas()
    return frame.groupby(["train_source", "classifier"])["macro_f1"].mean().round(4)


def diff(lake, task: str, old: int, new: int) -> dict:
    entries = {e["version"]: e for e in generation_versions(lake, task)}
    for version in (old, new):
        if version not in entries:
            raise ValueError(f"version {version} wrote no partition of task {task!r}; "
                             f"versions: {sorted(entries)}")
    result = {}
    for name, version in (("from", old), ("to", new)):
        method = entries[version]["partition"]["method"]
        result[name] = {"version": version, "method": method,
                        **summary(rows_at(lake, task, version, method)),
                        "metrics": metrics_after(lake, task, entries[version]["timestamp"])}
    return result
