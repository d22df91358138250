"""One readable page from the lake: headline table, plots and provenance.

`build_report(lake)` writes `<lake>/_reports/report.md` and its PNG plots beside it;
every number comes from a query over the lake (the SQL files in `sql/`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthlake.analysis import plots
from synthlake.lake import Lake, query_file
from synthlake.subjectivity import ranking as subjectivity
from synthlake.subjectivity.reliability import SIGNAL_CONSISTENCY


def markdown(frame: pd.DataFrame | list[dict],
             empty: str = "_(no data yet: materialize the upstream assets)_") -> str:
    """A Markdown table (pipes escaped, cells on one line and capped at 160 characters);
    the one table writer of the README, the report, the CLI and Dagster metadata."""
    frame = pd.DataFrame(frame) if isinstance(frame, list) else frame
    if frame.empty:
        return empty

    def cell(value) -> str:
        text = "" if not isinstance(value, list | dict) and pd.isna(value) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:160]

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def headline_markdown(lake: Lake) -> str:
    """The headline table (`headline.sql`) as Markdown: the CLI, the README block and the
    demo print the same."""
    return markdown(query_file(lake, "headline.sql"))


def provenance(lake: Lake) -> pd.DataFrame:
    rows = []
    for table in lake.tables():
        history = lake.history(table)[0]
        rows.append({"table": table, "delta_version": lake.version(table),
                     "last_run_id": history.get("run_id", ""),
                     "written_at": pd.Timestamp(history["timestamp"], unit="ms", tz="UTC")
                     .strftime("%Y-%m-%d %H:%M:%S")})
    return pd.DataFrame(rows)


def label_fidelity_note(fidelity: pd.DataFrame) -> str:
    """Where the kept rows carry their label distinguishably less often than genuine
    texts do, by the real-data oracle (a judge that did not filter): its post-filter
    interval wholly below its own interval on held-out real texts of the label."""
    if fidelity.empty:
        return "No label fidelity measured yet."
    oracle = fidelity[fidelity["judge"] == "real_oracle"]
    after = oracle[oracle["filter"] == "after"]
    ceiling = oracle[oracle["filter"] == "real_heldout"][["task", "method", "label", "low", "high"]]
    paired = after.merge(ceiling, on=["task", "method", "label"], suffixes=("", "_real"))
    if paired.empty:
        return "No post-filter fidelity beside a ceiling on real texts yet."
    short = paired[paired["high"] < paired["low_real"]]
    if short.empty:
        return ("After the filter, `real_oracle` finds the requested label in the kept rows "
                "as often as in held-out real texts of the label (intervals overlap) for "
                "every task, method and label.")
    listing = "; ".join(f"{r.task}/{r.method}/{r.label} {r.agree}/{r.named} ({r.low:.2f} to "
                        f"{r.high:.2f}; real {r.low_real:.2f} to {r.high_real:.2f})"
                        for r in short.itertuples())
    return ("**Kept rows carry their label distinguishably less often than real texts** "
            f"(by `real_oracle`, which did not filter): {listing}.")


def ranking_notes(rankings: pd.DataFrame) -> str:
    """A sentence for each ranking without signal: it is shown, not drawn from."""
    if rankings.empty:
        return ""
    silent = rankings[rankings["rank"] == "no signal"].groupby("ranking")[
        ["consistency", "pairs"]].first()
    return "".join(f"\n> **The {name} ranking has no signal** (order consistency "
                   f"{row.consistency:.2f} over {row.pairs:.0f} pairs asked in both orders, under "
                   f"{SIGNAL_CONSISTENCY}): no rank, stars or correlation is drawn from it.\n"
                   for name, row in silent.iterrows())


def diversity_note(frame: pd.DataFrame) -> str:
    """Per task, the most and least diverse source by remote clique at the equal n, said
    as "above" only where the two 95% jackknife intervals do not overlap."""
    if frame.empty:
        return ""
    sentences = []
    sources = frame.drop_duplicates(["task", "source"]).dropna(subset=["rc_low"])
    for task, group in sources.groupby("task"):
        ranked = group.sort_values("remote_clique", ascending=False)
        top, bottom = ranked.iloc[0], ranked.iloc[-1]
        if top["source"] == bottom["source"]:
            continue
        apart = top["rc_low"] > bottom["rc_high"]
        verdict = ("more diverse than" if apart else
                   "not distinguishable (overlapping intervals) from")
        sentences.append(f"{task} (n = {int(top['n'])} per source): {top['source']} "
                         f"{top['remote_clique']:.3f} [{top['rc_low']:.3f}, {top['rc_high']:.3f}] "
                         f"is {verdict} {bottom['source']} {bottom['remote_clique']:.3f} "
                         f"[{bottom['rc_low']:.3f}, {bottom['rc_high']:.3f}].")
    return "\n".join(f"- {s}" for s in sentences)


def per_task(lake: Lake, table: str, draw, path: Path) -> dict[str, Path]:
    """task -> the figure `draw(rows, task, file)` makes of a stored table's rows of that
    task, written to `path` with `{}` standing for the task (none: no table yet)."""
    if not lake.exists(table):
        return {}
    return {task: draw(group, task, path.with_name(path.name.format(task)))
            for task, group in lake.read(table).to_pandas().groupby("task")}


def build_report(lake: Lake) -> tuple[Path, dict[str, Path]]:
    folder = plots.reports_dir(lake)
    con = lake.connect()
    headline = query_file(lake, "headline.sql", con)
    compared = query_file(lake, "comparisons.sql", con)
    gap = query_file(lake, "gap_vs_subjectivity.sql", con)
    gaps_by_task = query_file(lake, "gaps_by_task.sql", con)
    rankings = query_file(lake, "rankings.sql", con)
    proxy_table = query_file(lake, "objectivity_proxies.sql", con)
    side_by_side = query_file(lake, "rankings_side_by_side.sql", con)
    taus = subjectivity.ranking_agreement(con.sql("SELECT * FROM rankings").df())
    gamma = query_file(lake, "accuracy_vs_agreement.sql", con)
    diversity = query_file(lake, "diversity_vs_gap.sql", con)
    covered = per_task(lake, "attribute_coverage", plots.coverage, folder / "coverage_{}.png")
    error_rounds = query_file(lake, "error_rounds.sql", con)
    rounds_drawn = per_task(lake, "error_rounds", plots.rounds, folder / "rounds_{}.png")
    fidelity = query_file(lake, "label_fidelity.sql", con)
    fidelity_note = label_fidelity_note(fidelity)
    filter_effect = query_file(lake, "filter_effect.sql", con)
    maps = per_task(lake, "training_dynamics", plots.data_map, folder / "data_map_{}.png")
    worth = query_file(lake, "real_equivalents.sql", con)
    curve_tasks = con.sql("SELECT DISTINCT task FROM learning_curves ORDER BY 1").df()["task"]
    curves_drawn = {task: plots.learning_curve_figure(lake, task) for task in curve_tasks}
    figures = {
        **{f"data_map_{task}": png for task, png in maps.items()},
        **{f"learning_curves_{task}": png for task, png in curves_drawn.items()},
        **{f"coverage_{task}": png for task, png in covered.items()},
        **{f"rounds_{task}": png for task, png in rounds_drawn.items()},
        "gap_vs_subjectivity": plots.gap_vs_subjectivity(gaps_by_task,
                                                         folder / "gap_vs_subjectivity.png"),
        "accuracy_vs_gamma": plots.accuracy_vs_gamma(gamma, folder / "accuracy_vs_gamma.png"),
        "diversity_vs_gap": plots.diversity_vs_gap(diversity, folder / "diversity_vs_gap.png"),
    }
    models = con.sql("SELECT DISTINCT model FROM llm_responses").df()["model"].tolist() \
        if "llm_responses" in lake.tables() else []
    ranking_note = ranking_notes(rankings)
    rounds_images = "\n\n".join(f"![error-driven rounds of {task}]({png.name})"
                                  for task, png in rounds_drawn.items())
    coverage_images = "\n\n".join(f"![coverage of {task}]({png.name})"
                                    for task, png in covered.items())
    curve_images = "\n\n".join(f"![learning curves of {task}]({png.name})"
                                 for task, png in curves_drawn.items())
    data_maps = "\n\n".join(f"![data map of {task}]({png.name})" for task, png in maps.items()) \
        or "No fine-tuned runs yet."
    text = f"""# synthlake report

