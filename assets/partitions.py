"""Partitions: one per task of the catalogue.

Static, computed from the catalogue when the code location loads: tasks are
configuration (YAML files), so the plain Dagster CLI (`dagster asset materialize
--partition T`, `dagster job execute`) works on any instance, fresh or not, with nothing
to register first. A task file added while `dagster dev` runs becomes a partition when the
code location reloads (the UI's "Reload definitions", or a restart); the `task_files`
sensor says so on its next tick.
"""

from __future__ import annotations

import dagster as dg

from synthlake.catalog import load_catalog

task_partitions = dg.StaticPartitionsDefinition(sorted(load_catalog()))
