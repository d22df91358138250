"""Dagster resources: thin configurable handles on the engine's objects."""

from __future__ import annotations

import dagster as dg

from synthlake.lake import Lake, default_root


class LakeResource(dg.ConfigurableResource):
    """The Delta lake folder; `SYNTHLAKE_LAKE` or ./lake by default."""

    root: str = ""

    def lake(self) -> Lake:
        return Lake(self.root or default_root())
