"""One readable page from the lake: headline table, plots and provenance.

The page is a list of `Section`s (`SECTIONS`: one short function each, title, words,
tables, figures); `build_report(lake)` writes them to `<lake>/_reports/report.md` with
their PNG plots beside it, and `make demo` prints the same sections' text. Every number
comes from a query over the lake (the SQL files in `sql/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
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


@dataclass
class Section:
    """One part of the report: a title, what it shows in words, then its parts in order
    (Markdown tables and sentences) and its figures (PNG files in the report folder).
    The report page renders every section; `make demo` prints the same sections' text."""

    title: str
    intro: str
    parts: list[str]
    figures: dict[str, Path] = field(default_factory=dict)
    has_data: bool = True  # False: every part says what to materialize first
    terminal: bool = True  # False: too long or only pictures, for the page alone

    def markdown(self) -> str:
        images = [f"![{name.replace('_', ' ')}]({png.name})" for name, png in self.figures.items()]
        return "\n\n".join([f"## {self.title}", self.intro, *filter(None, self.parts), *images])

    def text(self) -> str:
        """For a terminal: the title, the words and the tables, without the images."""
        return "\n\n".join([f"== {self.title}", self.intro, *filter(None, self.parts)])


@dataclass
class Sources:
    """What every section reads: the lake, one DuckDB connection over it, and the
    folder figures are drawn into (None: draw nothing, as for a terminal)."""

    lake: Lake
    con: duckdb.DuckDBPyConnection
    folder: Path | None

    def query(self, name: str) -> pd.DataFrame:
        return query_file(self.lake, name, self.con)

    def per_task(self, table: str, draw, name: str) -> dict[str, Path]:
        """`{name}_{task}` -> the figure `draw(rows, task, file)` makes of a stored
        table's rows of that task (none: no table yet, or no folder to draw into)."""
        if self.folder is None or not self.lake.exists(table):
            return {}
        return {f"{name}_{task}": draw(group, task, self.folder / f"{name}_{task}.png")
                for task, group in self.lake.read(table).to_pandas().groupby("task")}

    def figure(self, name: str, draw, *args) -> dict[str, Path]:
        """`name` -> `draw(*args, file)` (none without a folder)."""
        return {} if self.folder is None else {name: draw(*args, self.folder / f"{name}.png")}


def label_fidelity(src: Sources) -> Section:
    fidelity = src.query("label_fidelity.sql")
    filter_effect = src.query("filter_effect.sql")
    return Section(
        "Label fidelity: do the synthetic texts carry their label?",
        """The share of synthetic rows that a judge assigns the label they were generated for, with
the n behind it and a 95% Wilson interval, `before` the label filter (every row that
passed the other checks), `after` it (the rows it kept: what `zero_shot` and `few_shot`
train on; `*_unfiltered` train on as many rows per label drawn from `before`; independent
judges only, since the judge that filtered agrees with what it kept by construction) and
on `real_heldout` texts (the judge's ceiling; `rejected` there is the filter's
false-rejection rate). `seed_classifier` learns only from the few-shot seed pool;
`real_oracle` learns from the whole real train split and is a diagnostic, never a
filter; `llm` asks the model. `named_a_label` is the share of rows a judge put in any
label at all: a judge that mostly answers outside the labels (the embedded 135M model
does) has no signal, whatever its agreement, and its `unknown` keeps a row (it abstains).""",
        [label_fidelity_note(fidelity), markdown(fidelity),
         "What the filter changes (macro-F1 on the real test split, mean and std over seeds, of "
         "classifiers trained on the kept rows and on as many rows per label from before the "
         "filter; the difference's 95% paired-bootstrap interval, \"not distinguishable\" "
         "where it contains 0):",
         markdown(filter_effect) if not filter_effect.empty else "The filter rejected nothing."],
        has_data=not fidelity.empty)


