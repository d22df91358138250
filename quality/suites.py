"""Great Expectations suites for generated and real data (plain Python, no Dagster).

Each suite answers one question and runs on a pandas frame prepared here, in GX 1.x's
ephemeral context (no files, no network). GX costs about 5 s to import, so it is
imported inside `run_suite`, never when the code location loads.

Suites of `synthetic_examples` (one task x method partition):

    label_balance     accepted labels are exactly the task's labels; each label's share
                      is within `quality.label_share_tolerance` of the plan's (equal)
    text_form         word counts within the task's limits; no empty text; no control
                      characters or broken encoding (U+FFFD, mojibake)
    duplicates        exact and near duplicates (TF-IDF cosine >= near_duplicate_similarity)
                      below `quality.max_duplicate_rate`
    leakage           no copy or near-copy of a demonstration shown to the model; no real
                      test text inside the synthetic data
    rejection_rate    the share of rejected answers below `quality.max_rejection_rate`
    label_fidelity    the label filter's judge's agreement with the requested labels on
                      every row it saw (before it filtered), against the same judge's
                      agreement on held-out real texts (its ceiling); blocks when the
                      generated labels are distinguishably worse (the gap of the mean
                      probability of the requested label, 99% interval wholly below 0).
                      Abstentions are counted apart; a judge without
                      signal (naming few labels, or no better than chance on real texts)
                      is not drawn from: an advisory expectation (WARN) says so

Suite of `real_examples`: `real_form` (labels of the task, no empty text, train and
test present).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthlake.catalog import TaskSpec
from synthlake.generation.similarity import near_duplicate_flags, normalized, similar_to_any
from synthlake.vocabulary import Status

CONTROL_OR_BROKEN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]|Ã[\x80-\xbf]|â€"


@dataclass
class Expectation:
    """One expectation's outcome, flattened for metadata and the `quality_results` table."""

    suite: str
    expectation: str
    column: str
    passed: bool
    observed: str
    offending: list = field(default_factory=list)
    advisory: bool = False  # a failure warns and does not block (expectation meta)


@dataclass
class Suite:
    """A named list of GX expectations over one prepared frame."""

    name: str
    frame: pd.DataFrame
    expectations: list  # (expectation type name, kwargs)


def run_suite(suite: Suite) -> list[Expectation]:
    import great_expectations as gx  # ~5 s: only when a check runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # quiet logs
    source = context.data_sources.add_pandas(f"{suite.name}_source")
    batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all")
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for type_name, kwargs in suite.expectations:
        gx_suite.add_expectation(getattr(gx.expectations, type_name)(**kwargs))
    frame = suite.frame.reset_index(drop=True)
    result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx_suite, result_format="COMPLETE"
    )
    return [_outcome(suite.name, r, frame) for r in result.results]


def _outcome(suite_name: str, result, frame: pd.DataFrame) -> Expectation:
    config, found = result.expectation_config, result.result or {}
    observed = found.get("observed_value")
    if observed is None and "unexpected_count" in found:
        observed = f"{found['unexpected_count']} unexpected of {found.get('element_count')}"
    # The offending rows whole (a label with its count and share, not a bare 0.2).
    rows = found.get("unexpected_index_list") or []
    offending = ([_row_text(frame.loc[i]) for i in rows[:5]] if rows else
                 [str(v)[:200] for v in (found.get("partial_unexpected_list") or [])[:5]])
    return Expectation(suite_name, config.type, str(config.kwargs.get("column", "")),
                       bool(result.success), _plain(observed), offending,
                       bool((config.meta or {}).get("advisory")))


def _row_text(row: pd.Series) -> str:
    return ", ".join(f"{k}={_plain(v) if not isinstance(v, str) else v[:160]}"
                     for k, v in row.items())


def _plain(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4f}"
    return str(value)


# -- synthetic data ----------------------------------------------------------------
SYNTHETIC_SUITES = ("label_balance", "text_form", "duplicates", "leakage", "rejection_rate",
                    "label_fidelity")
NO_SIGNAL_BELOW = 0.5  # a judge naming a label for fewer of a label's rows has no signal


