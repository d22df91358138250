"""Jobs, the regeneration schedule and the task-file sensor.

* `task_pipeline` job: every task-partitioned asset, from real data to the
  instance-level results (quality checks included, blocking).
* `regenerate` job: generation and everything downstream of it, for one task.
* `regeneration_schedule`: runs `regenerate` for the tasks in
  `SYNTHLAKE_REGEN_TASKS` (comma list; default every task) on the cron in
  `SYNTHLAKE_REGEN_CRON` (default Monday 03:00), e.g. after a model or prompt change.
* `task_files` sensor: fingerprints every task YAML; a task whose file changed after it
  was first seen gets a `task_pipeline` run (a first sighting starts none); a new file
  is named until the code location reloads and it becomes a partition.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from assets.partitions import task_partitions
from synthlake import settings
from synthlake.catalog import load_catalog
from synthlake.vocabulary import Method

# The attribute set and every method's generation: a regeneration asks again (a changed
# model proposes afresh; an unchanged one answers from the journal, for nothing).
GENERATION = dg.AssetSelection.assets(
    "attributes", *[[table, method.value] for table in ("synthetic_examples", "llm_responses")
                    for method in Method])
UNPARTITIONED = dg.AssetSelection.assets("task_catalog", "human_judgments", "pairwise_judgments",
                                         "task_subjectivity", "objectivity_proxies",
                                         "gap_correlations", "report_page")

# A forecast is asked for before spending, not part of every pipeline run.
ON_DEMAND = dg.AssetSelection.assets("generation_plan")

task_pipeline_job = dg.define_asset_job(
    "task_pipeline", selection=dg.AssetSelection.all() - UNPARTITIONED - ON_DEMAND,
    partitions_def=task_partitions,
    description="Real data, generation, checks, embeddings, diversity, training, "
                "instance-level results: one task partition.")

regenerate_job = dg.define_asset_job(
    "regenerate",
    selection=(GENERATION.downstream() - UNPARTITIONED).required_multi_asset_neighbors(),
    partitions_def=task_partitions,
    description="New generations (new model, new prompt version) and all that depends on them.")


def regeneration_tasks() -> list[str]:
    return settings.names("SYNTHLAKE_REGEN_TASKS") or sorted(load_catalog())


@dg.schedule(job=regenerate_job, cron_schedule=settings.get("SYNTHLAKE_REGEN_CRON"),
             execution_timezone="UTC")
def regeneration_schedule(context: dg.ScheduleEvaluationContext):
    stamp = context.scheduled_execution_time.strftime("%Y%m%d%H%M")
    for task in regeneration_tasks():
        yield dg.RunRequest(run_key=f"regenerate-{task}-{stamp}", partition_key=task,
                            tags={"synthlake/trigger": "schedule"})


def fingerprints() -> dict[str, str]:
    """task -> hash of its validated spec (any change of the YAML that matters)."""
    return {name: hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
            for name, spec in load_catalog().items()}


@dg.sensor(job=task_pipeline_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING)
def task_files(context: dg.SensorEvaluationContext):
    """Reruns `task_pipeline` for a task whose YAML changed after the sensor first saw it.
    Tasks seen for the first time (every task, on a fresh instance) start no run: runs
    start when the user asks. A task file that is not a partition yet is named, with how
    to add it (reload the code location)."""
    seen = json.loads(context.cursor) if context.cursor else {}
    partitions = set(task_partitions.get_partition_keys())
    now = fingerprints()
    known_now = {t: f for t, f in now.items() if t in partitions}
    changed = sorted(t for t in known_now if t in seen and seen[t] != known_now[t])
    waiting = sorted(set(now) - partitions)
    requests = [dg.RunRequest(run_key=f"{task}-{now[task]}", partition_key=task,
                              tags={"synthlake/trigger": "task file"}) for task in changed]
    skip = "no changed task files"
    if waiting:
        skip = (f"new task files {waiting}: reload the code location (Reload definitions in the "
                "UI, or restart dagster dev) to add their partitions")
        context.log.info(skip)
    return dg.SensorResult(run_requests=requests, skip_reason=None if requests else skip,
                           cursor=json.dumps(known_now, sort_keys=True))
