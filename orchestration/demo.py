"""`make demo`: the main job on the embedded defaults, offline, then results from the lake.

Runs through Dagster (a persistent instance in $DAGSTER_HOME, ./.dagster_home by
default), so every run, check and plot shows up in the UI afterwards (`make ui`):
1. the task catalogue and the real data of every task;
2. for each demo task (`SYNTHLAKE_DEMO_TASKS`, default sms_spam, sarcasm_headlines and
   financial_phrasebank: an objective and a subjective task with short texts, and one
   with annotator agreement for the instance-level results), one run of the task
   pipeline: generation by the paper's zero-shot and few-shot methods
   (`SYNTHLAKE_DEMO_METHODS` adds attributed and error-driven; `SYNTHLAKE_DEMO_N` per
   label, default 30) with the blocking quality checks, label fidelity, embeddings,
   diversity, a logistic regression on every training source, learning curves and
   instance-level results;
3. a subjectivity ranking of the demo tasks by an LLM judge (with its reliability: the
   embedded model's has no signal, and says so), their objectivity proxies from real
   data, and the report page.
The embedded model is used unless OPENAI_BASE_URL points at another endpoint; one
server serves every run of the demo (it runs in this process).

The terminal shows one line per stage and a bar for generation and training; Dagster's
own lines, library load reports and warnings go to the Dagster run logs (`make ui`) and
to `$DAGSTER_HOME/demo.log`.
"""

import functools
import logging
import os
import sys
import time
from pathlib import Path

import dagster as dg

from assets.evaluation import classifier_runs
from orchestration.definitions import all_assets, all_checks, defs
from synthlake import progress, settings
from synthlake.analysis import report
from synthlake.catalog import load_catalog
from synthlake.generation.generate import GenerationShortfall
from synthlake.lake import Lake
from synthlake.vocabulary import PROMPTED, Method

DEMO_TASKS = settings.names("SYNTHLAKE_DEMO_TASKS")
DEMO_N = settings.integer("SYNTHLAKE_DEMO_N")
DEMO_TEST = 1000  # test texts per task at most


def demo_methods() -> list[Method]:
    names = settings.names("SYNTHLAKE_DEMO_METHODS")
    if unknown := [n for n in names if n not in set(Method)]:
        raise SystemExit(f"SYNTHLAKE_DEMO_METHODS: unknown {unknown}; known: "
                         f"{', '.join(Method)}")
    return [Method(n) for n in names]


DEMO_METHODS = demo_methods()
MEASURES = [
    "label_fidelity", "embeddings", "diversity_metrics", "similarity_to_real",
    *[key.to_user_string() for key in classifier_runs.keys],
    "instance_agreement", "instance_level_results",
]


def generation_assets(method: Method) -> list[str]:
    """What generating `method` materializes (error-driven rounds also their F1 per round)."""
    made = [f"{table}/{method}" for table in ("synthetic_examples", "llm_responses")]
    return made + (["error_rounds"] if method == Method.ERROR_DRIVEN else [])


def task_methods(task: str) -> list[Method]:
    """The demo's methods for one task: error-driven rounds train a classifier per round, so
    they run on the first demo task only."""
    return [m for m in DEMO_METHODS if m != Method.ERROR_DRIVEN or task == DEMO_TASKS[0]]


def after_generation(task: str) -> list[str]:
    """What measures a task's generated data (attribute coverage where values were asked for)."""
    attributed = Method.ATTRIBUTED in task_methods(task)
    return MEASURES + (["attribute_coverage"] if attributed else [])


def task_selection(task: str) -> list[str]:
    """One demo task's run: real data, the attribute set where attributed generation runs,
    generation by each of the task's methods, and what measures the result."""
    attributed = ["attributes"] if Method.ATTRIBUTED in task_methods(task) else []
    generation = [a for m in task_methods(task) for a in generation_assets(m)]
    return ["real_examples", "real_annotations", *attributed, *generation,
            *after_generation(task)]


