"""An OpenAI-compatible endpoint inside the test process, for the fast tier.

`FakeWire` is what `session(..., wire=...)` and `generate(..., wire=...)` accept in place
of the HTTP transport: the client's whole policy (journal, limits, retries, budget, fatal
errors) runs, only the socket is missing. Integration tests use the real loopback server
(`loopback.py`) instead.

    wire = FakeWire(faults={2: EndpointStatus(500, "boom")})  # the 2nd call fails once
    wire.bodies                                              # every body sent, in order

Answers are a few words chosen by the hash of the request body, so the same request gets
the same answer and different requests get different ones.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable

from synthlake.llm import ChatAnswer, EndpointConfig

WORDS = ("market", "team", "player", "price", "city", "river", "film", "review", "phone",
         "message", "offer", "money", "happy", "great", "quick", "new", "old", "bright",
         "early", "late", "local", "company", "season", "game", "movie", "story", "winner",
         "growth", "profit", "deal", "weather", "school", "friend", "family", "music", "night",
         "morning", "plan", "trip", "project")


def words_for(body: dict, n: int = 9) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return " ".join(random.Random(digest).choices(WORDS, k=n)).capitalize()


class FakeWire:
    def __init__(self, answer: Callable[[dict], str] = words_for,
                 faults: dict[int, Exception] | None = None):
        self.answer = answer
        self.faults = dict(faults or {})  # call number (1-based) -> what that call raises
        self.bodies: list[dict] = []

    async def chat(self, body: dict, key: str | None = None) -> ChatAnswer:
        self.bodies.append(body)
        fault = self.faults.get(len(self.bodies))
        if fault is not None:
            raise fault
        text = self.answer(body)
        return ChatAnswer(content=text, finish_reason="stop",
                          prompt_tokens=len(json.dumps(body["messages"])) // 4,
                          completion_tokens=len(text.split()))

    async def aclose(self) -> None:
        pass


def fake_endpoint(**kw) -> EndpointConfig:
    """The endpoint configuration a `FakeWire` stands behind (no waiting between retries)."""
    return EndpointConfig(base_url="http://in-process.invalid/v1", model="fake",
                          backoff_base_s=0.0, backoff_max_s=0.0, **kw)
