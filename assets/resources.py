"""Dagster resources: thin configurable handles on the engine's objects."""

from __future__ import annotations

import re

import dagster as dg
from pydantic import Field, create_model

from assets.config import unset_by_default
from synthlake import settings
from synthlake.catalog import TaskSpec, task_for_run
from synthlake.lake import Lake, default_root
from synthlake.llm import EndpointConfig


class LakeResource(dg.ConfigurableResource):
    """The Delta lake (a folder or an object-store URI); `SYNTHLAKE_LAKE` or ./lake by default."""

    root: str = Field("", description="lake folder or URI (s3://, gs://, az://, ...); "
                      "empty: $SYNTHLAKE_LAKE, else ./lake")

    def lake(self) -> Lake:
        return Lake(self.root or default_root())

    def task(self, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> TaskSpec:
        """The partition's task spec, read from its YAML once per run and pinned beside the
        tables (`_runs/<run_id>/`), so every step of the run sees the same spec."""
        pins = self.lake().run_pins(context.run.run_id)
        return task_for_run(context.partition_key, pins)


class _EndpointResource(dg.ConfigurableResource):
    def endpoint_config(self) -> EndpointConfig:
        """Set fields win, then the environment (`EndpointConfig.from_env`), then defaults."""
        return EndpointConfig.from_env(**self.model_dump())


LLMResource = create_model(
    "LLMResource", __base__=_EndpointResource,
    __doc__="The LLM endpoint: every `EndpointConfig` field, each empty by default so the "
            "environment decides. With no base URL anywhere, the embedded model is started "
            "for the step and stopped after it. The API key is never configuration: it is "
            "read from the variable named by `api_key_env`.",
    **{key: unset_by_default(f) for key, f in EndpointConfig.model_fields.items()},
)


def llm_pool() -> str:
    """The Dagster concurrency pool of every step that calls the LLM, keyed by the endpoint
    (`OPENAI_BASE_URL` when the code location loads; `llm-embedded` without one): runs in
    parallel share its slots, so a pool limit of 1 shares one provider limit instead of
    multiplying it by the number of runs (`dagster instance concurrency set <pool> 1`,
    or `concurrency: pools: default_limit` in dagster.yaml)."""
    url = settings.get("OPENAI_BASE_URL")
    if not url:
        return "llm-embedded"
    from urllib.parse import urlsplit

    return "llm-" + re.sub(r"[^A-Za-z0-9]+", "-", urlsplit(url).netloc or url).strip("-")


LLM_POOL = llm_pool()
