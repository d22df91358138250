"""Synthetic generation: one asset per method, partitioned by task.

`synthetic_examples/zero_shot` and `synthetic_examples/few_shot` write their method's
partition of the `synthetic_examples` Delta table (partitioned by task and method), and
`llm_responses/<method>` the raw answers. One asset per method, rather than a task x
method partition, lets one Dagster run take a task from real data through generation,
blocking quality checks and everything downstream.
"""

import dagster as dg

from assets.config import GenerationParams
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.real import real_examples
from assets.resources import LakeResource, LLMResource
from synthlake.generate import GenerationConfig, generate
from synthlake.vocabulary import Method


def synthetic_key(method: str) -> dg.AssetKey:
    # A plain string: Dagster serializes asset keys and refuses enum members.
    return dg.AssetKey(["synthetic_examples", Method(method).value])


def generation_asset(method: str) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"generate_{method}",
        specs=[
            dg.AssetSpec(synthetic_key(method), deps=[real_examples], kinds={"delta"},
                         description=f"{method} generations, parsed, with provenance",
                         metadata=table_metadata("synthetic_examples")),
            dg.AssetSpec(["llm_responses", method], deps=[real_examples], kinds={"delta"},
                         description=f"raw LLM answers of the {method} generation",
                         metadata=table_metadata("llm_responses")),
        ],
        partitions_def=task_partitions,
        group_name="generation",
    )
    def _generate(context: dg.AssetExecutionContext, config: GenerationParams,
                  lake: LakeResource, llm: LLMResource):
        spec = lake.task(context)

        def progress(label: str, accepted: int, target: int) -> None:
            # A log line at every quarter; answers beyond the quota become surplus.
            if accepted <= target and accepted % max(1, target // 4) == 0:
                context.log.info(f"{spec.name}/{method} {label}: {accepted}/{target} accepted")

        report = generate(lake.lake(), spec, method, context.run_id,
                          GenerationConfig(**config.model_dump()), llm.endpoint_config(), progress)
        context.log.info(f"done: accepted {report.accepted}, rejected {report.reasons}, "
                         f"shortfall {report.shortfall or 'none'}")
        if report.mismatched:
            context.log.info(f"label filter ({report.judge}) rejected {report.mismatched}")
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


generation_assets = [generation_asset(method.value) for method in Method]
