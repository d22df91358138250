"""Every lake table declared once: name, description, partition columns, Arrow schema.

`Lake.write_partition` and `Lake.append` conform what they write to this (columns by
name, cast to the declared types, in the declared order; a missing or unknown column is
an error naming table and column); the Dagster assets attach these columns as their
column schemas; the table of tables in synthlake/README.md is generated from it
(`python -m synthlake.tables`). Every table also carries `run_id`, the run that wrote
the row (added by the lake).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from synthlake.vocabulary import Method

STRING, INT, FLOAT, BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()
TIME = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())
RUN_ID = ("run_id", STRING, "the run that wrote the row")


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    partition_by: tuple[str, ...]
    columns: tuple[tuple[str, pa.DataType, str], ...]  # name, type, description
    appended: bool = False  # a log: rows are appended, never replaced
    side: bool = False  # written beside an asset by its step, not an asset of its own

    @property
    def schema(self) -> pa.Schema:
        """The stored schema, `run_id` included."""
        return pa.schema([(name, kind) for name, kind, _ in (*self.columns, RUN_ID)])

    @property
    def data_schema(self) -> pa.Schema:
        """What a writer hands the lake (without `run_id`)."""
        return pa.schema([(name, kind) for name, kind, _ in self.columns])


def _table(name: str, description: str, partition_by: tuple[str, ...], *columns,
           appended: bool = False, side: bool = False) -> Table:
    return Table(name, description, partition_by, tuple(columns), appended, side)


TASK = ("task", STRING, "task name (catalogue)")
METHOD = ("method", STRING, "generation method: " + ", ".join(Method))
ATTRIBUTE_VALUES = pa.list_(pa.struct([("dimension", STRING), ("value", STRING)]))
LABEL = ("label", STRING, "label name")
EXAMPLE_ID = ("example_id", STRING, "stable id: hash of task and text")
SOURCE_RUN = (("train_source", STRING, "what the classifier was trained on"),
              ("classifier", STRING, "finetune or logreg"), ("seed", INT, "training seed"))

TABLES: dict[str, Table] = {t.name: t for t in [
    _table("task_catalog", "the task specs, as loaded from the YAML files", (),
           TASK, ("description", STRING, "what the task decides"),
           ("labels", STRINGS, "label names"), ("label_descriptions", STRINGS, "one per label"),
           ("prompt_version", STRING, "hash of everything that shapes the prompts"),
           ("spec_json", STRING, "the whole spec as JSON")),
    _table("real_examples", "real labelled texts per split", ("task",),
           TASK, ("split", STRING, "train, validation or test"), EXAMPLE_ID,
           ("text", STRING, "the text"), LABEL, ("source", STRING, "file or hub id read")),
    _table("real_annotations", "per-annotator labels of real test texts", ("task",),
           TASK, EXAMPLE_ID, ("annotator_id", STRING, "annotator"), LABEL,
           ("agreement", FLOAT, "agreement given by the dataset, if any"),
           ("kind", STRING, "annotations or agreement")),
    _table("synthetic_examples", "every parsed answer, accepted or rejected, with provenance",
           ("task", "method"),
           TASK, METHOD, ("label", STRING, "the label requested"), ("text", STRING, "parsed text"),
           EXAMPLE_ID, ("request_key", STRING, "journal key of the answer"),
           ("model", STRING, "model that answered"), ("prompt_version", STRING, "prompt hash"),
           ("temperature", FLOAT, "sampling temperature"), ("seed", INT, "request seed"),
           ("slot", STRING, "plan slot the request filled"),
           ("demo_example_ids", STRINGS, "real texts shown (few-shot)"),
           ("diversity_prompted", BOOL, "the prompt asked for something different"),
           ("status", STRING, "accepted or rejected"), ("reason", STRING, "why rejected"),
           ("fidelity_judge", STRING, "the judge of the label filter (none: not judged)"),
           ("judged_label", STRING, "the label that judge found, or unknown"),
           ("p_requested", FLOAT, "that judge's probability of the requested label"),
           ("created_at", TIME, "when the answer arrived"),
           ("attributes", ATTRIBUTE_VALUES, "the attribute values asked for (attributed)")),
    _table("attributes", "dimensions and values attributed generation samples "
           "(attributes.py)", ("task",),
           TASK, ("label", STRING, "the label the value is for; null: every label"),
           ("dimension", STRING, "topic, tone, subtopic, ..."), ("value", STRING, "the value"),
           ("source", STRING, "llm (proposed), yaml (the task file) or user (a run)")),
    _table("attribute_coverage", "per method, label and attribute value: what was asked, "
           "accepted and carried its label (coverage.py)", ("task",),
           TASK, METHOD, LABEL, ("dimension", STRING, "attribute dimension"),
           ("value", STRING, "attribute value"), ("requested", INT, "answers asked for it"),
           ("passed", INT, "answers that passed every check but the label filter"),
           ("accepted", INT, "rows accepted"),
           ("carried", INT, "passed rows the label filter's judge found their label in"),
           ("judged", INT, "passed rows that judge named a label for"),
           ("fidelity", FLOAT, "carried / judged"),
           ("fidelity_low", FLOAT, "95% Wilson interval, low end"),
           ("fidelity_high", FLOAT, "its high end")),
    _table("error_rounds", "error-driven generation: the classifier of each round, scored "
           "(rounds.py)", ("task",),
           TASK, ("round", INT, "0: the start sample; the last: the final set"),
           ("start_method", STRING, "the method round 0 sampled"),
           ("classifier", STRING, "logreg on frozen embeddings"),
           ("n_train", INT, "texts it learned from"),
           ("n_validation", INT, "seed-pool texts it was checked on"),
           ("validation_errors", INT, "of them misclassified: the next demonstrations"),
           ("validation_f1", FLOAT, "macro-F1 on the seed pool"),
           ("macro_f1", FLOAT, "macro-F1 on the real test split"),
           ("macro_f1_low", FLOAT, "95% bootstrap interval, low end"),
           ("macro_f1_high", FLOAT, "its high end"), ("n_test", INT, "test texts"),
           ("change", FLOAT, "macro-F1 minus the round before's, on the same test texts"),
           ("change_low", FLOAT, "95% paired-bootstrap interval, low end"),
           ("change_high", FLOAT, "its high end")),
    _table("llm_responses", "the raw answers of a task and method (from the journal)",
           ("task", "method"),
           ("request_key", STRING, "journal key"), TASK, METHOD, ("model", STRING, "model"),
           ("messages", STRING, "request messages (JSON)"),
           ("params", STRING, "sampling parameters (JSON)"), ("text", STRING, "answer"),
           ("finish_reason", STRING, "stop, length, ..."), ("prompt_tokens", INT, "tokens in"),
           ("completion_tokens", INT, "tokens out"), ("latency_s", FLOAT, "seconds"),
           ("attempts", INT, "attempts made"), ("error", STRING, "final error, if any"),
           ("created_at", TIME, "when the answer arrived")),
    _table("quality_results", "every expectation of every quality check run", (),
           TASK, METHOD, ("checked_table", STRING, "table checked"),
           ("delta_version", INT, "Delta version checked"), ("suite", STRING, "GX suite"),
           ("expectation", STRING, "expectation"), ("column", STRING, "column"),
           ("passed", BOOL, "passed"),
           ("advisory", BOOL, "a failure warns and blocks nothing (a judge without signal)"),
           ("observed", STRING, "observed value"),
           ("checked_at", TIME, "when"), appended=True, side=True),
    _table("embeddings", "sentence embeddings of real samples and synthetic texts", ("task",),
           TASK, ("source", STRING, "real or a method"), ("split", STRING, "real split"),
           EXAMPLE_ID, LABEL, ("text_hash", STRING, "hash of the text (cache key)"),
           ("model", STRING, "embedder"), ("vector", pa.list_(pa.float32()), "L2-normalised")),
    _table("diversity_metrics", "remote clique and chamfer per source and label", ("task",),
           TASK, ("source", STRING, "real or a method"), ("label", STRING, "label or ALL"),
           ("n_kind", STRING, "own size or matched size"), ("n", INT, "texts measured"),
           ("remote_clique", FLOAT, "mean pairwise distance"),
           ("chamfer", FLOAT, "mean nearest-neighbour distance"), ("embedder", STRING, "embedder"),
           ("remote_clique_low", FLOAT, "95% delete-one jackknife interval, low end"),
           ("remote_clique_high", FLOAT, "its high end"),
           ("chamfer_low", FLOAT, "95% delete-one jackknife interval, low end"),
           ("chamfer_high", FLOAT, "its high end"),
           ("sample_seed", INT, "seed of the size-matched sample")),
    _table("similarity_to_real", "mean top-5 cosine similarity to real test texts", ("task",),
           TASK, ("source", STRING, "real or a method"), ("n_source", INT, "texts"),
           ("n_real_test", INT, "real test texts"),
           ("mean_top5_similarity", FLOAT, "mean of top-5 cosine similarities"),
           ("embedder", STRING, "embedder")),
    _table("label_fidelity", "per synthetic row or held-out real text and judge: its label?",
           ("task", "method"),
           TASK, METHOD, EXAMPLE_ID,
           ("label", STRING, "the label requested (a real text: its label)"),
           ("sample", STRING, "synthetic, or real_heldout (a calibration text)"),
           ("kept", BOOL, "the label filter kept it (false: rejected as label mismatch; "
                          "null: a real text)"),
           ("judge", STRING, "llm, seed_classifier, real_oracle (a diagnostic, never a filter)"),
           ("role", STRING, "filter (the judge that filtered this method) or independent"),
           ("predicted_label", STRING, "the label the judge finds (unknown: it abstained)"),
           ("p_requested", FLOAT, "the judge's probability of the requested label"),
           ("agrees", BOOL, "predicted_label is the requested label"),
           ("rejected", BOOL, "the filter rejected it (a real text: leave-one-out against "
                              "its label's bar; null for an independent judge)"),
           ("judged_at", TIME, "when")),
    _table("fidelity_calibration", "the label filter's verdicts on held-out real texts "
           "(written by the generation step beside synthetic_examples)",
           ("task", "method"),
           TASK, METHOD, ("judge", STRING, "the filter's judge"), EXAMPLE_ID,
           ("label", STRING, "the real text's label"),
           ("predicted_label", STRING, "the label the judge finds (unknown: it abstained)"),
           ("p_requested", FLOAT, "the judge's probability of the real label"),
           ("agrees", BOOL, "predicted_label is the real label"),
           ("threshold", FLOAT, "its label's bar: a lower p_requested is a label mismatch"),
           ("rejected", BOOL, "under the bar the other calibration texts set (leave-one-out)"),
           ("judged_at", TIME, "when"), side=True),
    _table("evaluations", "one classifier run: trained on a source, scored on real test",
           ("task",),
           TASK, *SOURCE_RUN, ("n_train", INT, "training texts"),
           ("n_validation", INT, "validation texts"), ("macro_f1", FLOAT, "macro-F1 on test"),
           ("accuracy", FLOAT, "accuracy on test"),
           ("macro_f1_low", FLOAT, "95% test-set bootstrap interval of macro-F1, low end"),
           ("macro_f1_high", FLOAT, "its high end"),
           ("accuracy_low", FLOAT, "95% bootstrap interval of accuracy, low end"),
           ("accuracy_high", FLOAT, "its high end"),
           ("per_class", STRING, "label -> precision, recall, f1, support (JSON)"),
           ("test_split", STRING, "test split used"), ("n_test", INT, "test texts"),
           ("epochs_run", INT, "epochs trained"), ("best_epoch", INT, "epoch kept"),
           ("class_weight", STRING, "how classes were weighted in training (balanced)"),
           ("model_path", STRING, "saved model"), ("trained_at", TIME, "when")),
    _table("source_scores", "a source's mean macro-F1 over its runs, with its interval",
           ("task",),
           TASK, ("train_source", STRING, "what the classifier was trained on"),
           ("classifier", STRING, "finetune or logreg"), ("seeds", INT, "runs pooled"),
           ("drawn", BOOL, "each seed drew its own training texts (else one fixed set)"),
           ("n_train", INT, "training texts of one run"), ("n_test", INT, "test texts"),
           ("macro_f1", FLOAT, "mean macro-F1 over the runs"),
           ("low", FLOAT, "95% bootstrap over test texts x training draws, low end"),
           ("high", FLOAT, "its high end"), ("covers", STRING, "what the interval resampled")),
    _table("predictions", "per test text prediction of every classifier run", ("task",),
           TASK, *SOURCE_RUN, EXAMPLE_ID, ("predicted", STRING, "predicted label"),
           ("gold", STRING, "true label")),
    _table("comparisons", "a source against a baseline on the same test texts (paired)",
           ("task",),
           TASK, ("train_source", STRING, "the source compared"),
           ("classifier", STRING, "the classifier both were trained with"),
           ("baseline", STRING, "real, real_full or the unfiltered counterpart"),
           ("seeds", INT, "runs of the source pooled"),
           ("baseline_seeds", INT, "runs of the baseline pooled"),
           ("n_test", INT, "test texts"),
           ("difference", FLOAT, "macro-F1 of the source minus the baseline's (seed means)"),
           ("low", FLOAT, "95% paired-bootstrap interval, low end"),
           ("high", FLOAT, "its high end"), ("p_value", FLOAT, "two-sided bootstrap p-value"),
           ("distinguishable", BOOL, "the interval excludes 0"),
           ("covers", STRING, "what the interval resampled, for each side")),
    _table("learning_curves", "macro-F1 against training texts per label (curves.py)",
           ("task",),
           TASK, ("curve", STRING, "real, or the synthetic source trained on a share of its rows"),
           ("classifier", STRING, "finetune or logreg"),
           ("n_per_label", INT, "training texts per label (median over labels)"),
           ("share", FLOAT, "share of the source's rows (1 on the real curve)"),
           ("n_train", INT, "training texts"), ("seeds", INT, "runs pooled"),
           ("n_test", INT, "test texts"), ("macro_f1", FLOAT, "mean over seeds"),
           ("macro_f1_std", FLOAT, "std over seeds"),
           ("low", FLOAT, "95% bootstrap of the mean over test texts x draws, low end"),
           ("high", FLOAT, "its high end"), ("covers", STRING, "what the interval resampled")),
    _table("real_equivalents", "real texts per label worth as much as a synthetic source",
           ("task",),
           TASK, ("train_source", STRING, "the synthetic source"),
           ("classifier", STRING, "the classifier of it and of the real curve"),
           ("seeds", INT, "runs of the source pooled"), ("macro_f1", FLOAT, "its mean macro-F1"),
           ("equivalent", FLOAT, "real texts per label at which the real curve reaches it"),
           ("low", FLOAT, "95% interval (test texts x training draws), low end (null: "
                          "below the curve)"),
           ("high", FLOAT, "its high end (null: above the curve)"),
           ("position", STRING, "within, below or above the real curve"),
           ("reading", STRING, "the equivalent in words"),
           ("smallest", INT, "the real curve's smallest n per label"),
           ("largest", INT, "its largest"), ("n_test", INT, "test texts"),
           ("covers", STRING, "what the interval resampled")),
    _table("training_dynamics", "per training row of a fine-tuned run: its data-map place",
           ("task",),
           TASK, *SOURCE_RUN, EXAMPLE_ID, ("origin", STRING, "real or a method"), LABEL,
           ("epoch_p", pa.list_(FLOAT), "probability of its label in each epoch's training pass"),
           ("confidence", FLOAT, "mean of epoch_p"),
           ("variability", FLOAT, "standard deviation of epoch_p"),
           ("correctness", FLOAT, "share of epochs its label was predicted"),
           ("region", STRING, "easy, ambiguous or hard (cartography.py)")),
    _table("pairwise_judgments", "which of two tasks is more objective, per judge", (),
           ("task_a", STRING, "first task"), ("task_b", STRING, "second task"),
           ("winner", STRING, "task_a, task_b or tie"), ("judge_id", STRING, "judge"),
           ("judge_kind", STRING, "human or llm"),
           ("p_a", FLOAT, "an LLM judge's probability of task_a (token logprobs); null: "
            "a letter or a person")),
    _table("human_judgments", "people's answers to `synthlake judge`, appended as given",
           (), ("task_a", STRING, "the task shown as A"), ("task_b", STRING, "shown as B"),
           ("winner", STRING, "task_a, task_b or tie"), ("judge_id", STRING, "who answered"),
           ("judge_kind", STRING, "human"), ("judged_at", TIME, "when"), appended=True),
    _table("task_subjectivity", "Bradley-Terry ranking of the tasks by objectivity, per judge "
           "kind, with the judge's reliability (reliability.py)", (),
           TASK, ("objectivity", FLOAT, "Bradley-Terry log-strength (mean 0)"),
           ("objectivity_low", FLOAT, "95% bootstrap interval over judgments, low end"),
           ("objectivity_high", FLOAT, "its high end"),
           ("subjectivity_rank", INT, "1 = most objective; null: no signal"),
           ("stars", INT, "1 (objective) to 5 (subjective); null: no signal"),
           ("n_judgments", INT, "judgments behind it"),
           ("method", STRING, "who judged: the ranking's name"),
           ("consistency", FLOAT, "share of pairs whose winner survives swapping the order"),
           ("pairs_both_orders", INT, "pairs asked in both orders behind it"),
           ("position_first", FLOAT, "share of decided answers naming the first-shown task"),
           ("signal", BOOL, "consistency at least the threshold (or not measurable)")),
    _table("objectivity_proxies", "rankings of the tasks from real data alone, each a "
           "proxy for objectivity (proxies.py)", (),
           TASK, ("proxy", STRING, "annotator agreement or surface predictability"),
           ("score", FLOAT, "higher = more objective"),
           ("low", FLOAT, "95% bootstrap interval, low end"), ("high", FLOAT, "its high end"),
           ("n", INT, "texts behind it (annotated, or test)"),
           ("detail", STRING, "what it was computed from")),
    _table("gap_correlations", "the gap against each subjectivity ranking (subjectivity.py)",
           (),
           ("ranking", STRING, "the ranking: who judged, or which proxy"),
           ("classifier", STRING, "the classifier of the gap"),
           ("train_source", STRING, "the synthetic source of the gap"),
           ("n_tasks", INT, "tasks with both a gap and a score"),
           ("spearman", FLOAT, "rho of gap and subjectivity; null: not estimable or no signal"),
           ("low", FLOAT, "95% interval from resampling tasks, low end"),
           ("high", FLOAT, "its high end"), ("reading", STRING, "the figure in words")),
    _table("instance_agreement", "annotator agreement per real test text", ("task",),
           TASK, EXAMPLE_ID, ("n_annotators", INT, "annotators"),
           ("agreement", FLOAT, "share agreeing with the majority")),
    _table("instance_level_results", "scores on test texts above an agreement threshold",
           ("task",),
           TASK, *SOURCE_RUN, ("gamma", FLOAT, "agreement threshold"), ("n", INT, "texts"),
           ("accuracy", FLOAT, "accuracy"), ("macro_f1", FLOAT, "macro-F1")),
]}
ASSET_TABLES = [name for name, t in TABLES.items() if not t.side]  # each an asset's output


def from_rows(name: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts) as a table of `name`'s declared columns; keys not given are null."""
    return pa.Table.from_pylist(rows, schema=TABLES[name].data_schema)


