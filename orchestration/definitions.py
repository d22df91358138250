"""The one Dagster code location of synthlake (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from assets import analysis, evaluation, fidelity, generation, measures, real
from assets.resources import LakeResource, LLMResource
from orchestration import automation
from quality.checks import all_checks

# The pipeline, in order: the table of contents.
all_assets = [
    real.task_catalog,
    real.real_examples,
    real.real_annotations,
    generation.generation_plan,
    generation.attributes,
    *generation.generation_assets,
    fidelity.label_fidelity,
    fidelity.attribute_coverage,
    measures.embeddings,
    measures.diversity_and_similarity,
    evaluation.classifier_runs,
    analysis.human_judgments,
    analysis.pairwise_judgments,
    analysis.task_subjectivity,
    analysis.objectivity_proxies,
    analysis.gap_correlations,
    analysis.instance_level,
    analysis.report_page,
]

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[automation.task_pipeline_job, automation.regenerate_job],
    schedules=[automation.regeneration_schedule],
    sensors=[automation.task_files],
    resources={"lake": LakeResource(), "llm": LLMResource()},
)
