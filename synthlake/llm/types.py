"""What goes to an endpoint and what is counted: `ChatRequest`, its key, `Usage`."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field


def request_key(model: str, messages: list[dict], params: dict, slot: str) -> str:
    """Fingerprint of a request: model, messages, sampling parameters (with seed), slot."""
    payload = json.dumps([model, messages, params, slot], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


GENERATION_KIND = "generation"  # the default `ChatRequest.kind`


@dataclass
class ChatRequest:
    task: str
    method: str
    messages: list[dict]
    params: dict  # temperature, max_tokens, seed, top_p ...
    slot: str  # which plan slot this request fills (part of the key)
    key: str = ""
    kind: str = GENERATION_KIND  # what the answer is for; usage is counted per kind (not keyed)


@dataclass
class Usage:
    requests_sent: int = 0
    cached: int = 0
    retries: int = 0
    failures: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def as_dict(self) -> dict:
        return {
            "requests_sent": self.requests_sent, "cached": self.cached, "retries": self.retries,
            "failures": self.failures, "rate_limited": self.rate_limited,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6), "elapsed_s": round(self.elapsed_s, 2),
            "requests_per_s": round(self.requests_sent / max(self.elapsed_s, 1e-9), 3),
        }
