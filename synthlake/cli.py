"""`synthlake`: the pipeline from a terminal, with the same engine code the assets call.

    synthlake tasks                          list the catalogue
    synthlake real [--task T ...]            load real data into the lake
    synthlake sql "select ..."               query the lake (DuckDB); or a .sql file
    synthlake sql --at real_examples=3 ...   time travel: read a table at a Delta version
    synthlake history --task T               generation versions of a task (or --table T)
    synthlake diff --task T --from V1 --to V2  two generation versions compared
    synthlake export --task T --format hf    accepted examples to parquet, jsonl or a HF folder
    synthlake attributes --task T            the LLM proposes attribute dimensions and values
    synthlake generate --task T --method M   synthetic data (embedded model by default);
                                             exit 0: every quota met, 1: written with a
                                             reported shortfall, 2: error or refused shortfall
    synthlake rounds --task T --rounds 2     error-driven generation (after a method's rows)
    synthlake plan --task T --method M --n-per-label N [--batch]
                                             requests, tokens, cost and time, from a pilot
    synthlake llm serve                      run the embedded model server in the foreground
    synthlake train --task T                 classifiers per training source, real test split
    synthlake headline [--write-readme]      the real vs synthetic table, from the lake
    synthlake judge --pairs N [--judge-id J] which of two tasks is more objective, asked of
                                             you in the terminal (the paper's study);
                                             answers go to `human_judgments`
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import typing
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pydantic

from synthlake import catalog, realdata
from synthlake.evaluation.train import TrainConfig
from synthlake.generation.attributes import AttributeSetError
from synthlake.generation.generate import GenerationConfig, GenerationShortfall
from synthlake.generation.plan import PlanConfig
from synthlake.generation.rounds import RoundsConfig, RoundsError
from synthlake.lake import SQL_DIR, Lake, LakeError, split_sql
from synthlake.llm import BudgetExceeded, EndpointConfig, FatalLLMError
from synthlake.llm.embedded import LocalModelError
from synthlake.vocabulary import PROMPTED, AttributeSource, Classifier, Method, TrainSource


def new_run_id() -> str:
    return f"cli-{uuid.uuid4()}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (catalog.TaskSpecError, realdata.RealDataError, LakeError, FatalLLMError,
            BudgetExceeded, LocalModelError, GenerationShortfall, AttributeSetError,
            RoundsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except pydantic.ValidationError as exc:  # a flag out of its declared bounds
        problems = "; ".join(f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}"
                             for e in exc.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synthlake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", help="lake folder (default: $SYNTHLAKE_LAKE or ./lake)")
    sub = parser.add_subparsers(required=True, dest="command")

    p = sub.add_parser("tasks", help="list the task catalogue")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("real", help="load real data of tasks into real_examples")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    p.set_defaults(func=cmd_real)

    p = sub.add_parser("sql", help="run a query or a .sql file against the lake")
    p.add_argument("query", help="SQL text, or the path of a .sql file")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--at", action="append", default=[], metavar="TABLE=VERSION",
                   help="read TABLE as of a Delta version (time travel; repeatable)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("generate", help="generate synthetic examples for tasks and methods",
                       description="Exit 0 when every quota is met; 1 when a shortfall was "
                       "written (and reported); 2 on an error, or a shortfall larger than "
                       "--max-shortfall-share (the partition is left as it was).")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    p.add_argument("--method", action="append", choices=list(PROMPTED),
                   help=f"{', '.join(PROMPTED)} (repeatable; default: all; attributed needs "
                   "`synthlake attributes` first)")
    p.add_argument("--judge", choices=typing.get_args(catalog.JudgeChoice),
                   help="the label filter's judge for this run (default: the task's "
                   "fidelity.judge); none: no filter")
    add_config_options(p, GenerationConfig, GENERATION_OPTIONS)
    add_config_options(p, EndpointConfig, ENDPOINT_OPTIONS)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("attributes", help="ask the LLM for the attribute dimensions and "
                       "values of tasks (attributed generation samples them)")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    add_config_options(p, EndpointConfig, ENDPOINT_OPTIONS)
    p.set_defaults(func=cmd_attributes)

    p = sub.add_parser("plan", help="forecast a generation's requests, tokens, cost and "
                       "time from a small pilot (journaled: the full run reuses it)")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    add_config_options(p, PlanConfig, PLAN_OPTIONS)  # its --batch: forecast batch mode
    add_config_options(p, GenerationConfig, GENERATION_OPTIONS, nested_default(PlanConfig))
    p.add_argument("--price-in", type=float, help="USD per million prompt tokens of the model")
    p.add_argument("--price-out", type=float, help="USD per million completion tokens")
    add_config_options(p, EndpointConfig, PILOT_ENDPOINT_OPTIONS)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("rounds", help="error-driven generation: rounds of training, finding "
                       "the real texts the classifier gets wrong, and asking for more like them")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    add_config_options(p, RoundsConfig, ROUNDS_OPTIONS)
    add_config_options(p, GenerationConfig, GENERATION_OPTIONS, nested_default(RoundsConfig))
    add_config_options(p, EndpointConfig, ENDPOINT_OPTIONS)
    p.set_defaults(func=cmd_rounds)

    p = sub.add_parser("train", help="train and evaluate classifiers per training source")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    p.add_argument("--source", action="append", choices=list(TrainSource))
    p.add_argument("--classifier", action="append", choices=list(Classifier))
    p.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: the config's seeds)")
    add_config_options(p, TrainConfig, TRAIN_OPTIONS)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("headline", help="print the headline table (Markdown)")
    p.add_argument("--write-readme", type=Path, nargs="?", const=Path("README.md"),
                   help="also replace the table between the headline markers of README.md")
    p.set_defaults(func=cmd_headline)

    p = sub.add_parser("judge", help="judge pairs of tasks yourself: which is more objective")
    p.add_argument("--pairs", type=int, default=10, help="pairs to show (default 10)")
    p.add_argument("--judge-id", help="who is judging (default: $USER)")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    p.add_argument("--seed", type=int, help="seed of the pairs shown (default: random)")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("llm", help="the embedded model")
    llm_sub = p.add_subparsers(required=True, dest="llm_command")
    serve = llm_sub.add_parser("serve", help="serve SmolLM2-135M-Instruct on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_llm_serve)

    p = sub.add_parser("history", help="generation versions of a task, or a table's commits")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--task")
    group.add_argument("--table")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("diff", help="compare two generation versions of a task")
    p.add_argument("--task", required=True)
    p.add_argument("--from", dest="old", type=int, required=True)
    p.add_argument("--to", dest="new", type=int, required=True)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("export", help="export accepted synthetic examples")
    p.add_argument("--task", required=True)
    p.add_argument("--method", choices=list(Method))
    p.add_argument("--format", choices=["parquet", "jsonl", "hf"], default="parquet")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_export)
    return parser


def lake_of(args) -> Lake:
    return Lake(args.lake) if args.lake else Lake()


def selected_tasks(names: list[str] | None) -> list[catalog.TaskSpec]:
    tasks = catalog.load_catalog()
    unknown = set(names or []) - set(tasks)
    if unknown:
        raise catalog.TaskSpecError(f"unknown tasks {sorted(unknown)}; known: {sorted(tasks)}")
    return [tasks[n] for n in (names or sorted(tasks))]


def cmd_tasks(args) -> None:
    for spec in catalog.load_catalog().values():
        print(f"{spec.name:26} {len(spec.labels):2} labels  {', '.join(spec.label_names)[:70]}")


def cmd_real(args) -> None:
    lake, run_id = lake_of(args), new_run_id()
    for spec in selected_tasks(args.task):
        real, version = realdata.write_real_examples(lake, spec, run_id)
        annotations, _ = realdata.write_real_annotations(lake, spec, run_id)
        dropped = sum(d.count for d in real.drops if d.removes_rows)
        print(f"{spec.name:26} {real.examples.num_rows:6} rows  {dropped:4} dropped  "
              f"{annotations.num_rows:5} annotations  (real_examples v{version})")
        for drop in real.drops:
            print(f"{'':28}- {drop.split}: {drop.count} x {drop.reason}")
        for note in real.ignored_notes():
            print(f"{'':28}- {note}")


def sql_text(query: str) -> str:
    """A query, or the text of a .sql file: a path, or the name of a shipped query
    (`headline.sql` finds the package's own, wherever the command runs)."""
    if not query.rstrip().lower().endswith(".sql") or "\n" in query:
        return query
    for path in (Path(query), SQL_DIR / Path(query).name):
        if path.is_file():
            return path.read_text()
    shipped = ", ".join(sorted(p.name for p in SQL_DIR.glob("*.sql")))
    raise LakeError(f"{query}: no such file (shipped queries: {shipped})")


def cmd_sql(args) -> None:
    import duckdb

    query = sql_text(args.query)
    versions = {}
    for item in args.at:
        table, _, version = item.partition("=")
        if not version.isdigit():
            raise LakeError(f"--at expects TABLE=VERSION, got {item!r}")
        versions[table] = int(version)
    con = lake_of(args).connect(versions)
    *setup, last = split_sql(query) or [""]
    try:
        for statement in setup:
            con.execute(statement)
        frame = con.sql(last).df()
    except duckdb.Error as exc:  # one line: what DuckDB said, not a traceback
        raise LakeError(f"SQL: {' '.join(str(exc).split())}") from None
    print(render(frame, args.format))


def render(frame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return json.dumps(frame.to_dict(orient="records"), default=str, indent=1)
    if frame.empty:
        return "(no rows)\n" + " | ".join(frame.columns)
    return frame.to_string(index=False, max_colwidth=80)


# Engine fields offered as flags (flag name, when not the field's), declared by the engine.
GENERATION_OPTIONS = {"n_per_label": None, "temperature": None, "seed": None,
                      "max_tokens": None, "max_shortfall_share": None}
ENDPOINT_OPTIONS = {"max_concurrency": "--concurrency", "timeout_s": "--timeout",
                    "max_total_tokens": None, "max_cost_usd": None, "batch": None}
PLAN_OPTIONS = {"method": None, "pilot_per_label": None, "batch": None}
# A plan's pilot goes online; `--batch` there names the mode forecast.
PILOT_ENDPOINT_OPTIONS = {k: v for k, v in ENDPOINT_OPTIONS.items() if k != "batch"}
ROUNDS_OPTIONS = {"rounds": None, "start": None, "max_test": None}
TRAIN_OPTIONS = {"epochs": None, "model": None, "batch_size": None, "learning_rate": None,
                 "validation_share": None, "max_train_real": None, "max_test": None}


def add_config_options(parser, model, options: Mapping[str, str | None],
                       defaults: pydantic.BaseModel | None = None) -> None:
    """One flag per chosen field of an engine config: type, help and default from the
    field's declaration (or from `defaults`, the config as nested elsewhere); unset flags
    leave the config (or the environment) to decide."""
    for name, flag in options.items():
        field = model.model_fields[name]
        kind = next((t for t in (bool, int, float, str) if t in _types_of(field.annotation)), str)
        value = getattr(defaults, name) if defaults is not None else field.default
        default = "" if value is None else f" (default {value})"
        how = {"action": "store_const", "const": True} if kind is bool else {"type": kind}
        parser.add_argument(flag or "--" + name.replace("_", "-"), dest=name, **how,
                            help=f"{field.description}{default}")


def nested_default(model) -> GenerationConfig:
    """The generation settings a config nests by default (a plan's: 3,000 per label)."""
    return model.model_fields["generation"].get_default(call_default_factory=True)


def with_generation(model, args, options: dict):
    """`model` (RoundsConfig, PlanConfig) from its own flags and the generation flags."""
    generation = GenerationConfig(**{**nested_default(model).model_dump(),
                                     **given(args, GENERATION_OPTIONS)})
    return model(generation=generation, **given(args, options))


def _types_of(annotation) -> tuple:
    return typing.get_args(annotation) or (annotation,)


def given(args, options: dict) -> dict:
    return {name: getattr(args, name) for name in options if getattr(args, name) is not None}


def cmd_generate(args) -> int:
    from synthlake.generation.generate import generate
    from synthlake.progress import Bars, attached

    lake, run_id = lake_of(args), new_run_id()
    config = GenerationConfig(**given(args, GENERATION_OPTIONS))
    endpoint = EndpointConfig.from_env(**given(args, ENDPOINT_OPTIONS))
    short = []
    for spec in selected_tasks(args.task):
        spec = spec.with_judge(args.judge) if args.judge else spec
        for method in args.method or list(PROMPTED):
            with attached(Bars()):
                report = generate(lake, spec, run_id, config, method=method, endpoint=endpoint)
            usage = report.usage
            print(f"  accepted {report.accepted}  rejected {report.reasons or 0}  "
                  f"shortfall {report.shortfall or 'none'}")
            print(f"  requests {usage['requests_sent']} sent, {usage['cached']} from the journal, "
                  f"{usage['retries']} retries, {usage['prompt_tokens']}+"
                  f"{usage['completion_tokens']} tokens, {usage['elapsed_s']} s")
            if report.judge:
                judged = report.judge_usage
                print(f"  label filter ({report.judge}): rejected {report.mismatched or 0}; "
                      f"its LLM requests {judged['requests_sent']} sent, {judged['cached']} "
                      f"from the journal, {judged['prompt_tokens']}+"
                      f"{judged['completion_tokens']} tokens")
            if report.shortfall:
                short.append(report.shortfall_text())
    for line in short:
        print(f"warning: {line} (written; see the shortfall above)", file=sys.stderr)
    return 1 if short else 0


def cmd_attributes(args) -> None:
    from synthlake.generation import attributes

    lake, run_id = lake_of(args), new_run_id()
    endpoint = EndpointConfig.from_env(**given(args, ENDPOINT_OPTIONS))
    for spec in selected_tasks(args.task):
        report = attributes.propose(lake, spec, run_id, endpoint=endpoint)
        frame, usage = report.frame, report.usage
        print(f"{spec.name}: {len(frame)} values in {frame['dimension'].nunique()} dimensions, "
              f"{(frame['source'] == AttributeSource.LLM).sum()} proposed by the LLM "
              f"({usage.get('requests_sent', 0)} requests sent, {usage.get('cached', 0)} "
              "from the journal)")
        print(render(frame, "table"))


def cmd_plan(args) -> None:
    from synthlake.generation import plan

    config = with_generation(PlanConfig, args, PLAN_OPTIONS)
    endpoint = EndpointConfig.from_env(**given(args, PILOT_ENDPOINT_OPTIONS))
    if args.price_in is not None or args.price_out is not None:
        endpoint = endpoint.model_copy(update={"prices_per_million": {
            endpoint.model_label(): [args.price_in or 0.0, args.price_out or 0.0]}})
    lake = lake_of(args)
    for spec in selected_tasks(args.task):
        frame = plan.forecast(lake, spec, config, endpoint=endpoint)
        mode = "batch" if config.batch else "online"
        print(f"{spec.name}/{config.method}: {config.generation.n_per_label} per label, {mode}, from a "
              f"pilot of {config.pilot_per_label} per label")
        print(render(frame, "table"))


def cmd_rounds(args) -> None:
    from synthlake.generation import rounds

    lake, run_id = lake_of(args), new_run_id()
    config = with_generation(RoundsConfig, args, ROUNDS_OPTIONS)
    endpoint = EndpointConfig.from_env(**given(args, ENDPOINT_OPTIONS))
    for spec in selected_tasks(args.task):
        rounds.run(lake, spec, run_id, config, endpoint=endpoint)


def cmd_train(args) -> None:
    from synthlake.evaluation import train

    lists = {"sources": args.source, "classifiers": args.classifier,
             "seeds": list(range(args.seeds)) if args.seeds else None}
    config = TrainConfig(**given(args, TRAIN_OPTIONS),
                         **{k: v for k, v in lists.items() if v is not None})
    lake, run_id = lake_of(args), new_run_id()
    for spec in selected_tasks(args.task):
        train.train_and_evaluate(lake, spec, run_id, config)


HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"


def cmd_headline(args) -> None:
    from synthlake.analysis.report import headline_markdown

    table = headline_markdown(lake_of(args))
    print(table)
    if args.write_readme:
        text = args.write_readme.read_text()
        if HEADLINE_START not in text or HEADLINE_END not in text:
            raise LakeError(f"{args.write_readme}: no {HEADLINE_START} ... {HEADLINE_END} block")
        head, rest = text.split(HEADLINE_START, 1)
        _, tail = rest.split(HEADLINE_END, 1)
        note = "\n_Generated from the lake by `synthlake headline --write-readme`._\n\n"
        args.write_readme.write_text(f"{head}{HEADLINE_START}{note}{table}\n{HEADLINE_END}{tail}")


ANSWERS = {"a": "A", "b": "B", "t": "tie", "tie": "tie"}


def ask_choice(prompt: str) -> str | None:
    """'A', 'B' or 'tie' from standard input; None on 'q' or the end of the input."""
    while True:
        try:
            answer = input(prompt).strip().lower()
        except EOFError:
            return None
        if answer in ("q", "quit"):
            return None
        if answer in ANSWERS:
            return ANSWERS[answer]
        print("  please answer a, b, t (tie) or q (quit)")


def cmd_judge(args) -> int:
    import os

    import pyarrow as pa

    from synthlake.subjectivity import ranking as subjectivity

    if args.pairs < 1:
        raise LakeError("--pairs: at least 1")
    specs = {spec.name: spec for spec in selected_tasks(args.task)}
    if len(specs) < 2:
        raise catalog.TaskSpecError("--task: at least two tasks to compare")
    lake, run_id = lake_of(args), new_run_id()
    judge_id = args.judge_id or os.environ.get("USER") or "anonymous"
    examples = subjectivity.card_examples(lake, specs, seed=args.seed or 0, k=2)
    print(f"Which of two tasks is more objective?\n{subjectivity.OBJECTIVE_DEFINITION}\n")
    recorded = 0
    pairs = subjectivity.random_pairs(sorted(specs), args.pairs, args.seed)
    for i, (a, b) in enumerate(pairs, 1):
        print(f"-- pair {i} of {len(pairs)} --\n\nTask A:\n"
              f"{subjectivity.task_card(specs[a], examples[a])}\n\nTask B:\n"
              f"{subjectivity.task_card(specs[b], examples[b])}\n")
        choice = ask_choice("More objective: a, b, t (tie), q (quit)? ")
        if choice is None:
            break
        row = {"task_a": a, "task_b": b, "winner": {"A": a, "B": b}.get(choice, "tie"),
               "judge_id": judge_id, "judge_kind": "human",
               "judged_at": datetime.now(UTC)}
        # One commit per answer: a judge who stops halfway keeps what they said.
        lake.append("human_judgments", pa.Table.from_pylist([row]), run_id)
        recorded += 1
    print(f"recorded {recorded} judgments as {judge_id!r} in human_judgments; they join the "
          "ranking at the next materialization of pairwise_judgments and task_subjectivity")
    return 0 if recorded else 1


def cmd_llm_serve(args) -> None:
    import signal

    from synthlake.llm import embedded

    def exit_cleanly(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds the `with`, which stops the server

    # What a service manager, `timeout` or a closing terminal sends; SIGINT is Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, exit_cleanly)
    with embedded.start_server(port=args.port) as server:
        print(f"embedded model at {server.base_url} (model {server.model}); Ctrl-C stops it")
        print(f"  OPENAI_BASE_URL={server.base_url} SYNTHLAKE_MODEL={server.model}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()


def cmd_history(args) -> None:
    lake = lake_of(args)
    if args.task:
        from synthlake.measures import versions

        print(render(versions.history(lake, args.task), "table"))
        return
    for entry in lake.history(args.table):
        meta = {k: entry.get(k) for k in ("version", "timestamp", "operation", "run_id",
                                          "partition")}
        meta["timestamp"] = datetime.fromtimestamp(entry["timestamp"] / 1000, UTC).isoformat()
        print(json.dumps(meta, default=str))


def cmd_diff(args) -> None:
    from synthlake.measures import versions

    try:
        result = versions.diff(lake_of(args), args.task, args.old, args.new)
    except ValueError as exc:
        raise LakeError(str(exc)) from exc
    old, new = result["from"], result["to"]
    for key in ("method", "accepted", "rejected", "per_label", "reasons", "label_filter",
                "label_mismatch", "judge_agreement", "remote_clique", "chamfer", "mean_words"):
        print(f"{key:14} v{old['version']}: {_short_value(old[key]):40} "
              f"v{new['version']}: {_short_value(new[key])}")
    for name in ("from", "to"):
        metrics = result[name]["metrics"]
        shown = metrics.to_dict() if len(metrics) else "no evaluation after this version"
        print(f"metrics after v{result[name]['version']}: {shown}")


def _short_value(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def cmd_export(args) -> None:
    from synthlake.analysis import export

    try:
        path = export.export(lake_of(args), args.task, args.method, args.format, args.out)
    except ValueError as exc:
        raise LakeError(str(exc)) from exc
    print(f"exported to {path} (dataset card: {args.out / 'README.md'})")


if __name__ == "__main__":
    sys.exit(main())
