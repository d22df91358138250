"""The one Dagster code location of synthlake (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from assets import generation, real
from orchestration.resources import LakeResource, LLMResource
from quality.checks import all_checks

all_assets = dg.load_assets_from_modules([real, generation])

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    resources={"lake": LakeResource(), "llm": LLMResource()},
)