def synthetic_suite(name: str, spec: TaskSpec, rows: pd.DataFrame, real: pd.DataFrame,
                    calibration: pd.DataFrame | None = None) -> Suite:
    """Suite `name` over one partition of `synthetic_examples` (all statuses), the task's
    `real_examples` and the filter's `fidelity_calibration` rows (label_fidelity only)."""
    if calibration is None:
        calibration = pd.DataFrame(columns=["label", "predicted_label", "agrees"])
    accepted = rows[rows["status"] == Status.ACCEPTED].copy()
    accepted["text"] = accepted["text"].fillna("")
    accepted["words"] = accepted["text"].str.split().str.len()
    if name == "rejection_rate":
        return rejection_rate_suite(spec, rows)
    if name == "label_fidelity":
        return label_fidelity_suite(spec, rows, calibration)
    if name == "leakage":
        return leakage_suite(spec, accepted, real)
    builders = {"label_balance": label_balance_suite, "text_form": text_form_suite,
                "duplicates": duplicates_suite}
    return builders[name](spec, accepted)


def label_balance_suite(spec: TaskSpec, accepted: pd.DataFrame) -> Suite:
    """One row per label, the task's and any other that appears, with its share."""
    counts = accepted["label"].value_counts()
    labels = spec.label_names + sorted(set(counts.index) - set(spec.label_names))
    frame = pd.DataFrame({"label": labels,
                          "accepted": [int(counts.get(lab, 0)) for lab in labels],
                          "share": [counts.get(lab, 0) / max(len(accepted), 1) for lab in labels]})
    plan, tolerance = 1 / len(spec.labels), spec.quality.label_share_tolerance
    return Suite("label_balance", frame, [
        ("ExpectColumnValuesToBeInSet", {"column": "label", "value_set": spec.label_names}),
        ("ExpectColumnValuesToBeBetween",
         {"column": "share", "min_value": round(plan - tolerance, 6),
          "max_value": round(plan + tolerance, 6)}),
    ])


def text_form_suite(spec: TaskSpec, accepted: pd.DataFrame) -> Suite:
    frame = accepted[["text", "words"]]
    return Suite("text_form", frame, [
        ("ExpectColumnValuesToNotBeNull", {"column": "text"}),
        ("ExpectColumnValueLengthsToBeBetween", {"column": "text", "min_value": 1}),
        ("ExpectColumnValuesToBeBetween",
         {"column": "words", "min_value": spec.word_limits.min,
          "max_value": spec.word_limits.max}),
        ("ExpectColumnValuesToNotMatchRegex", {"column": "text", "regex": CONTROL_OR_BROKEN}),
    ])


def duplicates_suite(spec: TaskSpec, accepted: pd.DataFrame) -> Suite:
    texts = accepted["text"].tolist()
    keys = [normalized(t) for t in texts]
    exact = pd.Series(keys).duplicated(keep="first").to_numpy()
    near = near_duplicate_flags(texts, spec.quality.near_duplicate_similarity) & ~exact
    frame = pd.DataFrame({"text": texts, "exact_duplicate": exact.astype(float),
                          "near_duplicate": near.astype(float)})
    cap = spec.quality.max_duplicate_rate
    return Suite("duplicates", frame, [
        ("ExpectColumnMeanToBeBetween", {"column": "exact_duplicate", "max_value": cap}),
        ("ExpectColumnMeanToBeBetween", {"column": "near_duplicate", "max_value": cap}),
    ])


def leakage_suite(spec: TaskSpec, accepted: pd.DataFrame, real: pd.DataFrame) -> Suite:
    threshold = spec.quality.near_duplicate_similarity
    texts = accepted["text"].tolist()
    shown_ids = {i for ids in accepted["demo_example_ids"] for i in (ids if ids is not None else [])}
    shown = real[real["example_id"].isin(shown_ids)]["text"].tolist()
    test = real[real["split"] == "test"]["text"].tolist()
    frame = pd.DataFrame({
        "text": texts,
        "copies_demonstration": similar_to_any(texts, shown, threshold),
        "in_real_test": similar_to_any(texts, test, threshold),
    })
    return Suite("leakage", frame, [
        ("ExpectColumnValuesToBeInSet", {"column": "copies_demonstration", "value_set": [False]}),
        ("ExpectColumnValuesToBeInSet", {"column": "in_real_test", "value_set": [False]}),
    ])


