"""Subjectivity (task and instance level) and the report that ties it to the gap."""


import dagster as dg

from assets.config import JudgeParams, ProxyParams
from assets.metadata import markdown_table, table_metadata
from assets.partitions import task_partitions
from assets.real import real_annotations, real_examples
from assets.resources import LLM_POOL, LakeResource, LLMResource
from synthlake import catalog
from synthlake.analysis import plots, report
from synthlake.subjectivity import proxies
from synthlake.subjectivity import ranking as subjectivity

# Written outside Dagster, by people answering `synthlake judge` in a terminal.
human_judgments = dg.AssetSpec(
    "human_judgments", group_name="subjectivity", kinds={"delta"},
    metadata=table_metadata("human_judgments"),
    description="People's answers to `synthlake judge`: which of two tasks is more objective "
                "(appended by the CLI; read at the next materialization of pairwise_judgments)")


@dg.asset(group_name="subjectivity", kinds={"delta"}, deps=[real_examples, human_judgments],
          metadata=table_metadata("pairwise_judgments"), pool=LLM_POOL)
def pairwise_judgments(context: dg.AssetExecutionContext, config: JudgeParams,
                       lake: LakeResource, llm: LLMResource) -> dg.MaterializeResult:
    """Which of two tasks is more objective, per judge (people, or an LLM)."""
    frame, version = subjectivity.write_judgments(
        lake.lake(), catalog.load_catalog(), context.run.run_id,
        subjectivity.JudgeConfig(**config.model_dump()), endpoint=llm.endpoint_config(),
        log=context.log.info)
    return dg.MaterializeResult(metadata={
        "judgments": len(frame), "judge_kind": ", ".join(sorted(set(frame["judge_kind"]))),
        "ties": int((frame["winner"] == "tie").sum()), "delta_version": version})


@dg.asset(group_name="subjectivity", kinds={"delta"}, deps=[pairwise_judgments],
          metadata=table_metadata("task_subjectivity"))
def task_subjectivity(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Bradley-Terry ranking of the tasks by objectivity (1-5 stars of subjectivity)."""
    frame = subjectivity.write_ranking(lake.lake(), sorted(catalog.load_catalog()),
                                       context.run.run_id)
    # Per ranking: the judge's order consistency, position bias and whether it has signal
    # (without it, no rank and no stars are drawn).
    judges = frame.groupby("method")[["consistency", "pairs_both_orders", "position_first",
                                      "signal"]].first()
    return dg.MaterializeResult(metadata={
        "ranking": markdown_table(frame.round(3).to_dict("records")),
        "reliability": markdown_table(judges.round(3).reset_index().to_dict("records"))})


@dg.asset(group_name="subjectivity", kinds={"delta"}, deps=[real_examples, real_annotations],
          metadata=table_metadata("objectivity_proxies"))
def objectivity_proxies(context: dg.AssetExecutionContext, config: ProxyParams,
                        lake: LakeResource) -> dg.MaterializeResult:
    """Proxies of each task's objectivity from real data alone (annotator agreement,
    surface predictability), beside the judges' rankings with Kendall's tau."""
    frame = proxies.write(lake.lake(), catalog.load_catalog(), context.run.run_id,
                          proxies.ProxyConfig(**config.model_dump()), log=context.log.info)
    agreement = subjectivity.ranking_agreement(
        lake.lake().connect().sql("SELECT * FROM rankings").df())
    return dg.MaterializeResult(metadata={
        "proxies": markdown_table(frame.round(3).to_dict("records")),
        "kendall_tau": markdown_table(agreement.round(3).to_dict("records"))
        if len(agreement) else "one ranking only"})


@dg.asset(group_name="analysis", kinds={"delta"},
          deps=["evaluations", task_subjectivity, objectivity_proxies],
          metadata=table_metadata("gap_correlations"))
def gap_correlations(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Spearman's rho of the real-vs-synthetic gap against each subjectivity ranking, with
    its interval over tasks and the number of tasks (none where a ranking has no signal)."""
    frame = subjectivity.write_gap_correlations(lake.lake(), context.run.run_id)
    return dg.MaterializeResult(metadata={
        "gap_correlations": markdown_table(frame.drop(columns=["spearman", "low", "high"])
                                           .to_dict("records")) if len(frame) else "none yet"})


@dg.multi_asset(
    specs=[dg.AssetSpec("instance_agreement", kinds={"delta"}, deps=[real_annotations],
                        metadata=table_metadata("instance_agreement")),
           dg.AssetSpec("instance_level_results", kinds={"delta"},
                        deps=[real_annotations, "predictions"],
                        metadata=table_metadata("instance_level_results"))],
    partitions_def=task_partitions, group_name="subjectivity",
)
def instance_level(context: dg.AssetExecutionContext, lake: LakeResource):
    """Annotator agreement per test example, and performance above agreement thresholds."""
    spec = lake.task(context)
    agreement, results = subjectivity.write_instance_level(lake.lake(), spec, context.run.run_id)
    yield dg.MaterializeResult(asset_key="instance_agreement",
                               metadata={"examples_with_agreement": len(agreement)})
    yield dg.MaterializeResult(asset_key="instance_level_results",
                               metadata={"rows": len(results)})


@dg.asset(group_name="analysis", kinds={"markdown"},
          deps=["evaluations", task_subjectivity, gap_correlations, "instance_level_results",
                "diversity_metrics"])
def report_page(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """One readable page: headline table, plots, provenance (from the lake)."""
    path, figures = report.build_report(lake.lake())
    metadata = {"report_path": dg.MetadataValue.path(str(path)),
                "report": dg.MetadataValue.md(path.read_text())}
    for name, png in figures.items():
        metadata[name] = dg.MetadataValue.md(plots.as_markdown_image(png, name))
    return dg.MaterializeResult(metadata=metadata)
