"""Classifiers trained on each source and evaluated on the real test split."""

import dagster as dg

from assets.config import TrainingParams
from assets.generation import synthetic_key
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.real import real_examples
from assets.resources import LakeResource
from synthlake.analysis import plots
from synthlake.evaluation import train
from synthlake.lake import query_file
from synthlake.vocabulary import Method

TRAINING_INPUTS = [real_examples, *[synthetic_key(m) for m in Method]]


@dg.multi_asset(
    specs=[dg.AssetSpec(name, kinds={"delta"}, metadata=table_metadata(name), deps=TRAINING_INPUTS)
           for name in ("evaluations", "source_scores", "predictions", "comparisons",
                        "training_dynamics",
                        "learning_curves", "real_equivalents")],
    partitions_def=task_partitions, group_name="evaluation",
)
def classifier_runs(context: dg.AssetExecutionContext, config: TrainingParams,
                    lake: LakeResource):
    """Fine-tuned and logistic-regression classifiers per training source and seed, the
    data map of every fine-tuned run (dataset cartography), the learning curves and what
    each synthetic source is worth in real texts per label."""
    spec = lake.task(context)
    settings = train.TrainConfig(**config.model_dump())
    frame = train.train_and_evaluate(lake.lake(), spec, context.run.run_id, settings,
                                     log=context.log.info)
    summary = (frame.groupby(["train_source", "classifier"])[["macro_f1", "accuracy"]]
               .agg(["mean", "std"]).round(4))
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    yield dg.MaterializeResult(asset_key="evaluations", metadata={
        "headline": markdown_table(summary.reset_index().to_dict("records")),
        "runs": len(frame),
    })
    scores = lake.lake().read("source_scores", where={"task": spec.name}).to_pandas()
    yield dg.MaterializeResult(asset_key="source_scores", metadata={
        "scores": markdown_table(scores.drop(columns="task").round(4).to_dict("records"))})
    yield dg.MaterializeResult(asset_key="predictions", metadata={"runs": len(frame)})
    compared = query_file(lake.lake(), "comparisons.sql")
    compared = compared[compared["task"] == spec.name].drop(columns="task")
    yield dg.MaterializeResult(asset_key="comparisons", metadata={
        "comparisons": markdown_table(compared.to_dict("records")),
        "distinguishable": int((compared["verdict"] != "not distinguishable").sum()),
        "compared": len(compared),
    })
    dynamics = lake.lake().read("training_dynamics", where={"task": spec.name}).to_pandas()
    figure = plots.data_map(dynamics, spec.name,
                            lake.lake().reports() / f"data_map_{spec.name}.png")
    regions = (dynamics.groupby(["train_source", "origin", "region"]).size()
               .rename("rows").reset_index().to_dict("records")) if len(dynamics) else []
    yield dg.MaterializeResult(asset_key="training_dynamics", metadata={
        "data_map": dg.MetadataValue.md(plots.as_markdown_image(figure, "data map")),
        "rows_per_region": markdown_table(regions),
    })
    figure = plots.learning_curve_figure(lake.lake(), spec.name)
    worth = query_file(lake.lake(), "real_equivalents.sql")
    worth = worth[worth["task"] == spec.name].drop(columns="task")
    yield dg.MaterializeResult(asset_key="learning_curves", metadata={
        "plot": dg.MetadataValue.md(plots.as_markdown_image(figure, "learning curves")),
    })
    yield dg.MaterializeResult(asset_key="real_equivalents", metadata={
        "real_equivalents": markdown_table(worth.to_dict("records")),
    })
