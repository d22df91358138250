"""Synthetic generation: the attribute set, then one asset per method, partitioned by task.

`attributes` asks the LLM for the task's attribute dimensions and values (with the task
file's pins, additions and bans); `synthetic_examples/<method>` writes its method's
partition of the `synthetic_examples` Delta table (partitioned by task and method), and
`llm_responses/<method>` the raw answers. One asset per method, rather than a task x
method partition, lets one Dagster run take a task from real data through generation,
blocking quality checks and everything downstream.
"""

import dagster as dg

from assets.config import AttributeParams, GenerationParams, PlanParams, RoundsParams
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.real import real_examples
from assets.resources import LLM_POOL, LakeResource, LLMResource
from synthlake.analysis import plots
from synthlake.generation import attributes as attribute_sets
from synthlake.generation import plan, rounds
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.vocabulary import PROMPTED, AttributeSource, Method


@dg.asset(partitions_def=task_partitions, group_name="generation", kinds={"delta"},
          deps=[real_examples], metadata=table_metadata("attributes"), pool=LLM_POOL)
def attributes(context: dg.AssetExecutionContext, config: AttributeParams, lake: LakeResource,
               llm: LLMResource) -> dg.MaterializeResult:
    """Dimensions and values attributed generation samples: proposed by the LLM (journaled),
    pinned, added or forbidden by the task file, added by the run."""
    spec = lake.task(context)
    report = attribute_sets.propose(
        lake.lake(), spec, context.run.run_id,
        attribute_sets.AttributeConfig(**config.model_dump()), endpoint=llm.endpoint_config())
    frame, usage = report.frame, report.usage
    shown = frame.assign(label=frame["label"].fillna("(every label)"))
    summary = shown.groupby(["label", "dimension", "source"]).agg(
        values=("value", lambda v: "; ".join(v))).reset_index()
    proposed = int((frame["source"] == AttributeSource.LLM).sum())
    context.log.info(f"{spec.name}: {len(frame)} values in {frame['dimension'].nunique()} "
                     f"dimensions, {proposed} of them proposed by the LLM "
                     f"({usage.get('requests_sent', 0)} requests sent)")
    if spec.attributes.propose and not proposed:
        context.log.warning(f"{spec.name}: the LLM proposed no usable value (small models "
                            "rarely answer with a list); the set is the task file's")
    return dg.MaterializeResult(metadata={
        "values": markdown_table(summary.to_dict("records")),
        "dimensions": int(frame["dimension"].nunique()), "rows": len(frame),
        "proposed_by_llm": proposed,
        "requests_sent": usage.get("requests_sent", 0), "from_journal": usage.get("cached", 0),
        "delta_version": report.version})


def synthetic_key(method: str) -> dg.AssetKey:
    # A plain string: Dagster serializes asset keys and refuses enum members.
    return dg.AssetKey(["synthetic_examples", Method(method).value])


def generation_asset(method: str) -> dg.AssetsDefinition:
    inputs = [real_examples, *([attributes] if method == Method.ATTRIBUTED else [])]

    @dg.multi_asset(
        name=f"generate_{method}",
        specs=[
            dg.AssetSpec(synthetic_key(method), deps=inputs, kinds={"delta"},
                         description=f"{method} generations, parsed, with provenance",
                         metadata=table_metadata("synthetic_examples")),
            dg.AssetSpec(["llm_responses", method], deps=inputs, kinds={"delta"},
                         description=f"raw LLM answers of the {method} generation",
                         metadata=table_metadata("llm_responses")),
        ],
        partitions_def=task_partitions,
        group_name="generation",
        pool=LLM_POOL,
    )
    def _generate(context: dg.AssetExecutionContext, config: GenerationParams,
                  lake: LakeResource, llm: LLMResource):
        spec = lake.task(context)

        def progress(label: str, accepted: int, target: int) -> None:
            # A log line at every quarter; answers beyond the quota become surplus.
            if accepted <= target and accepted % max(1, target // 4) == 0:
                context.log.info(f"{spec.name}/{method} {label}: {accepted}/{target} accepted")

        report = generate(lake.lake(), spec, context.run_id,
                          GenerationConfig(**config.model_dump()), method=method,
                          endpoint=llm.endpoint_config(), progress=progress)
        context.log.info(f"done: accepted {report.accepted}, rejected {report.reasons}, "
                         f"shortfall {report.shortfall or 'none'}")
        if report.mismatched:
            context.log.info(f"label filter ({report.judge}) rejected {report.mismatched}")
        for row in report.calibration:
            context.log.info(f"label filter on {row['n']} held-out real {row['label']} texts: "
                             f"bar {row['bar']}, rejects {row['rejected']} ({row['rejected_low']:.2f}"
                             f" to {row['rejected_high']:.2f}), agrees on {row['agree']} of "
                             f"{row['named']} named")
        if report.shortfall:
            context.log.warning(report.shortfall_text())
        yield dg.MaterializeResult(asset_key=synthetic_key(method), metadata={
            "accepted_per_label": markdown_table(
                [{"label": k, "accepted": v} for k, v in report.accepted.items()]),
            "rejected_per_reason": markdown_table(
                [{"reason": k, "rows": v} for k, v in sorted(report.reasons.items())]),
            "shortfall": markdown_table([{"label": k, "missing": v}
                                         for k, v in report.shortfall.items()]),
            "label_filter_judge": report.judge or "none",
            "label_mismatches_per_label": markdown_table(
                [{"label": k, "rejected": v} for k, v in report.mismatched.items()]),
            # What the filter does to genuine texts: its ceiling and false-rejection rate.
            "label_filter_on_held_out_real": markdown_table(report.calibration),
            "fidelity_calibration_version": report.calibration_version,
            "label_filter_llm_tokens": report.judge_usage["prompt_tokens"]
            + report.judge_usage["completion_tokens"],
            "model": report.model,
            "prompt_version": spec.prompt_version,
            "samples": markdown_table(report.samples),
            "delta_version": report.examples_version,
        })
        usage = report.usage
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["llm_responses", method]), metadata={
            "requests_sent": usage["requests_sent"], "from_journal": usage["cached"],
            "retries": usage["retries"], "failures": usage["failures"],
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"], "cost_usd": usage["cost_usd"],
            "requests_per_s": usage["requests_per_s"], "elapsed_s": usage["elapsed_s"],
            "delta_version": report.responses_version,
        })

    return _generate


