"""Helpers that turn engine results into Dagster metadata (tables as Markdown)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from synthlake.report import markdown


def markdown_table(rows: list[dict]) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown(rows, empty="_(none)_"))


def preview(table: pa.Table, columns: list[str], n: int = 5) -> dg.MetadataValue:
    return markdown_table(table.select(columns).slice(0, n).to_pylist())
