"""Plots as PNG files (matplotlib, no display), for asset metadata and reports."""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def reports_dir(lake) -> Path:
    path = lake.root / "_reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def diversity_by_source(metrics: pd.DataFrame, task: str, path: Path) -> Path:
    """Remote clique and chamfer per source, at the comparison n, pooled over labels."""
    rows = metrics[(metrics["label"] == "ALL") & (metrics["n_kind"] == "comparison")]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, metric in zip(axes, ("remote_clique", "chamfer"), strict=True):
        ax.bar(rows["source"], rows[metric], color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(rows)])
        ax.set_title(f"{metric.replace('_', ' ')} (n={int(rows['n'].min()) if len(rows) else 0})")
        ax.set_ylabel("cosine distance")
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle(f"{task}: diversity by source (higher is more diverse)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def as_markdown_image(path: Path, alt: str) -> str:
    """A Markdown image with the PNG inlined, so the Dagster UI shows it."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"