DEMO_GENERATION = {"n_per_label": DEMO_N, "max_attempts_factor": 8.0}  # every method's
DEMO_CONFIG = {
    # (Completion tokens stay the task's: capping them at 40 cut sms_spam's generation
    # time by a quarter but tripled financial_phrasebank's truncated answers, 2026-11-23.)
    **{f"generate_{m}": {"config": DEMO_GENERATION} for m in PROMPTED},
    "generate_error_driven": {"config": {"generation": DEMO_GENERATION, "rounds": 2,
                                         "max_test": 400}},
    # The real-data oracle (a diagnostic judge) learns from 500 real texts per label
    # rather than 2,000: about 15 s less per task on 2 cores.
    "label_fidelity": {"config": {"oracle_per_label": 500}},

    "embeddings": {"config": {"max_real_per_split": 500}},
    # Small enough for 2 CPU cores: logistic regression on frozen embeddings only
    # (fine-tuning for 2 epochs on 54 texts did not train: real macro-F1 0.22 against
    # logreg's 0.84, sms_spam, 2026-11-23), over the default five training draws, with
    # real_full on all real train texts, on up to 1,000 test texts per task.
    "classifier_runs": {"config": {"classifiers": ["logreg"], "max_test": DEMO_TEST,
                                   "save_models": False, "curve_classifiers": ["logreg"]}},
}


def llm_line() -> str:
    """Which endpoint, or which runtime serves the embedded model."""
    from synthlake.llm import EndpointConfig, embedded

    endpoint = EndpointConfig.from_env()
    if endpoint.base_url:
        return f"{endpoint.model} at {endpoint.base_url}"
    return f"embedded {embedded.MODEL_NAME}, served by {embedded.runtime().name} on 127.0.0.1"


def caps_line() -> str:
    """What the demo's figures rest on, printed beside the headline."""
    from synthlake.evaluation.train import TrainConfig

    seeds = len(TrainConfig().seeds)
    return (f"Demo sizes: {DEMO_N} generated texts per label and method; real_full trains "
            f"on every real train text; each task's test split capped at {DEMO_TEST} "
            f"texts (stratified); {seeds} training draws per sampled source (size-matched "
            f"real, curve points, shares); logistic regression with balanced class weights; "
            f"intervals: 95%, over test texts x training draws (the `covers` column of "
            f"`sql/headline.sql` says what each resampled).")


SUBJECTIVITY = ["pairwise_judgments", "task_subjectivity", "objectivity_proxies",
                "gap_correlations", "report_page"]
SUBJECTIVITY_CONFIG = {
    # The LLM judge compares the demo tasks only (6 questions rather than 90, a minute
    # less on 2 cores); materialize pairwise_judgments to compare all ten.
    "pairwise_judgments": {"config": {"repetitions": 1, "tasks": DEMO_TASKS}},
    # The demo tasks only, on fewer texts (bench/proxies.py: all 10 tasks).
    "objectivity_proxies": {"config": {"tasks": DEMO_TASKS, "max_train": 500, "max_test": 500}},
}


def ops_config(selection: list[str], ops: dict) -> dict:
    """The part of `ops` for the ops a run of `selection` executes: Dagster refuses config
    for any other op, at launch."""
    chosen = set(selection)
    running = {a.op.name for a in all_assets if isinstance(a, dg.AssetsDefinition)
               and {k.to_user_string() for k in a.keys} & chosen}
    return {name: value for name, value in ops.items() if name in running}


# Loggers whose records Dagster captures into the run log (python_logs in dagster.yaml):
# library warnings and load reports belong there, not on the terminal.
# (Not torch: at INFO its compiler prints a report to the terminal when the process exits.)
CAPTURED_LOGGERS = ["py.warnings", "transformers", "sentence_transformers", "httpx", "synthlake"]


@functools.cache
def instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # a user's own instance config is left alone
        # Offline by design: no telemetry, and no banner about it on the terminal.
        config.write_text("telemetry:\n  enabled: false\npython_logs:\n"
                          "  python_log_level: INFO\n  managed_python_loggers:\n"
                          + "".join(f"    - {name}\n" for name in CAPTURED_LOGGERS))
    return dg.DagsterInstance.get()


