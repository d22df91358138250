"""Helpers that turn engine results into Dagster metadata (tables as Markdown)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from synthlake import tables
from synthlake.analysis.report import markdown


def table_metadata(name: str) -> dict:
    """Definition metadata of a table asset: its declared columns (the catalogue's
    "Columns"), from `synthlake/tables.py`."""
    declared = tables.TABLES[name]
    columns = [dg.TableColumn(column, str(kind), description=about)
               for column, kind, about in (*declared.columns, tables.RUN_ID)]
    return {"dagster/column_schema": dg.TableSchema(columns=columns),
            "partitioned_by": ", ".join(declared.partition_by) or "-"}


def markdown_table(rows: list[dict]) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown(rows, empty="_(none)_"))


def preview(table: pa.Table, columns: list[str], n: int = 5) -> dg.MetadataValue:
    return markdown_table(table.select(columns).slice(0, n).to_pylist())