class TableSchemaError(ValueError):
    pass


def conform(table: Table, data: pa.Table) -> pa.Table:
    """`data` with exactly the declared columns (run_id excluded), cast to their types, in
    the declared order; a missing or undeclared column, or a value that does not cast, is
    an error naming the table and the column."""
    name, declared = table.name, table.data_schema
    missing = [c for c in declared.names if c not in data.column_names]
    extra = [c for c in data.column_names if c not in declared.names and c != "run_id"]
    if missing or extra:
        raise TableSchemaError(f"table {name!r}: missing columns {missing}, undeclared {extra}")
    columns = []
    for field in declared:
        try:
            columns.append(data.column(field.name).cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TableSchemaError(f"table {name!r}, column {field.name!r}: "
                                   f"{data.schema.field(field.name).type} does not cast to "
                                   f"{field.type}: {exc}") from exc
    return pa.Table.from_arrays(columns, schema=declared)


def _comparable(kind: pa.DataType) -> str:
    # Delta stores lists (fixed-size ones too) as lists of "element": compare value types.
    if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_comparable(kind.value_type)}>"
    return str(kind)


def mismatches(table: Table, stored: pa.Schema) -> list[str]:
    """How a stored schema differs from the declaration (empty: it matches). Columns are
    matched by name: a column declared later is appended to a stored table (`Lake`)."""
    declared = {f.name: _comparable(f.type) for f in table.schema}
    found = {f.name: _comparable(f.type) for f in stored}
    problems = [f"{name}: declared {kind}, stored {found.get(name, 'nothing')}"
                for name, kind in declared.items() if found.get(name) != kind]
    problems += [f"{name}: stored, not declared" for name in found if name not in declared]
    return problems


def markdown_table() -> str:
    rows = ["| table | partitioned by | columns |", "|---|---|---|"]
    for t in TABLES.values():
        parts = ", ".join(t.partition_by) or ("– (appended)" if t.appended else "–")
        rows.append(f"| `{t.name}` | {parts} | {', '.join(name for name, _, _ in t.columns)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
