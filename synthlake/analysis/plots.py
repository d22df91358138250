"""Plots as PNG files (matplotlib, no display), for asset metadata and reports."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from synthlake.vocabulary import Method


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display), imported when a plot is drawn:
    it costs about half a second, and every Dagster step process imports this module."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def diversity_by_source(metrics: pd.DataFrame, task: str, path: Path) -> Path:
    """Remote clique and chamfer per source, at the comparison n, pooled over labels."""
    rows = metrics[(metrics["label"] == "ALL") & (metrics["n_kind"] == "comparison")]
    fig, axes = pyplot().subplots(1, 2, figsize=(8, 3.2))
    for ax, metric in zip(axes, ("remote_clique", "chamfer"), strict=True):
        ax.bar(rows["source"], rows[metric], color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(rows)])
        ax.set_title(f"{metric.replace('_', ' ')} (n={int(rows['n'].min()) if len(rows) else 0})")
        ax.set_ylabel("cosine distance")
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle(f"{task}: diversity by source (higher is more diverse)")
    return save(fig, path)


def save(fig, path: Path) -> Path:
    """Every plot's last step: laid out, written as PNG, closed (figures hold memory)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def as_markdown_image(path: Path, alt: str) -> str:
    """A Markdown image with the PNG inlined, so the Dagster UI shows it."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def gap_vs_subjectivity(frame: pd.DataFrame, path: Path) -> Path:
    """Real-minus-synthetic macro-F1 gap against the objectivity rank of one ranking that
    carries signal (`sql/gaps_by_task.sql`), one point per task and source. No ranking
    with signal: an empty plot that says so, never a ranking drawn from noise."""
    fig, ax = pyplot().subplots(figsize=(6.5, 4))
    title = "no ranking with signal"
    if not frame.empty:  # one ranking and classifier per plot: the fine-tuned one if any
        ranking = frame["ranking"].iloc[0]
        classifier = "finetune" if (frame["classifier"] == "finetune").any() \
            else frame["classifier"].iloc[0]
        frame = frame[(frame["ranking"] == ranking) & (frame["classifier"] == classifier)]
        title = f"{classifier}, ranked by {ranking}"
    if frame.empty:
        _empty(ax, "no ranking with signal joined with the gaps yet")
    for (source, rows), marker in zip(frame.groupby("train_source"), "os^", strict=False):
        ax.scatter(rows["objectivity_rank"], rows["gap"], marker=marker, label=source)
        for row in rows.itertuples():
            ax.annotate(row.task, (row.objectivity_rank, row.gap), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    if not frame.empty:
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xlabel("objectivity rank (1 = most objective)")
        ax.set_ylabel("macro-F1 gap: real minus synthetic")
        ax.legend()
    ax.set_title(f"Where synthetic data falls short ({title})")
    return save(fig, path)


def accuracy_vs_gamma(frame: pd.DataFrame, path: Path) -> Path:
    """Accuracy on test examples with agreement >= gamma, one line per source and task
    (mean over classifiers) with its band (the mean of their 95% Wilson intervals)."""
    tasks = sorted(frame["task"].unique()) if not frame.empty else []
    fig, axes = pyplot().subplots(1, max(len(tasks), 1), figsize=(5 * max(len(tasks), 1), 3.6),
                             squeeze=False)
    if not tasks:
        _empty(axes[0][0], "no instance-level results yet")
    for ax, task in zip(axes[0], tasks, strict=False):
        rows = frame[frame["task"] == task]
        for source, group in rows.groupby("train_source"):
            means = group.groupby("gamma")[["accuracy", "accuracy_low", "accuracy_high"]].mean()
            line, = ax.plot(means.index, means["accuracy"], marker="o", label=source)
            ax.fill_between(means.index, means["accuracy_low"], means["accuracy_high"],
                            color=line.get_color(), alpha=0.12, linewidth=0)
        ax.set_title(task)
        ax.set_xlabel("agreement threshold γ")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=7)
    return save(fig, path)


def diversity_vs_gap(frame: pd.DataFrame, path: Path) -> Path:
    """Remote clique diversity of each synthetic source against its gap to real data."""
    rows = frame if frame.empty else frame.dropna(subset=["gap_to_real_full"])
    rows = rows if rows.empty else rows[rows["source"].isin(list(Method))]
    fig, ax = pyplot().subplots(figsize=(6.5, 4))
    if rows.empty:
        _empty(ax, "no synthetic sources with both diversity and evaluations yet")
    else:
        for source, group in rows.groupby("source"):
            ax.scatter(group["remote_clique"], group["gap_to_real_full"], label=source)
            for row in group.itertuples():
                ax.annotate(row.task, (row.remote_clique, row.gap_to_real_full), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("remote clique score (higher = more diverse)")
        ax.set_ylabel("macro-F1 gap to all real data")
        ax.legend()
    ax.set_title("Diversity against the gap")
    return save(fig, path)


ORIGIN_COLOURS = {"real": "#4c72b0", "zero_shot": "#dd8452", "few_shot": "#55a868",
                  "attributed": "#c44e52"}


def data_map(dynamics: pd.DataFrame, task: str, path: Path) -> Path:
    """Dataset cartography of one task: per fine-tuned training source (its first seed),
    each training row at (variability, confidence), real and synthetic rows in different
    colours, the region boundaries drawn (`cartography`)."""
    from synthlake.evaluation.cartography import AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE

    rows = dynamics[dynamics["seed"] == dynamics["seed"].min()] if len(dynamics) else dynamics
    sources = list(dict.fromkeys(rows["train_source"])) if len(rows) else []
    columns = min(max(len(sources), 1), 4)
    lines = max(1, -(-len(sources) // columns))
    fig, axes = pyplot().subplots(lines, columns, figsize=(3.6 * columns, 3.3 * lines),
                             squeeze=False)
    if not sources:
        _empty(axes[0][0], "no fine-tuned runs yet")
    for ax, source in zip(axes.flat, sources, strict=False):
        group = rows[rows["train_source"] == source]
        for origin, part in group.groupby("origin"):
            ax.scatter(part["variability"], part["confidence"], s=9, alpha=0.6,
                       color=ORIGIN_COLOURS.get(origin, "#8172b3"), label=f"{origin} ({len(part)})")
        ax.axvline(AMBIGUOUS_VARIABILITY, color="gray", lw=0.6, ls="--")
        ax.axhline(HARD_CONFIDENCE, color="gray", lw=0.6, ls="--")
        ax.set_xlim(0, 0.55)
        ax.set_ylim(0, 1)
        ax.set_title(source, fontsize=9)
        ax.set_xlabel("variability")
        ax.set_ylabel("confidence")
        ax.legend(fontsize=6, loc="lower right")
    for ax in list(axes.flat)[max(len(sources), 1):]:  # unused cells of the grid
        ax.set_visible(False)
    fig.suptitle(f"{task}: data map (easy top left, hard bottom left, ambiguous right)",
                 fontsize=10)
    return save(fig, path)


def learning_curves(points: pd.DataFrame, equivalents: pd.DataFrame, task: str,
                    path: Path) -> Path:
    """One panel per classifier: the real learning curve (macro-F1 against real texts per
    label, log2 axis) with its 95% band; each generated source's own curve (25/50/100% of
    its rows) in its colour; each synthetic source's macro-F1 as a dashed horizontal line,
    its real-data equivalent marked where it meets the real curve (`curves`)."""
    classifiers = sorted(set(points["classifier"])) if len(points) else []
    fig, axes = pyplot().subplots(1, max(len(classifiers), 1), figsize=(5.2 * max(len(classifiers), 1),
                                                                    3.8), squeeze=False)
    if not classifiers:
        _empty(axes[0][0], "no learning curves yet")
    for ax, classifier in zip(axes.flat, classifiers, strict=False):
        mine = points[points["classifier"] == classifier]
        real = mine[mine["curve"] == "real"].sort_values("n_per_label")
        ax.plot(real["n_per_label"], real["macro_f1"], "o-", color=ORIGIN_COLOURS["real"],
                label="real")
        ax.fill_between(real["n_per_label"], real["low"], real["high"], alpha=0.2,
                        color=ORIGIN_COLOURS["real"], lw=0)
        for source, own in mine[mine["curve"] != "real"].groupby("curve"):
            own = own.sort_values("share")
            ax.errorbar(own["n_per_label"], own["macro_f1"],
                        yerr=[own["macro_f1"] - own["low"], own["high"] - own["macro_f1"]],
                        fmt="s-", ms=4, capsize=2, color=ORIGIN_COLOURS.get(source, "#8172b3"),
                        label=f"{source} (25/50/100% of its rows)")
        worth = equivalents[equivalents["classifier"] == classifier] if len(equivalents) \
            else equivalents
        for k, row in enumerate(worth.itertuples()):
            colour = ORIGIN_COLOURS.get(row.train_source, f"C{k + 3}")
            ax.axhline(row.macro_f1, color=colour, ls="--", lw=0.9)
            if pd.notna(row.equivalent):
                ax.plot([row.equivalent], [row.macro_f1], "v", color=colour, ms=8)
            ax.annotate(f"{row.train_source}: {row.reading}", (0.01, row.macro_f1),
                        xycoords=("axes fraction", "data"), fontsize=6, color=colour,
                        va="bottom")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training texts per label")
        ax.set_ylabel("macro-F1 (real test split)")
        ax.set_title(classifier, fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
    fig.suptitle(f"{task}: learning curves and real-data equivalents (95% intervals)",
                 fontsize=10)
    return save(fig, path)


def learning_curve_figure(lake, task: str) -> Path:
    """`learning_curves` of one task drawn from the lake (the asset and the report)."""
    where = {"task": task}
    points, worth = (lake.read(name, where=where).to_pandas() if lake.exists(name)
                     else pd.DataFrame() for name in ("learning_curves", "real_equivalents"))
    return learning_curves(points, worth, task, lake.reports() / f"learning_curves_{task}.png")


def coverage(frame: pd.DataFrame, task: str, path: Path) -> Path:
    """A heat map of `attribute_coverage`: one row per attribute value (grouped by
    dimension), one column per label (and method, where several record values); colour
    the label fidelity (red: the judge rarely finds the label), each cell annotated
    "accepted/requested"; grey where the value does not apply or nothing was judged."""
    import numpy as np

    fig_height = 1.2 + 0.24 * max(len(frame.groupby(["dimension", "value"])), 1)
    fig, ax = pyplot().subplots(figsize=(max(5.0, 1.3 * frame["label"].nunique() + 3), fig_height))
    if frame.empty:
        _empty(ax, "no rows record attribute values yet")
        return save(fig, path)
    several = frame["method"].nunique() > 1
    cells = frame.assign(row=frame["dimension"] + ": " + frame["value"],
                         column=(frame["method"] + "\n" if several else "") + frame["label"])
    rows = list(dict.fromkeys(cells.sort_values(["dimension", "value"])["row"]))
    columns = sorted(set(cells["column"]))
    grid = np.full((len(rows), len(columns)), np.nan)
    for cell in cells.itertuples():
        i, j = rows.index(cell.row), columns.index(cell.column)
        grid[i, j] = cell.fidelity if pd.notna(cell.fidelity) else np.nan
        ax.text(j, i, f"{cell.accepted}/{cell.requested}", ha="center", va="center", fontsize=6)
    cmap = pyplot().get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(columns)), columns, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=6)
    fig.colorbar(image, ax=ax, label="label fidelity (judge finds the label)", shrink=0.8)
    ax.set_title(f"{task}: coverage (cells: accepted/requested)", fontsize=9)
    return save(fig, path)


def rounds(frame: pd.DataFrame, task: str, path: Path) -> Path:
    """Macro-F1 on the real test split after each error-driven round, with its 95%
    bootstrap interval, and the seed-pool texts the round's classifier got wrong."""
    fig, ax = pyplot().subplots(figsize=(5.5, 3.4))
    if frame.empty:
        _empty(ax, "no error-driven rounds yet")
        return save(fig, path)
    ax.errorbar(frame["round"], frame["macro_f1"],
                yerr=[frame["macro_f1"] - frame["macro_f1_low"],
                      frame["macro_f1_high"] - frame["macro_f1"]],
                fmt="o-", capsize=3, color=ORIGIN_COLOURS["real"])
    for row in frame.itertuples():
        ax.annotate(f"n={row.n_train}, {row.validation_errors} wrong", (row.round, row.macro_f1),
                    fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.set_xticks(frame["round"])
    ax.set_xlabel("round (0: the start sample)")
    ax.set_ylabel("macro-F1 (real test, logreg)")
    ax.set_title(f"{task}: error-driven rounds (95% intervals)", fontsize=9)
    return save(fig, path)