Can synthetic data from an LLM replace real labelled data? The method of Li et al.,
EMNLP 2023, run on this lake. Generator model(s): {", ".join(models) or "none yet"}.

## Label fidelity: do the synthetic texts carry their label?

The share of synthetic rows that a judge assigns the label they were generated for, with
the n behind it and a 95% Wilson interval, `before` the label filter (every row that
passed the other checks) and `after` it (the rows it kept: what `zero_shot` and
`few_shot` train on; `*_unfiltered` train on as many rows per label drawn from `before`).
`seed_classifier` learns only from the few-shot seed pool; `real_oracle` learns from the
whole real train split and is a diagnostic, never a filter; `llm` asks the model.
`named_a_label` is the share of rows a judge put in any label at all: a judge that mostly
answers outside the labels (the embedded 135M model does) has no signal, whatever its
agreement, and its `unknown` keeps a row (it abstains).

{fidelity_note}

What the filter changes (macro-F1 on the real test split, mean and std over seeds, of
classifiers trained on the kept rows and on as many rows per label from before the
filter; the difference's 95% paired-bootstrap interval, "not distinguishable" where it
contains 0):

{markdown(filter_effect) if not filter_effect.empty else "The filter rejected nothing."}

{markdown(fidelity)}

## Data maps (dataset cartography)

