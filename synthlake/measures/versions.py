"""Generation versions of a task: history and differences, from Delta's own versions.

Every generation run is one commit to `synthetic_examples` (its task x method
partition). `history(lake, task)` lists those commits with what they hold; `diff`
compares two of them: counts, rejection reasons, diversity of the accepted texts, and
the classifier metrics evaluated on each.
"""

from __future__ import annotations

import pandas as pd

from synthlake import embed
from synthlake.gates import generation_versions
from synthlake.measures import diversity
from synthlake.vocabulary import Reason, Status


def rows_at(lake, task: str, version: int, method: str | None = None) -> pd.DataFrame:
    where = {"task": task, **({"method": method} if method else {})}
    return lake.read("synthetic_examples", where=where, version=version).to_pandas()


def history(lake, task: str) -> pd.DataFrame:
    """version | written_at | run_id | method | model | prompt_version | accepted |
    rejected | label_filter (its judge) | label_mismatch (rows it rejected) | checks
    (blocking expectations passed/total, and advisory ones failed) | tokens"""
    checks = lake.read("quality_results", where={"task": task}).to_pandas() \
        if lake.exists("quality_results") else pd.DataFrame(columns=["delta_version", "method",
                                                                      "passed", "advisory"])
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
            **fidelity_of(rows),
            "checks": checks_text(mine),
            "tokens": int(sum(tokens.get(k, 0) for k in rows["request_key"])),
        })
    return pd.DataFrame(out)


def fidelity_of(rows: pd.DataFrame) -> dict:
    """label_filter (the judge named in the rows) | label_mismatch (rows it rejected) |
    judge_agreement (share of accepted rows it found the requested label in)."""
    judges = rows["fidelity_judge"].dropna().unique() if "fidelity_judge" in rows else []
    accepted = rows[rows["status"] == Status.ACCEPTED]
    judged = accepted[accepted["judged_label"].notna()] if len(judges) else accepted.iloc[:0]
    return {"label_filter": ",".join(sorted(judges)) or "none",
            "label_mismatch": int((rows["reason"] == Reason.LABEL_MISMATCH).sum()),
            "judge_agreement": round(float((judged["judged_label"] == judged["label"]).mean()), 3)
            if len(judged) else float("nan")}


def checks_text(outcomes: pd.DataFrame) -> str:
    """"passed/total" over the blocking expectations, and any advisory failures."""
    if outcomes.empty:
        return "not run"
    advisory = outcomes["advisory"].fillna(False).astype(bool) if "advisory" in outcomes \
        else pd.Series(False, index=outcomes.index)
    blocking, warned = outcomes[~advisory], outcomes[advisory & ~outcomes["passed"].astype(bool)]
    text = f"{int(blocking['passed'].sum())}/{len(blocking)}"
    return text + (f" ({len(warned)} advisory failed)" if len(warned) else "")


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
    vectors = embed.encode_memoized(texts) if len(texts) >= 2 else None
    return {
        "accepted": len(accepted), "rejected": int((rows["status"] != Status.ACCEPTED).sum()),
        "per_label": accepted["label"].value_counts().sort_index().to_dict(),
        "reasons": rows["reason"].dropna().value_counts().sort_index().to_dict(),
        **fidelity_of(rows),
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
