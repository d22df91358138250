"""Partitions: `task` from the catalogue, `method` for generation, and their product."""

from __future__ import annotations

import dagster as dg

from synthlake.catalog import METHODS, load_catalog

# The catalogue is read when the code location loads: a new task YAML becomes a new
# partition on the next reload, with no code change.
task_partitions = dg.StaticPartitionsDefinition(sorted(load_catalog()))
method_partitions = dg.StaticPartitionsDefinition(list(METHODS))
task_method_partitions = dg.MultiPartitionsDefinition(
    {"task": task_partitions, "method": method_partitions}
)