@dg.multi_asset(
    name="generate_error_driven",
    specs=[
        dg.AssetSpec(synthetic_key(Method.ERROR_DRIVEN), kinds={"delta"},
                     deps=[real_examples, *[synthetic_key(m) for m in PROMPTED]],
                     description="error-driven generations: more like the real texts a "
                                 "classifier trained on the set so far gets wrong",
                     metadata=table_metadata("synthetic_examples")),
        dg.AssetSpec(["llm_responses", Method.ERROR_DRIVEN.value], kinds={"delta"},
                     deps=[real_examples], metadata=table_metadata("llm_responses"),
                     description="raw LLM answers of the error-driven rounds"),
        dg.AssetSpec("error_rounds", kinds={"delta"}, deps=[real_examples],
                     metadata=table_metadata("error_rounds"),
                     description="each round's classifier and its macro-F1 (written "
                                 "with the run's rows, once its last round is done)"),
    ],
    partitions_def=task_partitions,
    group_name="generation",
    pool=LLM_POOL,
)
def generate_error_driven(context: dg.AssetExecutionContext, config: RoundsParams,
                          lake: LakeResource, llm: LLMResource):
    """Round 0 samples another method's kept rows; each round trains a classifier, and
    the seed-pool texts it gets wrong become the next requests' demonstrations."""
    spec = lake.task(context)
    found = rounds.run(lake.lake(), spec, context.run.run_id,
                       rounds.RoundsConfig(**config.model_dump()), endpoint=llm.endpoint_config(),
                       log=context.log.info)
    figure = plots.rounds(found, spec.name,
                          lake.lake().reports() / f"rounds_{spec.name}.png")
    yield dg.MaterializeResult(asset_key=synthetic_key(Method.ERROR_DRIVEN), metadata={
        "rows_per_round": markdown_table(found.drop(columns="task").to_dict("records"))})
    usage = found.attrs.get("usage", {})
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["llm_responses", Method.ERROR_DRIVEN.value]),
                               metadata={"requests_sent": usage.get("requests_sent", 0),
                                         "from_journal": usage.get("cached", 0)})
    yield dg.MaterializeResult(asset_key=dg.AssetKey("error_rounds"), metadata={
        "f1_by_round": dg.MetadataValue.md(plots.as_markdown_image(figure, "rounds")),
        "rounds": len(found) - 1})


@dg.asset(partitions_def=task_partitions, group_name="generation", deps=[real_examples],
          pool=LLM_POOL)
def generation_plan(context: dg.AssetExecutionContext, config: PlanParams, lake: LakeResource,
                    llm: LLMResource) -> dg.MaterializeResult:
    """Before spending: a pilot of the planned generation (journaled, so the full run
    reuses it) and the full run's requests, tokens, cost and wall time extrapolated, with
    the pilot's acceptance and label fidelity (95% intervals)."""
    spec = lake.task(context)
    frame = plan.forecast(lake.lake(), spec, plan.PlanConfig(**config.model_dump()),
                          endpoint=llm.endpoint_config())
    figures = frame.set_index("quantity")["forecast"]
    context.log.info(f"{spec.name}/{config.method} at {config.generation.n_per_label} per label: "
                     f"{figures['requests']:.0f} requests, {figures['tokens']:.0f} tokens, "
                     f"{figures['cost_usd']:.2f} USD")
    return dg.MaterializeResult(metadata={
        "forecast": markdown_table(frame.round(4).to_dict("records")),
        "requests": float(figures["requests"]), "tokens": float(figures["tokens"]),
        "cost_usd": float(figures["cost_usd"]), "acceptance": float(figures["acceptance"])})


generation_assets = [*[generation_asset(method.value) for method in PROMPTED],
                     generate_error_driven]