def quiet_console(home: Path) -> None:
    """Python warnings become log records; every record at WARNING or above that no one
    else handles goes to `demo.log` rather than the terminal."""
    logging.captureWarnings(True)
    handler = logging.FileHandler(home / "demo.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(selection: list[str], partition_key=None, ops=None) -> bool:
    """One Dagster run, its progress as bars and its log in the run's record (nothing of
    it on the console). A gate that held (a failed blocking quality check, or a
    generation too far short of its plan to replace the partition) is reported and the
    demo goes on: nothing downstream of that data ran. Any other failure stops the demo."""
    with progress.attached(progress.Bars()):
        result = dg.materialize(
            [*all_assets, *all_checks], selection=selection, partition_key=partition_key,
            instance=instance(), resources=defs.resources,
            run_config={"ops": ops_config(selection, ops or {}),
                        # The demo reports gates and failures itself (below).
                        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            raise_on_error=False,
        )
    warnings = [entry for entry in instance().all_logs(result.run_id)
                if entry.level >= logging.WARNING and entry.dagster_event is None]
    if warnings:
        print(f"  {len(warnings)} warning(s) in the run's log, e.g. "
              f"{warnings[0].user_message[:150]!r} (make ui: run {result.run_id[:8]})")
    if result.success:
        return True
    # A failed check of WARN severity (a judge without signal) is shown, not a held gate.
    failed = [f"{e.asset_key.to_user_string()}: {e.check_name}"
              for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    failed += [_last_line(e.event_specific_data.error) for e in result.all_events
               if e.event_type_value == "STEP_FAILURE" and _gate(e.event_specific_data.error)]
    if not failed:
        raise SystemExit(f"run {result.run_id} failed (details in the Dagster UI: make ui)")
    print(f"  gate held ({'; '.join(failed)}): what depends on that data was not "
          f"run for {partition_key}; see run {result.run_id} in the UI (make ui)")
    return False


def _gate(error) -> bool:
    """A step failure that is a gate holding: a generation too short of its plan."""
    while error is not None:
        if error.cls_name == GenerationShortfall.__name__:
            return True
        error = error.cause
    return False


def _last_line(error) -> str:
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1][:300]


def results(lake: Lake) -> str:
    """What the demo prints at the end: the report's own sections that have data, as
    text (the page alone keeps the pictures and the provenance)."""
    shown = [s.text() for s in report.sections(lake) if s.has_data and s.terminal]
    return "\n\n".join([caps_line(), *shown])


def main() -> int:
    started = time.monotonic()
    lake = Lake()
    quiet_console(Path(instance().root_directory))
    print(f"lake: {lake.root}\nDagster home: {instance().root_directory}")
    print(f"LLM: {llm_line()}")
    step("real data of every task")
    run(["task_catalog"])
    for task in sorted(load_catalog()):
        run(["real_examples", "real_annotations"], partition_key=task)
    print(f"  {len(load_catalog())} tasks loaded ({time.monotonic() - started:.0f} s)")
    for task in DEMO_TASKS:
        task_started = time.monotonic()
        step(f"{task}: generation ({DEMO_N} per label, {', '.join(task_methods(task))}), "
             "checks, label fidelity, embeddings, diversity, classifiers, learning curves, "
             "instance level")
        if not run(task_selection(task), partition_key=task, ops=DEMO_CONFIG):
            # A gate blocks only the data that failed it: training leaves out a method
            # whose generation failed a blocking check (gates.failed_gates).
            print("  measuring and training on what passed (real data, the other methods)")
            run(after_generation(task), partition_key=task, ops=DEMO_CONFIG)
        now = time.monotonic()
        print(f"  done in {now - task_started:.0f} s ({now - started:.0f} s since the start)")
    step("subjectivity: an LLM judge's ranking of the demo tasks, objectivity proxies from "
         "real data, the report")
    run(SUBJECTIVITY, ops=SUBJECTIVITY_CONFIG)
    mismatched = lake.schema_mismatches()
    print(f"  {len(lake.tables())} tables, each stored with its declared schema" if not mismatched
          else f"  tables not as declared in synthlake/tables.py: {mismatched}")
    step("results (from the lake): the report's sections, without its pictures")
    print(results(lake))
    elapsed = time.monotonic() - started
    print(f"\ndone in {elapsed // 60:.0f} min {elapsed % 60:.0f} s. Where to look next:")
    print("  make ui                                   the Dagster UI on http://127.0.0.1:3000")
    print(f"  {lake.reports() / 'report.md'}   the report with its plots")
    print("  .venv/bin/synthlake sql sql/headline.sql  the table above, in SQL")
    print("  .venv/bin/synthlake sql sql/learning_curves.sql   the learning curves")
    print('  .venv/bin/synthlake sql "select reason, count(*) from synthetic_examples group by 1"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
