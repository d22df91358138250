"""Subjectivity: a task ranking from pairwise judgments, and per-instance agreement.

Task level (the paper's crowd study): judges see two tasks (description, label
descriptions, examples) and pick the more *objective* one. `pairwise_judgments` columns:

    task_a | task_b | winner (task_a, task_b, or "tie") | judge_id | judge_kind (human / llm)
    | p_a (an LLM judge's probability of task_a, shown as "A", where the endpoint returns
      token logprobs: P(A) / (P(A) + P(B)) of the answer's first token; else null)

Where p_a is known, Bradley-Terry counts it as a soft win (p_a for task_a, 1 - p_a for
task_b) and, as every pair is asked in both orders, the probabilities are averaged over
both orders, which cancels a position bias; otherwise the letter answered counts.

A Bradley-Terry model turns them into `task_subjectivity`:

    task | objectivity | subjectivity_rank | stars | n_judgments | method

`objectivity` is the log-strength of "judged more objective" (mean 0). Rank 1 is the
most objective task; stars run from 1 (most objective) to 5 (most subjective), as in
the paper. Policy: a tie counts as half a win for each side; every pair of tasks also
gets `prior` virtual ties (default 0.5), which keeps scores finite for a task that
always wins and ties together tasks never compared; a task never compared at all gets
score 0 and is reported. `method` says whether the judges were people or an LLM, and
an LLM ranking is labelled as such wherever it is shown.

Instance level: `instance_agreement` (task | example_id | n_annotators | agreement),
with agreement a_i = share of annotators choosing the majority label (from rater rows),
or the value of a provided agreement level (Financial PhraseBank).
`instance_level_results`: accuracy and macro-F1 of every training source and classifier
on the test examples with a_i >= gamma, for a grid of gamma.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake import catalog, settings
from synthlake.catalog import TaskSpec
from synthlake.lake import Lake
from synthlake.subjectivity import reliability

GAMMAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
OBJECTIVE_DEFINITION = (
    "A task is objective when the label follows from clear, identifiable features of the "
    "text, such as keywords or phrases, and needs no personal interpretation shaped by "
    "biases, emotions or beliefs. A task is subjective when people may reasonably disagree "
    "on the label."
)


# -- Bradley-Terry -------------------------------------------------------------------------
def bradley_terry(judgments: pd.DataFrame, tasks: list[str], prior: float = 0.5,
                  iterations: int = 2000, tolerance: float = 1e-10) -> pd.Series:
    """Log-strengths (mean 0) by the MM algorithm of Hunter (2004)."""
    index = {t: i for i, t in enumerate(tasks)}
    k = len(tasks)
    wins = np.zeros((k, k))  # wins[i, j]: times i was judged more objective than j
    soft = judgments["p_a"] if "p_a" in judgments else pd.Series(np.nan, judgments.index)
    for row, p_a in zip(judgments.itertuples(index=False), soft, strict=True):
        a, b = index[row.task_a], index[row.task_b]
        if pd.notna(p_a):  # the judge's probabilities: a soft win for each side
            wins[a, b] += p_a
            wins[b, a] += 1 - p_a
        elif row.winner == "tie":
            wins[a, b] += 0.5
            wins[b, a] += 0.5
        elif row.winner == row.task_a:
            wins[a, b] += 1
        elif row.winner == row.task_b:
            wins[b, a] += 1
        else:
            raise ValueError(f"winner {row.winner!r} is neither {row.task_a!r}, "
                             f"{row.task_b!r} nor 'tie'")
    wins += prior / 2 * (1 - np.eye(k))
    games = wins + wins.T
    strength = np.ones(k)
    for _ in range(iterations):
        denominators = (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated = np.where(denominators > 0, wins.sum(axis=1) / np.maximum(denominators, 1e-300),
                           strength)
        updated /= np.exp(np.mean(np.log(np.maximum(updated, 1e-300))))
        if np.max(np.abs(updated - strength)) < tolerance:
            strength = updated
            break
        strength = updated
    log_strength = np.log(np.maximum(strength, 1e-300))
    return pd.Series(log_strength - log_strength.mean(), index=tasks)


def ranking(judgments: pd.DataFrame, tasks: list[str], method: str,
            prior: float = 0.5, threshold: float = reliability.SIGNAL_CONSISTENCY,
            resamples: int = reliability.RESAMPLES) -> pd.DataFrame:
    """`task_subjectivity` rows from judgments, with the judge's reliability
    (`reliability`): each score's bootstrap interval, the order consistency and position
    bias; where the consistency is under `threshold` the ranking has no signal and gets
    no rank and no stars."""
    known = set(tasks)
    unknown = (set(judgments["task_a"]) | set(judgments["task_b"])) - known
    if unknown:
        raise ValueError(f"judgments name tasks not in the catalogue: {sorted(unknown)}")
    scores = bradley_terry(judgments, tasks, prior)
    counts = pd.concat([judgments["task_a"], judgments["task_b"]]).value_counts()
    found = reliability.measure(judgments)
    frame = pd.DataFrame({"task": tasks, "objectivity": scores.to_numpy()}).merge(
        reliability.score_intervals(judgments, tasks, lambda j, t: bradley_terry(j, t, prior),
                                    resamples=resamples), on="task")
    frame["subjectivity_rank"] = frame["objectivity"].rank(ascending=False, method="min").astype(int)
    n = len(frame)
    frame["stars"] = (1 + np.floor(4 * (frame["subjectivity_rank"] - 1) / max(n - 1, 1))).astype(int)
    frame["n_judgments"] = [int(counts.get(t, 0)) for t in tasks]
    frame["method"] = method
    frame["consistency"] = found.consistency
    frame["pairs_both_orders"] = found.pairs_both_orders
    frame["position_first"] = found.position_first
    frame["signal"] = signal = found.signal(threshold)
    if not signal:  # nothing to rank by: no rank, no stars
        frame[["subjectivity_rank", "stars"]] = None
    return frame.sort_values(["subjectivity_rank", "objectivity"], ascending=[True, False],
                             na_position="last").reset_index(drop=True)


# -- the gap against a ranking -------------------------------------------------------------
MIN_TASKS = 4  # fewer tasks than this: a rank correlation is not estimable


def spearman(gap: np.ndarray, subjectivity: np.ndarray) -> float:
    """Spearman's rho, NaN when either side is constant (no ranking to correlate)."""
    from scipy.stats import spearmanr

    if len(set(gap)) < 2 or len(set(subjectivity)) < 2:
        return float("nan")
    return float(spearmanr(gap, subjectivity).statistic)


