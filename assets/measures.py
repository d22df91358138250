"""Embeddings, diversity and similarity to real data, per task."""

import dagster as dg

from assets.config import EmbeddingParams
from assets.generation import synthetic_key
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.real import real_examples
from assets.resources import LakeResource
from synthlake import embed
from synthlake.analysis import plots
from synthlake.measures import diversity
from synthlake.vocabulary import Method

# Refresh after new generations, but only once their blocking quality checks passed.
AFTER_CHECKED_UPSTREAM = (dg.AutomationCondition.eager()
                          & dg.AutomationCondition.all_deps_blocking_checks_passed())


@dg.asset(partitions_def=task_partitions, group_name="measures", kinds={"delta"},
          deps=[real_examples, *[synthetic_key(m) for m in Method]],
          automation_condition=AFTER_CHECKED_UPSTREAM, metadata=table_metadata("embeddings"))
def embeddings(context: dg.AssetExecutionContext, config: EmbeddingParams,
               lake: LakeResource) -> dg.MaterializeResult:
    """Sentence embeddings of the real sample and all accepted synthetic texts."""
    settings = embed.EmbeddingConfig(**config.model_dump())
    report = embed.embed_task(lake.lake(), lake.task(context), context.run_id, settings)
    context.log.info(f"{report.rows} rows: {report.computed} embedded, {report.reused} from cache")
    return dg.MaterializeResult(metadata={
        "rows": report.rows, "embedded_now": report.computed, "from_cache": report.reused,
        "embedder": settings.embedder or embed.embedder_name(), "delta_version": report.version,
    })


@dg.multi_asset(
    specs=[dg.AssetSpec("diversity_metrics", deps=[embeddings], kinds={"delta"},
                        automation_condition=AFTER_CHECKED_UPSTREAM,
                        metadata=table_metadata("diversity_metrics")),
           dg.AssetSpec("similarity_to_real", deps=[embeddings], kinds={"delta"},
                        automation_condition=AFTER_CHECKED_UPSTREAM,
                        metadata=table_metadata("similarity_to_real"))],
    partitions_def=task_partitions, group_name="measures",
)
def diversity_and_similarity(context: dg.AssetExecutionContext, lake: LakeResource):
    """Remote clique and chamfer per source and label; mean top-5 similarity to real."""
    spec, store = lake.task(context), lake.lake()
    task = spec.name
    metrics, similarity, (v1, v2) = diversity.measure_task(store, spec, context.run_id)
    png = plots.diversity_by_source(metrics, task, store.reports() / f"diversity_{task}.png")
    pooled = metrics[(metrics["label"] == "ALL")].round(4)
    yield dg.MaterializeResult(asset_key="diversity_metrics", metadata={
        "pooled": markdown_table(pooled[["source", "n_kind", "n", "remote_clique", "chamfer"]]
                                 .to_dict("records")),
        "plot": dg.MetadataValue.md(plots.as_markdown_image(png, f"diversity of {task}")),
        "plot_path": dg.MetadataValue.path(str(png)),
        "delta_version": v1,
    })
    yield dg.MaterializeResult(asset_key="similarity_to_real", metadata={
        "by_source": markdown_table(similarity.round(4).to_dict("records")),
        "delta_version": v2,
    })
