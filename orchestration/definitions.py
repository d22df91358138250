"""The one Dagster code location of synthlake (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from assets import real
from orchestration.resources import LakeResource

all_assets = dg.load_assets_from_modules([real])

defs = dg.Definitions(
    assets=all_assets,
    resources={"lake": LakeResource()},
)