def gap_correlations(gaps: pd.DataFrame, rankings: pd.DataFrame, resamples: int = 1000,
                     seed: int = 0) -> list[dict]:
    """`gap_correlations` rows: per ranking, classifier and synthetic source, Spearman's
    rho between the gap (real_full minus the source's macro-F1) and subjectivity (minus
    the ranking's objectivity score: positive rho = the gap grows with subjectivity, the
    paper's finding), a 95% percentile interval from resampling tasks (a resample with a
    constant side has no rho and is left out), and the number of tasks.

    gaps:      task | classifier | train_source | gap
    rankings:  ranking | task | score (higher = more objective) | signal | consistency

    A ranking without signal, or fewer than `MIN_TASKS` tasks, gets no rho: its `reading`
    says why."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, ranked in rankings.groupby("ranking"):
        signal = bool(ranked["signal"].all())
        for (classifier, source), group in gaps.groupby(["classifier", "train_source"]):
            joined = group.merge(ranked, on="task").dropna(subset=["gap", "score"])
            gap, subjective = joined["gap"].to_numpy(), -joined["score"].to_numpy()
            row = {"ranking": name, "classifier": classifier, "train_source": source,
                   "n_tasks": len(joined), "spearman": None, "low": None, "high": None}
            if not signal:
                consistency = ranked["consistency"].iloc[0]
                row["reading"] = f"no signal (order consistency {consistency:.2f})"
            elif len(joined) < MIN_TASKS:
                row["reading"] = f"not estimable: {len(joined)} tasks (at least {MIN_TASKS})"
            else:
                picks = rng.integers(0, len(joined), (resamples, len(joined)))
                spread = np.array([spearman(gap[p], subjective[p]) for p in picks])
                low, high = np.nanpercentile(spread, [2.5, 97.5])
                row.update(spearman=spearman(gap, subjective), low=float(low), high=float(high))
                row["reading"] = (f"{row['spearman']:.2f} ({low:.2f} to {high:.2f}), "
                                  f"{len(joined)} tasks")
            rows.append(row)
    return rows


def ranking_agreement(rankings: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau (tau-b) between every pair of rankings over the tasks both rank.

    rankings:  ranking | task | score | signal | consistency   (the `rankings` view)
    returns:   ranking_a | ranking_b | n_tasks | kendall_tau | reading

    A pair including a ranking without signal, or sharing fewer than 3 tasks, gets no tau:
    its `reading` says why."""
    from scipy.stats import kendalltau

    rows = []
    names = sorted(rankings["ranking"].unique())
    for a, b in itertools.combinations(names, 2):
        left, right = (rankings[rankings["ranking"] == name] for name in (a, b))
        joined = left.merge(right, on="task").dropna(subset=["score_x", "score_y"])
        row = {"ranking_a": a, "ranking_b": b, "n_tasks": len(joined), "kendall_tau": None}
        silent = [name for name, side in ((a, left), (b, right)) if not side["signal"].all()]
        if silent:
            row["reading"] = f"no signal in {', '.join(silent)}"
        elif len(joined) < 3:
            row["reading"] = f"not estimable: {len(joined)} tasks in common (at least 3)"
        else:
            tau = float(kendalltau(joined["score_x"], joined["score_y"]).statistic)
            row.update(kendall_tau=tau, reading=f"{tau:.2f} over {len(joined)} tasks")
        rows.append(row)
    return pd.DataFrame(rows, columns=["ranking_a", "ranking_b", "n_tasks", "kendall_tau",
                                       "reading"])


