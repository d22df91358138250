"""Where and how to call the LLM (`EndpointConfig`), the errors that stop a run, and the
scrubbing that keeps secrets out of every message and record."""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field

from synthlake import settings


class FatalLLMError(RuntimeError):
    """The endpoint refuses in a way retries cannot fix; the run stops."""


class BudgetExceeded(RuntimeError):
    """The configured token or cost budget would be exceeded by the next request."""


class EndpointConfig(BaseModel):
    """Where and how to call the LLM. `base_url=None` means the embedded model.

    `EndpointConfig()` is the engine's defaults; `from_env()` lets the environment
    (`OPENAI_BASE_URL`, `SYNTHLAKE_MODEL`, `SYNTHLAKE_CONCURRENCY`, `SYNTHLAKE_TIMEOUT_S`)
    fill what the caller left unset."""

    model_config = ConfigDict(frozen=True)

    base_url: str | None = Field(None, description="OpenAI-compatible base URL "
                                 "(…/v1); empty: $OPENAI_BASE_URL, else the embedded model")
    model: str | None = Field(None, description="model name the endpoint expects; "
                              "empty: $SYNTHLAKE_MODEL or $OPENAI_MODEL")
    api_key_env: str = Field("OPENAI_API_KEY", description="name of the environment "
                             "variable holding the API key (the key itself is never config)")
    max_concurrency: int = Field(int(settings.declared_default("SYNTHLAKE_CONCURRENCY")), ge=1,
                                 description="parallel requests ($SYNTHLAKE_CONCURRENCY)")
    requests_per_minute: float | None = Field(None, description="client-side request rate limit")
    tokens_per_minute: float | None = Field(None, description="client-side token rate limit")
    timeout_s: float = Field(float(settings.declared_default("SYNTHLAKE_TIMEOUT_S")), gt=0,
                             description="seconds per request ($SYNTHLAKE_TIMEOUT_S)")
    max_attempts: int = Field(6, ge=1, description="attempts per request on errors "
                              "(429s wait instead, up to max_rate_limited_s)")
    # No connection at all (refused, unknown host) is retried briefly, then the run stops:
    # a dead endpoint is reported in seconds instead of minutes of retries.
    max_connect_attempts: int = Field(3, ge=1, description="attempts when the endpoint "
                                      "cannot be reached at all, before the run stops")
    max_rate_limited_s: float = Field(300.0, description="longest wait for 429s per request")
    backoff_base_s: float = Field(0.5, description="first retry backoff (doubles, jittered)")
    backoff_max_s: float = Field(30.0, description="longest retry backoff")
    max_total_tokens: int | None = Field(None, description="token budget of the run")
    max_cost_usd: float | None = Field(None, description="cost budget of the run (USD)")
    batch: bool = Field(False, description="send requests as batches (/v1/files, /v1/batches): "
                        "discounted, answered within the batch window")
    batch_poll_s: float = Field(30.0, gt=0, description="seconds between batch status polls")
    batch_gather_s: float = Field(2.0, gt=0, description="a batch goes out once no request "
                                  "has come for this long")
    batch_window: str = Field("24h", description="the batch completion window asked for")
    batch_max_lines: int = Field(50_000, ge=1, description="requests per batch at most (the "
                                 "provider's limit)")
    batch_price_share: float = Field(0.5, gt=0, le=1, description="batch price as a share of "
                                     "the online price (OpenAI's and Anthropic's: half)")
    prices_per_million: dict[str, list[float]] = Field(
        default_factory=dict, description="model -> [USD per million prompt tokens, "
        "USD per million completion tokens]")

    @classmethod
    def from_env(cls, **overrides) -> EndpointConfig:
        """Explicit values (not None) win, then the environment, then the defaults."""
        values = {
            "base_url": settings.get("OPENAI_BASE_URL"),
            "model": settings.get("SYNTHLAKE_MODEL") or settings.get("OPENAI_MODEL"),
            "max_concurrency": settings.integer("SYNTHLAKE_CONCURRENCY"),
            "timeout_s": settings.number("SYNTHLAKE_TIMEOUT_S"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def model_label(self) -> str:
        """The model name recorded in tables and keyed in `prices_per_million`."""
        if self.base_url:
            return self.model or ""
        from synthlake.llm.embedded import runtime

        return runtime().label

    def cost(self, model_label: str, prompt_tokens: float, completion_tokens: float) -> float:
        """USD at the configured prices of a model (0 for a model without prices)."""
        price_in, price_out = self.prices_per_million.get(model_label, (0.0, 0.0))
        share = self.batch_price_share if self.batch else 1.0
        return share * (prompt_tokens * price_in + completion_tokens * price_out) / 1e6

    def api_key(self) -> str:
        # Local servers accept any key; the protocol insists on one.
        return os.environ.get(self.api_key_env) or "no-key"

    def secrets(self) -> list[str]:
        """Values never to store or print: the configured key, whatever its variable is
        called, and any other environment value whose name says it is secret and that is
        long enough to be a credential (a short one, say "english" in KEYBOARD_LANG,
        would blank ordinary words of generated texts)."""
        key = os.environ.get(self.api_key_env) or ""
        named = [v for k, v in os.environ.items()
                 if SECRET_NAME.search(k) and len(v) >= 16 and " " not in v]
        return sorted({v for v in [key, *named] if len(v) >= 6}, key=len, reverse=True)


SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
BEARER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?|bearer\s+)[^\s\"',}]+")


def scrub(text: str | None, secrets: list[str]) -> str | None:
    """`text` with every secret value and any Authorization/Bearer credential blanked:
    some servers echo the key they refused, or the headers they got."""
    if not text:
        return text
    for secret in secrets:
        text = text.replace(secret, "***")
    return BEARER.sub(r"\1***", text)