def rejection_rate_suite(spec: TaskSpec, rows: pd.DataFrame) -> Suite:
    frame = pd.DataFrame({"rejected": (rows["status"] != Status.ACCEPTED).astype(float),
                          "reason": rows["reason"].fillna("")})
    return Suite("rejection_rate", frame, [
        ("ExpectColumnMeanToBeBetween",
         {"column": "rejected", "max_value": spec.quality.max_rejection_rate}),
    ])


ALL_LABELS = "(all labels)"
GATE_Z = 2.576  # a 99% interval: a genuine set is held by chance once in 200 runs


def mean_gap(mine: np.ndarray, theirs: np.ndarray) -> tuple[float, float, float]:
    """mean(mine) - mean(theirs) with its GATE_Z interval (Welch's normal approximation)."""
    gap = float(mine.mean() - theirs.mean())
    se = float(np.sqrt(mine.var(ddof=1) / len(mine) + theirs.var(ddof=1) / len(theirs))) \
        if len(mine) > 1 and len(theirs) > 1 else np.inf
    return gap, gap - GATE_Z * se, gap + GATE_Z * se


def label_fidelity_suite(spec: TaskSpec, rows: pd.DataFrame,
                         calibration: pd.DataFrame) -> Suite:
    """The generator's label fidelity against its judge's ceiling on genuine texts. One
    row for all labels, then one per label:

        scope | judged (synthetic rows the filter's judge saw, before it filtered) |
        named (share it named a label for) | agree (share of named it found the
        requested label in) | p (mean probability it gave the requested label, named
        rows) | real | real_agree | real_p (the same judge on held-out real texts of the
        labels: `fidelity_calibration`) | gap | gap_low | gap_high (p minus real_p, 99%
        interval) | signal | checked_gap_high

    Abstentions (`unknown`) are counted apart, never as disagreement. The judge has
    signal where it named a label for at least half the rows and finds real labels
    distinguishably better than chance; only then is the all-labels row checked, and it
    blocks when the gap's interval lies wholly below 0: the generated texts carry their
    labels distinguishably less than real ones, as this judge sees them. (The mean
    probability, not the share agreeing: it uses the judge's confidence, and a 30% share
    of wrong labels shows with 30 texts per label.) The per-label rows are shown, not
    checked (several tests would hold good data by chance). No judge (`fidelity.judge:
    none`): no rows, nothing to check."""
    from synthlake.generation.fidelity import UNKNOWN, wilson

    if "fidelity_judge" not in rows:  # a version written before the filter existed
        rows = rows.assign(fidelity_judge=None, judged_label=None, p_requested=None)
    judged = rows[rows["fidelity_judge"].notna()]
    judged = judged.assign(named=judged["judged_label"] != UNKNOWN,
                           agree=(judged["judged_label"] == judged["label"]))
    real = calibration.assign(named=calibration["predicted_label"] != UNKNOWN,
                              agree=calibration["agrees"].astype(bool))
    chance = 1 / len(spec.labels)
    records = []
    scopes = [(ALL_LABELS, judged, real)] + [
        (label, judged[judged["label"] == label], real[real["label"] == label])
        for label in sorted(set(judged["label"]))] if len(judged) else []
    for scope, mine, theirs in scopes:
        mine_p = mine.loc[mine["named"], "p_requested"].to_numpy(dtype=float)
        real_p = theirs.loc[theirs["named"], "p_requested"].to_numpy(dtype=float)
        r_k = int((theirs["agree"] & theirs["named"]).sum())
        gap, low, high = mean_gap(mine_p, real_p) if len(mine_p) and len(real_p) \
            else (np.nan, np.nan, np.nan)
        signal = bool(len(mine_p) >= NO_SIGNAL_BELOW * len(mine) and len(real_p)
                      and wilson(r_k, len(real_p))[0] > chance)
        records.append({
            "scope": scope, "judged": len(mine), "named": len(mine_p) / max(len(mine), 1),
            "agree": (mine["agree"] & mine["named"]).sum() / max(len(mine_p), 1),
            "p": mine_p.mean() if len(mine_p) else np.nan, "real": len(theirs),
            "real_agree": r_k / max(len(real_p), 1),
            "real_p": real_p.mean() if len(real_p) else np.nan, "gap": gap, "gap_low": low,
            "gap_high": high, "signal": signal,
            "checked_gap_high": high if signal and scope == ALL_LABELS else np.nan})
    frame = pd.DataFrame(records, columns=["scope", "judged", "named", "agree", "p", "real",
                                           "real_agree", "real_p", "gap", "gap_low",
                                           "gap_high", "signal", "checked_gap_high"])
    return Suite("label_fidelity", frame, [
        ("ExpectColumnValuesToBeBetween", {"column": "checked_gap_high", "min_value": 0.0}),
        ("ExpectColumnValuesToBeInSet",
         {"column": "signal", "value_set": [True], "meta": {"advisory": True}}),
    ])