# -- the LLM judge -------------------------------------------------------------------------
def task_card(spec: TaskSpec, examples: list[str]) -> str:
    labels = "; ".join(f"{lab.name}: {lab.description}" for lab in spec.labels)
    shown = "\n".join(f'  - "{text[:120]}"' for text in examples[:2])  # short: CPU prefill
    return f"Task: {spec.description}\nLabels: {labels}\nExamples:\n{shown}"


def judge_messages(card_a: str, card_b: str) -> list[dict]:
    return [
        {"role": "system", "content": "You compare text classification tasks."},
        {"role": "user", "content": (
            f"{OBJECTIVE_DEFINITION}\n\nTask A:\n{card_a}\n\nTask B:\n{card_b}\n\n"
            "Which task is more objective? Answer with one letter: A or B.")},
    ]


def option_probability(top_logprobs: dict[str, float] | None) -> float | None:
    """P(A) / (P(A) + P(B)) from the first answer token's alternatives (" A", "a", ...
    count as A); None when neither letter is among them."""
    import math

    mass = {"A": 0.0, "B": 0.0}
    for token, logprob in (top_logprobs or {}).items():
        letter = token.strip().upper()
        if letter in mass:
            mass[letter] += math.exp(logprob)
    total = mass["A"] + mass["B"]
    return mass["A"] / total if total > 0 else None


def parse_choice(answer: str | None) -> str | None:
    """'A', 'B', or None when the answer names neither (or both) clearly."""
    if not answer:
        return None
    found = set(re.findall(r"\b(?:task\s+)?([AB])\b", answer.strip()[:200]))
    return found.pop() if len(found) == 1 else None


def judge_plan(tasks: list[str], repetitions: int) -> list[tuple[str, str, int]]:
    """Every pair in both orders (to cancel position bias), `repetitions` times."""
    return [(a, b, r) for x, y in itertools.combinations(sorted(tasks), 2)
            for a, b in ((x, y), (y, x)) for r in range(repetitions)]