def data_maps(src: Sources) -> Section:
    maps = src.per_task("training_dynamics", plots.data_map, "data_map")
    return Section(
        "Data maps (dataset cartography)",
        """Each training row of a fine-tuned classifier (first seed) at its variability and
confidence over the epochs: the probability the model gave its label in each epoch's
training pass. Rows low on the map are consistently read as another label (where mislabelled
rows land); rows to the right keep changing (ambiguous). Real and synthetic rows are in
different colours. Rows per region are in `training_dynamics`.""",
        [] if maps or src.folder is None else ["No fine-tuned runs yet."], maps,
        has_data=src.lake.exists("training_dynamics"), terminal=False)


def real_vs_synthetic(src: Sources) -> Section:
    headline = src.query("headline.sql")
    return Section(
        "Real vs synthetic (macro-F1 and accuracy on the real test split)",
        """Macro-F1 and accuracy: mean ± std over seeds [95% interval over test texts x training
draws]; `training_texts` says whether a source drew its own texts per seed or is one fixed
set (which carries one real draw's spread; `covers` in `sql/headline.sql` says what was
resampled); the gap to all real data with its interval; `real_equivalent`: what a
synthetic source is worth in real texts per label.""",
        [markdown(headline),
         "Each source against its baselines on the same test texts (paired bootstrap over test "
         "texts x training draws): a difference whose 95% interval contains 0 is \"not "
         "distinguishable\", whatever the means say.",
         markdown(src.query("comparisons.sql"))],
        has_data=not headline.empty)


def worth(src: Sources) -> Section:
    equivalents = src.query("real_equivalents.sql")
    tasks = ([] if src.folder is None or not src.lake.exists("learning_curves") else
             src.con.sql("SELECT DISTINCT task FROM learning_curves ORDER BY 1").df()["task"])
    curves = {f"learning_curves_{task}": plots.learning_curve_figure(src.lake, task)
              for task in tasks}
    return Section(
        "How many real labelled texts is a synthetic set worth?",
        """The real learning curve of each classifier (macro-F1 on the real test split against real
training texts per label, 4, 8, 16, ...; mean over seeds with its 95% band), each
generated source on 25%, 50% and 100% of its rows (still rising at 100%: more synthetic
data would still help), and each synthetic source's macro-F1 as a dashed line, marked where
it meets the real curve: its **real-data equivalent**, with the 95% interval over test
texts x training draws. A score off the curve is said as such, never extrapolated.""",
        [markdown(equivalents, "No learning curves yet.")], curves,
        has_data=not equivalents.empty)


def subjectivity_and_gap(src: Sources) -> Section:
    rankings = src.query("rankings.sql")
    taus = subjectivity.ranking_agreement(src.con.sql("SELECT * FROM rankings").df())
    gaps_by_task = src.query("gaps_by_task.sql")
    return Section(
        "Subjectivity and the gap",
        """Every ranking of the tasks by objectivity, with its judge's reliability: the order
consistency (share of pairs whose winner survives swapping the order) and the share of
answers naming the first-shown task. An LLM judge is a stand-in for the paper's crowd
study, not the same thing.""",
        [ranking_notes(rankings), markdown(rankings, "No ranking yet."),
         "Objectivity **proxies** from real data alone, each a stand-in rather than a judgment "
         "(`objectivity_proxies`): annotator agreement (mean a_i, where a task has annotations) "
         "and surface predictability (macro-F1 of a bag-of-words classifier over that of the "
         "reference classifier on the same real texts: the label follows from identifiable "
         "words), with 95% bootstrap intervals and the n behind them.",
         markdown(src.query("objectivity_proxies.sql"),
                  "No proxies yet: materialize `objectivity_proxies`."),
         "Every ranking side by side (score, higher = more objective; empty for a ranking "
         "without signal), and Kendall's tau between each pair over the tasks both rank:",
         markdown(src.query("rankings_side_by_side.sql"), "No rankings yet."),
         markdown(taus.round(3), "Fewer than two rankings: nothing to compare."),
         "The gap (real_full minus the synthetic source's macro-F1) against each ranking: "
         "Spearman's rho (positive: the gap grows with subjectivity), its 95% interval from "
         "resampling tasks, and the number of tasks behind it.",
         markdown(src.query("gap_vs_subjectivity.sql"), "No gaps and rankings to correlate yet.")],
        src.figure("gap_vs_subjectivity", plots.gap_vs_subjectivity, gaps_by_task),
        has_data=not rankings.empty)


