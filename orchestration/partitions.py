"""Partitions: one per task of the catalogue."""

from __future__ import annotations

import dagster as dg

from synthlake.catalog import load_catalog

# The catalogue is read when the code location loads: a new task YAML becomes a new
# partition on the next reload, with no code change.
task_partitions = dg.StaticPartitionsDefinition(sorted(load_catalog()))