async def judge_with_llm(client, specs: dict[str, TaskSpec], examples: dict[str, list[str]],
                         repetitions: int = 2, temperature: float = 0.7,
                         logprobs: bool = True) -> pd.DataFrame:
    """Ask the LLM the paper's pairwise question, with the first token's top logprobs
    when `logprobs` (an endpoint that returns them gives p_a); unparseable answers
    without probabilities become ties (kept countable in `raw_answer`)."""
    import asyncio

    from synthlake.llm import ChatRequest

    cards = {name: task_card(specs[name], examples.get(name, [])) for name in specs}
    plan = judge_plan(list(specs), repetitions)

    async def one(a: str, b: str, rep: int) -> dict:
        params = {"temperature": temperature, "max_tokens": 8, "seed": rep,
                  **({"logprobs": True, "top_logprobs": 5} if logprobs else {})}
        request = ChatRequest("_subjectivity", "judge", judge_messages(cards[a], cards[b]),
                              params, slot=f"{a}|{b}|{rep}")
        response = await client.complete(request)
        p_a = option_probability(response.top_logprobs)
        if p_a is None:
            winner = {"A": a, "B": b}.get(parse_choice(response.text) or "", "tie")
        else:
            winner = a if p_a > 0.5 else b if p_a < 0.5 else "tie"
        return {"task_a": a, "task_b": b, "winner": winner, "judge_id": client.model_label,
                "judge_kind": "llm", "p_a": p_a, "raw_answer": (response.text or "")[:100],
                "repetition": rep}

    rows = await asyncio.gather(*[one(a, b, r) for a, b, r in plan])
    return pd.DataFrame(rows)


# -- instance level --------------------------------------------------------------------------
def instance_agreement(annotations: pd.DataFrame) -> pd.DataFrame:
    """task | example_id | n_annotators | agreement, from `real_annotations` rows."""
    columns = ["task", "example_id", "n_annotators", "agreement"]
    if annotations.empty:
        return pd.DataFrame(columns=columns)
    levels = annotations[annotations["kind"] == "agreement_levels"]
    out = [levels.groupby(["task", "example_id"], as_index=False)["agreement"].max()
           .assign(n_annotators=pd.NA)]
    raters = annotations[(annotations["kind"] == "rater_rows") & annotations["label"].notna()]
    if not raters.empty:
        def majority_share(labels: pd.Series) -> float:
            return labels.value_counts().iloc[0] / len(labels)

        grouped = raters.groupby(["task", "example_id"])["label"]
        rated = pd.DataFrame({"n_annotators": grouped.size(),
                              "agreement": grouped.agg(majority_share)}).reset_index()
        out.append(rated[rated["n_annotators"] >= 2])  # one rater agrees with no one
    return pd.concat(out, ignore_index=True)[columns]


def instance_level_results(predictions: pd.DataFrame, agreement: pd.DataFrame,
                           labels: list[str], gammas=GAMMAS) -> pd.DataFrame:
    """Accuracy and macro-F1 per source, classifier and gamma (means over seeds)."""
    from synthlake.evaluation.train import metrics

    joined = predictions.merge(agreement[["example_id", "agreement"]], on="example_id")
    index = {lab: i for i, lab in enumerate(labels)}
    rows = []
    keys = ["task", "train_source", "classifier", "seed"]
    for (task, source, classifier, seed), group in joined.groupby(keys):
        for gamma in gammas:
            kept = group[group["agreement"] >= gamma - 1e-9]
            if kept.empty:
                continue
            result = metrics([index[g] for g in kept["gold"]],
                             [index[p] for p in kept["predicted"]], labels)
            rows.append({"task": task, "train_source": source, "classifier": classifier,
                         "seed": seed, "gamma": gamma, "n": len(kept),
                         "accuracy": result["accuracy"], "macro_f1": result["macro_f1"]})
    return pd.DataFrame(rows)



# -- against the lake -------------------------------------------------------------------------
JUDGMENT_COLUMNS = ["task_a", "task_b", "winner", "judge_id", "judge_kind", "p_a"]


def as_judgments(frame: pd.DataFrame) -> pd.DataFrame:
    """`pairwise_judgments` columns (p_a null where a judge gave no probability)."""
    return frame.reindex(columns=JUDGMENT_COLUMNS).astype({"p_a": float})


