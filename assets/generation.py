"""Synthetic generation: one partition per task x method, raw answers kept apart."""

import dagster as dg

from assets.metadata import markdown_table
from assets.real import real_examples
from orchestration.partitions import task_method_partitions
from orchestration.resources import LakeResource, LLMResource
from synthlake import catalog
from synthlake.generate import GenerationConfig, generate


class GenerationParams(dg.Config):
    """Launchpad settings of a generation run (the paper used 3,000 per label)."""

    n_per_label: int = 10
    temperature: float = 1.0
    seed: int = 0
    max_attempts_factor: float = 4.0
    streams_per_label: int = 4


@dg.multi_asset(
    specs=[
        dg.AssetSpec("synthetic_examples", deps=[real_examples], kinds={"delta"},
                     description="Parsed generations with provenance, accepted and rejected"),
        dg.AssetSpec("llm_responses", deps=[real_examples], kinds={"delta"},
                     description="Raw LLM answers of the generation (the journal, folded)"),
    ],
    partitions_def=task_method_partitions,
    group_name="generation",
)
def synthetic_generation(context: dg.AssetExecutionContext, config: GenerationParams,
                         lake: LakeResource, llm: LLMResource):
    keys = context.partition_key.keys_by_dimension
    spec, method = catalog.get_task(keys["task"]), keys["method"]
    params = GenerationConfig(**config.model_dump())

    def progress(label: str, accepted: int, target: int) -> None:
        if accepted % max(1, target // 4) == 0:  # a log line at every quarter
            context.log.info(f"{spec.name}/{method} {label}: {accepted}/{target} accepted")

    report = generate(lake.lake(), spec, method, context.run_id, params,
                      llm.endpoint_config(), progress)
    usage = report.usage
    context.log.info(f"done: accepted {report.accepted}, rejected {report.reasons}, "
                     f"shortfall {report.shortfall or 'none'}")
    yield dg.MaterializeResult(asset_key="synthetic_examples", metadata={
        "accepted_per_label": markdown_table(
            [{"label": k, "accepted": v} for k, v in report.accepted.items()]),
        "rejected_per_reason": markdown_table(
            [{"reason": k, "rows": v} for k, v in sorted(report.reasons.items())]),
        "shortfall": markdown_table([{"label": k, "missing": v}
                                     for k, v in report.shortfall.items()]),
        "model": report.model,
        "prompt_version": spec.prompt_version,
        "samples": markdown_table(report.samples),
        "delta_version": report.examples_version,
    })
    yield dg.MaterializeResult(asset_key="llm_responses", metadata={
        "requests_sent": usage["requests_sent"],
        "from_journal": usage["cached"],
        "retries": usage["retries"],
        "failures": usage["failures"],
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "cost_usd": usage["cost_usd"],
        "requests_per_s": usage["requests_per_s"],
        "elapsed_s": usage["elapsed_s"],
        "delta_version": report.responses_version,
    })