Each training row of a fine-tuned classifier (first seed) at its variability and
confidence over the epochs: the probability the model gave its label in each epoch's
training pass. Rows low on the map are consistently read as another label (where mislabelled
rows land); rows to the right keep changing (ambiguous). Real and synthetic rows are in
different colours. Rows per region are in `training_dynamics`.

{data_maps}

## Real vs synthetic (macro-F1 and accuracy on the real test split)

{markdown(headline)}

Each source against its baselines on the same test texts (paired bootstrap, pooled over
seeds): a difference whose 95% interval contains 0 is "not distinguishable", whatever
the means say. The interval resamples the test texts for the models trained; the
variation between training seeds is the std in the table above, not in it.

{markdown(compared)}

## How many real labelled texts is a synthetic set worth?

The real learning curve of each classifier (macro-F1 on the real test split against real
training texts per label, 4, 8, 16, ...; mean over seeds with its 95% band), each
generated source on 25%, 50% and 100% of its rows (still rising at 100%: more synthetic
data would still help), and each synthetic source's macro-F1 as a dashed line, marked where
it meets the real curve: its **real-data equivalent**, with the 95% interval from the same
test-set bootstrap. A score off the curve is said as such, never extrapolated.

{markdown(worth, "No learning curves yet.")}

{curve_images}

## Subjectivity and the gap

Every ranking of the tasks by objectivity, with its judge's reliability: the order
consistency (share of pairs whose winner survives swapping the order) and the share of
answers naming the first-shown task. An LLM judge is a stand-in for the paper's crowd
study, not the same thing.
{ranking_note}
{markdown(rankings, "No ranking yet.")}

Objectivity **proxies** from real data alone, each a stand-in rather than a judgment
(`objectivity_proxies`): annotator agreement (mean a_i, where a task has annotations) and
surface predictability (macro-F1 of a bag-of-words classifier over that of the reference
classifier on the same real texts: the label follows from identifiable words), with 95%
bootstrap intervals and the n behind them.

{markdown(proxy_table, "No proxies yet: materialize `objectivity_proxies`.")}

Every ranking side by side (score, higher = more objective; none where a ranking has no
signal), and Kendall's tau between each pair over the tasks both rank:

{markdown(side_by_side, "No rankings yet.")}

{markdown(taus.round(3), "Fewer than two rankings: nothing to compare.")}

The gap (real_full minus the synthetic source's macro-F1) against each ranking:
Spearman's rho (positive: the gap grows with subjectivity), its 95% interval from
resampling tasks, and the number of tasks behind it.

{markdown(gap, "No gaps and rankings to correlate yet.")}

![gap against subjectivity](gap_vs_subjectivity.png)

## Instance-level subjectivity

Accuracy on test examples whose annotator agreement is at least γ.

![accuracy against agreement](accuracy_vs_gamma.png)

{markdown(gamma)}

## Diversity and the gap on an equal budget

Every source at the same number of texts per task (the smallest source's, pooled over
labels), remote clique and chamfer with 95% jackknife intervals, beside each classifier's
macro-F1 (95% bootstrap interval) and the texts it learned from (`equal_budget`: every
generated source had as many). `sql/diversity_vs_gap.sql`.

{diversity_note(diversity)}

{markdown(diversity)}

![diversity against the gap](diversity_vs_gap.png)

## Error-driven rounds

Each round's classifier (logistic regression on frozen embeddings) on the real test split,
with its 95% bootstrap interval and the paired change from the round before ("not
distinguishable" where its interval contains 0). `sql/error_rounds.sql`.

{markdown(error_rounds, "No error-driven rounds yet: materialize `generate_error_driven`.")}

{rounds_images}

## Coverage of the attribute values

Per label and attribute value of the attributed generation: answers asked for it and
accepted (cells), and the share in which the label filter's judge found the label
(colour; grey: nothing judged). `sql/attribute_coverage.sql` lists the cells where
nothing was accepted or the fidelity interval lies below the task's bar.

{coverage_images or "No rows record attribute values yet: materialize `attributes`, "
 "`generate_attributed` and `attribute_coverage`."}

## Provenance

{markdown(provenance(lake))}
"""
    path = folder / "report.md"
    path.write_text(text)
    return path, figures