def read_judgments_file(path) -> pd.DataFrame:
    """Human judgments from CSV or Parquet: task_a, task_b, winner, judge_id."""
    from pathlib import Path

    from synthlake.realdata import RealDataError, read_table_file

    frame = read_table_file(Path(path))
    missing = [c for c in ("task_a", "task_b", "winner", "judge_id") if c not in frame.columns]
    if missing:
        raise RealDataError(f"{path}: missing columns {missing} (columns: {list(frame.columns)})")
    return as_judgments(frame.assign(judge_kind=frame.get("judge_kind", "human")))


def card_examples(lake, specs: dict[str, TaskSpec], seed: int = 0, k: int = 3) -> dict[str, list[str]]:
    """`k` real train texts per task (seeded) for the task cards; none for a task whose
    real data is not in the lake."""
    examples: dict[str, list[str]] = {name: [] for name in specs}
    if not lake.exists("real_examples"):
        return examples
    for name in specs:
        real = lake.read("real_examples", where={"task": name, "split": "train"},
                         columns=["text"]).to_pandas()
        examples[name] = real["text"].sample(n=min(k, len(real)), random_state=seed).tolist()
    return examples


def random_pairs(tasks: list[str], n: int, seed: int | None = None) -> list[tuple[str, str]]:
    """`n` pairs of distinct tasks in a random order each, the pairs least shown first
    (every pair before any repeats)."""
    rng = np.random.default_rng(seed)
    pairs = list(itertools.combinations(sorted(tasks), 2))
    chosen: list[tuple] = []
    while len(chosen) < n:
        for i in rng.permutation(len(pairs))[: n - len(chosen)]:
            a, b = pairs[i]
            chosen.append((a, b) if rng.random() < 0.5 else (b, a))
    return chosen


class JudgeConfig(BaseModel):
    """Where `pairwise_judgments` come from: human judgments from a file (CSV/Parquet:
    task_a, task_b, winner, judge_id), or an LLM judge over all pairs in both orders when no
    file is given; every answer recorded by `synthlake judge` joins either."""

    model_config = ConfigDict(frozen=True)

    judgments_file: str = Field("", description="a file of judgments (empty: "
                                "SYNTHLAKE_JUDGMENTS, then the LLM judge)")
    llm_judge: bool = Field(True, description="ask the LLM when no judgments file is given")
    tasks: list[str] = Field([], description="the tasks the LLM judge compares (empty: every "
                             "task)")
    repetitions: int = Field(2, ge=1, description="questions per ordered pair of tasks")
    logprobs: bool = Field(True, description="ask for token logprobs (averaged over both "
                           "orders where sent)")


def judge_tasks(lake, specs: dict[str, TaskSpec], config: JudgeConfig, endpoint_config,
                seed: int = 0) -> pd.DataFrame:
    """LLM judgments over all pairs and both orders, journaled like every LLM call."""
    from synthlake.llm import session

    examples = card_examples(lake, specs, seed)
    with session(endpoint_config, lake.journal) as llm:
        judgments, _ = llm.run(lambda client: judge_with_llm(
            client, specs, examples, config.repetitions, logprobs=config.logprobs))
    return judgments


def human_judgments(lake) -> pd.DataFrame:
    """Every judgment recorded by `synthlake judge` (`human_judgments`)."""
    if not lake.exists("human_judgments"):
        return as_judgments(pd.DataFrame())
    people = [c for c in JUDGMENT_COLUMNS if c != "p_a"]  # people give no probability
    return as_judgments(lake.read("human_judgments", columns=people).to_pandas())


def write_judgments(lake: Lake, specs: dict[str, TaskSpec], run_id: str,
                    config: JudgeConfig | None = None, *, endpoint=None,
                    log=print) -> tuple[pd.DataFrame, int]:
    """`pairwise_judgments` in one commit (the whole table: judgments compare tasks), from
    the tasks of `specs` that `config.tasks` picks; the rows and the Delta version."""
    import pyarrow as pa

    from synthlake.llm import EndpointConfig

    config = config or JudgeConfig()
    chosen = catalog.choose(specs, config.tasks, "pairwise_judgments tasks")
    frame = collect_judgments(lake, chosen, config, endpoint or EndpointConfig.from_env(), log)
    return frame, lake.write_partition(
        "pairwise_judgments", pa.Table.from_pandas(frame, preserve_index=False), {}, run_id)


