"""Dagster resources: thin configurable handles on the engine's objects."""

from __future__ import annotations

import dagster as dg

from synthlake.lake import Lake, default_root


class LakeResource(dg.ConfigurableResource):
    """The Delta lake folder; `SYNTHLAKE_LAKE` or ./lake by default."""

    root: str = ""

    def lake(self) -> Lake:
        return Lake(self.root or default_root())


class LLMResource(dg.ConfigurableResource):
    """The LLM endpoint. Empty `base_url` falls back to $OPENAI_BASE_URL, and with neither
    the embedded model is started for the step and stopped after it. The API key is never
    configuration: it is read from the environment variable named by `api_key_env`."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    # None: the environment decides ($SYNTHLAKE_CONCURRENCY, $SYNTHLAKE_TIMEOUT_S), then
    # the engine's default; a value set here wins over both.
    max_concurrency: int | None = None
    timeout_s: float | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None

    def endpoint_config(self):
        from synthlake.llm import EndpointConfig

        return EndpointConfig.from_env(
            base_url=self.base_url or None, model=self.model or None,
            api_key_env=self.api_key_env, max_concurrency=self.max_concurrency,
            timeout_s=self.timeout_s,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
            max_total_tokens=self.max_total_tokens, max_cost_usd=self.max_cost_usd,
        )
