"""`make demo`: the main job on the embedded defaults, offline, then results from the lake.

Runs through Dagster (a persistent instance in $DAGSTER_HOME, ./.dagster_home by
default), so every step shows up in the UI afterwards (`make ui`):
1. the task catalogue and the real data of every task;
2. zero-shot and few-shot generation for the demo tasks (`SYNTHLAKE_DEMO_TASKS`,
   default sms_spam and ag_news; `SYNTHLAKE_DEMO_N` texts per label, default 8), with the
   embedded model unless OPENAI_BASE_URL points at another endpoint;
then prints tables read back from the lake with DuckDB.
"""

import os
import sys
import time
from pathlib import Path

import dagster as dg

from orchestration.definitions import all_assets, defs
from orchestration.partitions import sync_task_partitions
from synthlake.catalog import METHODS, load_catalog
from synthlake.lake import Lake

DEMO_TASKS = os.environ.get("SYNTHLAKE_DEMO_TASKS", "sms_spam,ag_news").split(",")
DEMO_N = int(os.environ.get("SYNTHLAKE_DEMO_N", "8"))


def instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    found = dg.DagsterInstance.get()
    sync_task_partitions(found)
    return found


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(selection: list[str], partition_key=None, run_config=None) -> None:
    result = dg.materialize(
        [a for a in all_assets if isinstance(a, dg.AssetsDefinition)],
        selection=selection, partition_key=partition_key, instance=instance(),
        resources=defs.resources, run_config=run_config, raise_on_error=True,
    )
    assert result.success


def main() -> int:
    started = time.monotonic()
    lake = Lake()
    print(f"lake: {lake.root}\nDagster home: {os.environ.get('DAGSTER_HOME', '.dagster_home')}")
    step("real data of every task")
    run(["task_catalog"])
    for task in sorted(load_catalog()):
        run(["real_examples", "real_annotations"], partition_key=task)
        print(f"  {task}", flush=True)
    generation = {f"generate_{m}": {"config": {"n_per_label": DEMO_N}} for m in METHODS}
    for task in DEMO_TASKS:
        step(f"{task}: generation (both methods, {DEMO_N} per label) and quality checks")
        run([f"{table}/{m}" for table in ("synthetic_examples", "llm_responses") for m in METHODS],
            partition_key=task, run_config={"ops": generation})
    step("results (from the lake)")
    con = lake.connect()
    print(con.sql("SELECT task, split, count(*) AS n FROM real_examples GROUP BY ALL ORDER BY ALL")
          .df().to_string(index=False))
    print()
    print(con.sql("""
        SELECT task, method, label, count(*) FILTER (status = 'accepted') AS accepted,
               count(*) FILTER (status = 'rejected') AS rejected
        FROM synthetic_examples GROUP BY ALL ORDER BY ALL""").df().to_string(index=False))
    print(f"\ndone in {time.monotonic() - started:.0f} s. Next:")
    print("  make ui                      # the Dagster UI on http://127.0.0.1:3000")
    print('  .venv/bin/synthlake sql "select * from synthetic_examples limit 5"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