# -- real data ----------------------------------------------------------------------
def real_suite(spec: TaskSpec, real: pd.DataFrame) -> Suite:
    frame = real[["split", "label", "text"]]
    return Suite("real_form", frame, [
        ("ExpectColumnDistinctValuesToBeInSet", {"column": "label", "value_set": spec.label_names}),
        ("ExpectColumnValuesToNotBeNull", {"column": "text"}),
        ("ExpectColumnValueLengthsToBeBetween", {"column": "text", "min_value": 1}),
        ("ExpectColumnDistinctValuesToContainSet",
         {"column": "split", "value_set": ["train", "test"]}),
    ])


def describe(outcome: Expectation) -> str:
    column = f" on `{outcome.column}`" if outcome.column else ""
    rows = f" ({'; '.join(outcome.offending[:3])})" if outcome.offending else ""
    return re.sub(r"\s+", " ", f"{outcome.expectation}{column}: observed {outcome.observed}{rows}")


# -- running against the lake ----------------------------------------------------------
RESULT_COLUMNS = ["task", "method", "checked_table", "delta_version", "suite", "expectation",
                  "column", "passed", "advisory", "observed", "checked_at"]


def check_partition(lake, spec: TaskSpec, method: str | None, suite_name: str,
                    run_id: str, version: int | None = None) -> tuple[list[Expectation], int]:
    """Run one suite on a partition of `synthetic_examples` (or of `real_examples` when
    `method` is None) as of Delta `version` (the one its materialization wrote; default the
    latest), append the outcomes to `quality_results` under that version, return them."""
    table = "real_examples" if method is None else "synthetic_examples"
    version = lake.version(table) if version is None else version
    real_version = version if method is None else None
    real = lake.read("real_examples", where={"task": spec.name}, version=real_version).to_pandas()
    if method is None:
        suite = real_suite(spec, real)
    else:
        rows = lake.read(table, where={"task": spec.name, "method": method},
                         version=version).to_pandas()
        calibration = (lake.read("fidelity_calibration", where={"task": spec.name,
                                                                "method": method}).to_pandas()
                       if suite_name == "label_fidelity" and lake.exists("fidelity_calibration")
                       else None)
        suite = synthetic_suite(suite_name, spec, rows, real, calibration)
    outcomes = run_suite(suite)
    record = pd.DataFrame([{
        "task": spec.name, "method": method or "", "checked_table": table,
        "delta_version": version, "suite": o.suite, "expectation": o.expectation,
        "column": o.column, "passed": o.passed, "advisory": o.advisory, "observed": o.observed,
        "checked_at": pd.Timestamp.now(tz="UTC"),
    } for o in outcomes], columns=RESULT_COLUMNS)
    import pyarrow as pa

    lake.append("quality_results", pa.Table.from_pandas(record, preserve_index=False), run_id)
    return outcomes, version
