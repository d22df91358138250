"""Real data: the task catalogue, real examples and their annotations."""


import dagster as dg

from assets.metadata import markdown_table, preview, table_metadata
from assets.partitions import task_partitions
from assets.resources import LakeResource
from synthlake import catalog, realdata


@dg.asset(group_name="real", kinds={"delta"}, metadata=table_metadata("task_catalog"))
def task_catalog(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Every task of the catalogue, one row each (`task_catalog` table)."""
    tasks = catalog.load_catalog()
    version = lake.lake().write_partition("task_catalog", catalog.catalog_table(tasks), {},
                                          context.run_id)
    return dg.MaterializeResult(metadata={"tasks": len(tasks), "delta_version": version})


@dg.asset(group_name="real", partitions_def=task_partitions, kinds={"delta"},
          metadata=table_metadata("real_examples"))
def real_examples(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Validated real data of one task, all splits (`real_examples` table)."""
    spec = lake.task(context)
    real, version = realdata.write_real_examples(lake.lake(), spec, context.run_id)
    counts = real.counts()
    context.log.info(f"{spec.name}: {real.examples.num_rows} rows kept, drops: {real.drops}")
    for note in real.ignored_notes():
        context.log.warning(f"{spec.name}: {note}")
    return dg.MaterializeResult(metadata={
        "rows": real.examples.num_rows,
        "rows_per_split_and_label": markdown_table(
            [{"split": s, "label": lab, "rows": n} for s, c in counts.items() for lab, n in c.items()]
        ),
        "drops": markdown_table([vars(d) for d in real.drops]),
        "ignored_files": markdown_table([{"file": name} for name in real.ignored_files]),
        "source": real.source,
        "preview": preview(real.examples, ["split", "label", "text"]),
        "delta_version": version,
    })


@dg.asset(group_name="real", partitions_def=task_partitions, deps=[real_examples], kinds={"delta"},
          metadata=table_metadata("real_annotations"))
def real_annotations(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Annotator labels or agreement levels of the real examples (`real_annotations`)."""
    spec = lake.task(context)
    table, version = realdata.write_real_annotations(lake.lake(), spec, context.run_id)
    return dg.MaterializeResult(metadata={
        "rows": table.num_rows,
        "kind": spec.data.annotations.kind if spec.data.annotations else "none",
        "delta_version": version,
    })
