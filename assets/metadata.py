"""Helpers that turn engine results into Dagster metadata (tables as Markdown)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa


def markdown_table(rows: list[dict]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_(none)_")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = (str(row[c]).replace("|", "\\|").replace("\n", " ")[:160] for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def preview(table: pa.Table, columns: list[str], n: int = 5) -> dg.MetadataValue:
    return markdown_table(table.select(columns).slice(0, n).to_pylist())
