"""Blocking Dagster asset checks that run the Great Expectations suites.

One check per suite, so the UI names what failed. A failed check has ERROR severity and
is blocking: assets downstream of `synthetic_examples` (embeddings, training) do not run
in that run. An advisory expectation (a judge without signal) fails with WARN severity:
shown, not blocking. Outcomes are also appended to the `quality_results` Delta table.
"""

import warnings

import dagster as dg

from assets.generation import synthetic_key
from assets.metadata import markdown_table
from assets.partitions import task_partitions
from assets.resources import LakeResource
from quality import suites
from synthlake.vocabulary import Method

# Partitioned asset checks are "preview" in Dagster 1.13; we rely on them knowingly.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _result(outcomes: list, version: int) -> dg.AssetCheckResult:
    """Failed with ERROR severity (blocking) if a blocking expectation failed; with WARN
    (shown, not blocking) if only advisory ones did."""
    failed = [o for o in outcomes if not o.passed]
    blocking = [o for o in failed if not o.advisory]
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking or not failed
        else dg.AssetCheckSeverity.WARN,
        description=("; ".join(suites.describe(o) for o in failed) or "all expectations met"),
        metadata={
            "failing_expectations": markdown_table(
                [{"expectation": o.expectation, "column": o.column, "observed": o.observed}
                 for o in failed]),
            "offending_rows": markdown_table(
                [{"expectation": o.expectation, "value": v} for o in failed for v in o.offending]),
            "expectations": len(outcomes),
            "checked_delta_version": version,
        },
    )


def written_version(context: dg.AssetCheckExecutionContext, asset_key: dg.AssetKey) -> int | None:
    """The Delta version the asset's latest materialization of this partition wrote (its
    `delta_version` metadata), so a check reads exactly the rows it is about, whatever
    other runs committed since."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[context.partition_key]),
        limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("delta_version")
    return value.value if value is not None else None


def synthetic_check(method: str, suite_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=synthetic_key(method), name=suite_name, blocking=True,
                    partitions_def=task_partitions,
                    description=f"GX suite `{suite_name}` (see quality/suites.py)")
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        spec = lake.task(context)
        outcomes, version = suites.check_partition(
            lake.lake(), spec, method, suite_name, context.run.run_id,
            written_version(context, synthetic_key(method)))
        return _result(outcomes, version)

    return _check


@dg.asset_check(asset="real_examples", name="real_form", blocking=True,
                partitions_def=task_partitions, description="GX suite `real_form`")
def real_form(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    spec = lake.task(context)
    outcomes, version = suites.check_partition(
        lake.lake(), spec, None, "real_form", context.run.run_id,
        written_version(context, dg.AssetKey("real_examples")))
    return _result(outcomes, version)


all_checks = [synthetic_check(method.value, name)  # plain strings: Dagster serializes them
              for method in Method for name in suites.SYNTHETIC_SUITES] + [real_form]