def instance_level(src: Sources) -> Section:
    gamma = src.query("accuracy_vs_agreement.sql")
    return Section(
        "Instance-level subjectivity",
        "Accuracy on test examples whose annotator agreement is at least γ, with its 95% "
        "Wilson interval and the n behind it.",
        [markdown(gamma)], src.figure("accuracy_vs_gamma", plots.accuracy_vs_gamma, gamma),
        has_data=not gamma.empty)


def diversity_and_gap(src: Sources) -> Section:
    diversity = src.query("diversity_vs_gap.sql")
    return Section(
        "Diversity and the gap on an equal budget",
        """Every source at the same number of texts per task (the smallest source's, pooled over
labels), remote clique and chamfer with 95% jackknife intervals, beside each classifier's
macro-F1 (95% bootstrap interval) and the texts it learned from (`equal_budget`: every
generated source had as many). `sql/diversity_vs_gap.sql`.""",
        [diversity_note(diversity), markdown(diversity)],
        src.figure("diversity_vs_gap", plots.diversity_vs_gap, diversity),
        has_data=not diversity.empty)


def error_rounds(src: Sources) -> Section:
    rounds = src.query("error_rounds.sql")
    return Section(
        "Error-driven rounds",
        """Each round's classifier (logistic regression on frozen embeddings) on the real test split,
with its 95% bootstrap interval and the paired change from the round before ("not
distinguishable" where its interval contains 0). `sql/error_rounds.sql`.""",
        [markdown(rounds, "No error-driven rounds yet: materialize `generate_error_driven`.")],
        src.per_task("error_rounds", plots.rounds, "rounds"), has_data=not rounds.empty)


def coverage(src: Sources) -> Section:
    cells = src.query("attribute_coverage.sql")
    failing = cells if cells.empty else cells[cells["verdict"] != ""]
    return Section(
        "Coverage of the attribute values",
        """Per label and attribute value of the attributed generation: answers asked for it and
accepted (cells), and the share in which the label filter's judge found the label
(colour; grey: nothing judged). The cells where nothing was accepted or the fidelity
interval lies below the task's bar (`sql/attribute_coverage.sql`):""",
        [markdown(failing, "No rows record attribute values yet: materialize `attributes`, "
                  "`generate_attributed` and `attribute_coverage`." if cells.empty else
                  "None: every value was accepted and carried its label.")],
        src.per_task("attribute_coverage", plots.coverage, "coverage"),
        has_data=not cells.empty)


def provenance_section(src: Sources) -> Section:
    return Section("Provenance", "Every table: its Delta version, the run that last wrote it, when.",
                   [markdown(provenance(src.lake))], terminal=False)


SECTIONS = (label_fidelity, data_maps, real_vs_synthetic, worth, subjectivity_and_gap,
            instance_level, diversity_and_gap, error_rounds, coverage, provenance_section)


def sections(lake: Lake, folder: Path | None = None,
             con: duckdb.DuckDBPyConnection | None = None) -> list[Section]:
    """Every section of the report, read from the lake (figures drawn into `folder`)."""
    src = Sources(lake, con or lake.connect(), folder)
    return [build(src) for build in SECTIONS]


def build_report(lake: Lake) -> tuple[Path, dict[str, Path]]:
    """Write `<lake>/_reports/report.md` with its figures; returns its path and the
    figures by name."""
    folder, con = lake.reports(), lake.connect()
    parts = sections(lake, folder, con)
    models = (con.sql("SELECT DISTINCT model FROM llm_responses").df()["model"].tolist()
              if "llm_responses" in lake.tables() else [])
    text = "\n\n".join([
        "# synthlake report",
        "Can synthetic data from an LLM replace real labelled data? The method of Li et al., "
        f"EMNLP 2023, run on this lake. Generator model(s): {', '.join(models) or 'none yet'}.",
        *(section.markdown() for section in parts)]) + "\n"
    path = folder / "report.md"
    path.write_text(text)
    return path, {name: png for section in parts for name, png in section.figures.items()}
