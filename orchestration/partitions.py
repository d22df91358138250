"""Partitions: one per task of the catalogue.

Dynamic, so that a task YAML dropped into `SYNTHLAKE_TASKS_DIR` becomes a partition
without restarting the code location: the `task_files` sensor adds the partitions of new
tasks (and requests their runs); `sync_task_partitions` does the same for scripts and tests.
"""

from __future__ import annotations

import dagster as dg

from synthlake.catalog import load_catalog

task_partitions = dg.DynamicPartitionsDefinition(name="task")


def sync_task_partitions(instance: dg.DagsterInstance) -> list[str]:
    """Add a partition for every catalogue task the instance does not know; return them."""
    known = set(instance.get_dynamic_partitions(task_partitions.name))
    missing = sorted(set(load_catalog()) - known)
    if missing:
        instance.add_dynamic_partitions(task_partitions.name, missing)
    return missing
