"""Which generated sets a blocking quality check held, from Delta's own history.

Every generation run is one commit to `synthetic_examples` (its task x method
partition); the quality checks append their outcomes to `quality_results` under the
Delta version they checked. A method's current generation is held when a blocking
(non-advisory) expectation failed on that version: training leaves it out, the demo and
the report say so.
"""

from __future__ import annotations


def generation_versions(lake, task: str) -> list[dict]:
    """Commits of `synthetic_examples` that wrote a partition of `task`, oldest first."""
    return [e for e in reversed(lake.history("synthetic_examples"))
            if e.get("partition") and e["partition"].get("task") == task]


def failed_gates(lake, task: str) -> dict[str, list[str]]:
    """method -> the blocking suites its current generation (the last commit of its
    partition) failed, from `quality_results`; a method that passed, or whose current
    generation was never checked, is absent."""
    if not lake.exists("quality_results"):
        return {}
    current = {e["partition"]["method"]: e["version"] for e in generation_versions(lake, task)}
    checks = lake.read("quality_results", where={"task": task}).to_pandas()
    failed = checks[~checks["passed"].astype(bool) & ~checks["advisory"].fillna(False).astype(bool)]
    out = {}
    for method, version in current.items():
        mine = failed[(failed["method"] == method) & (failed["delta_version"] == version)]
        if len(mine):
            out[method] = sorted(mine["suite"].unique())
    return out