def collect_judgments(lake, specs: dict[str, TaskSpec], config: JudgeConfig, endpoint_config,
                      log=print) -> pd.DataFrame:
    """`pairwise_judgments` rows: those of a judgments file (`config.judgments_file`, else
    SYNTHLAKE_JUDGMENTS), or else the LLM's (unless `llm_judge` is off), and every answer
    given to `synthlake judge`."""
    parts = [human_judgments(lake)]
    if judgments_file := config.judgments_file or settings.get("SYNTHLAKE_JUDGMENTS"):
        parts.append(read_judgments_file(judgments_file))
    elif config.llm_judge:
        log(f"no judgments file: asking the LLM about {len(specs)} tasks")
        parts.append(judge_tasks(lake, specs, config, endpoint_config))
    frame = as_judgments(pd.concat(parts, ignore_index=True))
    if frame.empty:
        raise ValueError("no judgments: no judgments file, no LLM judge and nothing recorded "
                         "by `synthlake judge`")
    return frame


RANKING_NAMES = {"llm": "llm judge", "human": "people"}  # judge_kind -> ranking name


def write_gap_correlations(lake: Lake, run_id: str) -> pd.DataFrame:
    """`gap_correlations` from the lake's gaps and rankings (views `synthetic_gaps` and
    `rankings`), in one commit."""
    from synthlake import tables

    con = lake.connect()
    rows = gap_correlations(con.sql("SELECT * FROM synthetic_gaps").df(),
                            con.sql("SELECT * FROM rankings").df())
    lake.write_partition("gap_correlations", tables.from_rows("gap_correlations", rows), {},
                         run_id)
    return pd.DataFrame(rows)


def write_ranking(lake: Lake, tasks: Sequence[str], run_id: str, *,
                  judgments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One ranking per kind of judge (people, the LLM), each with its reliability, in one
    commit of `task_subjectivity`, from `judgments` (default: the lake's
    `pairwise_judgments`). A judge ranks the tasks its judgments compare (a task nobody
    compared has no place in its order); `tasks` is the catalogue they must be in."""
    from synthlake import tables

    if judgments is None:
        judgments = lake.read("pairwise_judgments").to_pandas()

    def compared(group: pd.DataFrame) -> list[str]:
        named = set(group["task_a"]) | set(group["task_b"])
        return [t for t in tasks if t in named]  # `ranking` refuses a name not in `tasks`

    frame = pd.concat([ranking(group, compared(group), RANKING_NAMES.get(kind, kind))
                       for kind, group in judgments.groupby("judge_kind")], ignore_index=True)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    lake.write_partition("task_subjectivity", tables.from_rows("task_subjectivity", rows), {},
                         run_id)
    return frame


def write_instance_level(lake: Lake, spec: TaskSpec, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The task's partitions of `instance_agreement` and `instance_level_results`."""
    import pyarrow as pa

    annotations = lake.read("real_annotations", where={"task": spec.name}).to_pandas() \
        if lake.exists("real_annotations") else pd.DataFrame()
    agreement = instance_agreement(annotations)
    agreement["task"] = spec.name
    agreement["n_annotators"] = agreement["n_annotators"].astype("Int64")
    agreement["agreement"] = agreement["agreement"].astype(float)
    lake.write_partition("instance_agreement", pa.Table.from_pandas(agreement, preserve_index=False),
                         {"task": spec.name}, run_id)
    results = pd.DataFrame(columns=["task", "train_source", "classifier", "seed", "gamma", "n",
                                    "accuracy", "macro_f1"])
    if lake.exists("predictions") and len(agreement):
        predictions = lake.read("predictions", where={"task": spec.name}).to_pandas()
        found = instance_level_results(predictions, agreement, spec.label_names)
        results = found if len(found) else results
    results = results.astype({"task": str, "train_source": str, "classifier": str, "seed": int,
                              "gamma": float, "n": int, "accuracy": float, "macro_f1": float})
    lake.write_partition("instance_level_results",
                         pa.Table.from_pandas(results.assign(task=spec.name), preserve_index=False),
                         {"task": spec.name}, run_id)
    return agreement, results
