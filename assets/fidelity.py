"""Label fidelity of the accepted synthetic rows, and coverage of the attribute values,
per task (every method)."""

import dagster as dg

from assets.config import FidelityParams
from assets.generation import synthetic_key
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.resources import LLM_POOL, LakeResource, LLMResource
from synthlake.analysis import plots
from synthlake.generation import fidelity
from synthlake.measures import coverage
from synthlake.vocabulary import FilterStage, Method


@dg.asset(partitions_def=task_partitions, group_name="generation", kinds={"delta"},
          deps=[synthetic_key(m) for m in Method], metadata=table_metadata("label_fidelity"),
          pool=LLM_POOL)
def label_fidelity(context: dg.AssetExecutionContext, config: FidelityParams,
                   lake: LakeResource, llm: LLMResource) -> dg.MaterializeResult:
    """Per synthetic row that passed the checks before fidelity (kept by the label filter
    or rejected by it), whether the method's judge (task YAML `fidelity.judge`) and the
    real-data oracle (a diagnostic) find the label it was generated for; the same judges
    on held-out real texts (their ceiling, and the filter's false-rejection rate)."""
    frame, versions, usage = fidelity.judge_task(
        lake.lake(), lake.task(context), context.run.run_id,
        fidelity.FidelityConfig(**config.model_dump()), endpoint=llm.endpoint_config())
    shares = fidelity.summary(frame) if len(frame) else None
    if shares is not None:
        for row in shares.itertuples():
            said = (f"{row.method}/{row.label} by {row.judge} ({row.role}), {row.filter}: "
                    f"{row.agree}/{row.n_named} named rows carry their label ({row.low:.2f} "
                    f"to {row.high:.2f}), {1 - row.named:.0%} abstained")
            if row.filter == FilterStage.REAL_HELDOUT and row.rejected == row.rejected:
                said += f"; the filter rejects {row.rejected:.0%} of these genuine texts"
            context.log.info(said)
            if row.named < 0.5 and row.filter == FilterStage.BEFORE:
                context.log.warning(f"{row.method}/{row.label}: {row.judge} named a label for "
                                    f"{row.named:.0%} of rows only; it has no signal here")
    return dg.MaterializeResult(metadata={
        "agreement_per_label": markdown_table(
            [] if shares is None else shares.drop(columns="task").to_dict("records")),
        "llm_judge_requests_sent": usage.get("requests_sent", 0),
        "llm_judge_from_journal": usage.get("cached", 0),
        "llm_judge_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
        "delta_versions": markdown_table([{"method": m, "version": v} for m, v in versions.items()]),
    })


@dg.asset(partitions_def=task_partitions, group_name="generation", kinds={"delta"},
          deps=[synthetic_key(m) for m in Method], metadata=table_metadata("attribute_coverage"))
def attribute_coverage(context: dg.AssetExecutionContext,
                       lake: LakeResource) -> dg.MaterializeResult:
    """Per method, label and attribute value: answers asked for it, accepted, and the share
    the label filter's judge found the label in (95% Wilson interval), with a heat map."""
    spec = lake.task(context)
    frame, version = coverage.write(lake.lake(), spec, context.run.run_id)
    failing = coverage.failing(lake.lake(), spec.name)
    if len(failing):
        context.log.warning(f"{spec.name}: {len(failing)} label x value cells with nothing "
                            f"accepted or fidelity under {spec.fidelity.min_agreement}")
    figure = plots.coverage(frame, spec.name,
                            lake.lake().reports() / f"coverage_{spec.name}.png")
    return dg.MaterializeResult(metadata={
        "heat_map": dg.MetadataValue.md(plots.as_markdown_image(figure, "coverage")),
        "cells": len(frame),
        "failing_cells": markdown_table(failing.drop(columns="task").to_dict("records")),
        "delta_version": version})
