"""The one way in: `session()` opens the endpoint (or starts the embedded model), the
response journal, and per piece of work a client; it closes all three.

    with session(EndpointConfig.from_env(), lake.journal) as llm:
        answers, usage = llm.run(lambda client: work(client))

`work` is an async function of an `LLMClient`; `run` drives it on a fresh event loop and
returns its result with the client's usage (requests sent, from the journal, tokens,
cost, elapsed seconds), in all and under `by_kind` per `ChatRequest.kind` (generation,
fidelity, ...), so a judge's tokens are reported apart from generation's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from synthlake.llm.client import LLMClient
from synthlake.llm.config import EndpointConfig, FatalLLMError
from synthlake.llm.journal import Journal
from synthlake.llm.transport import Wire
from synthlake.llm.types import Usage

T = TypeVar("T")


@dataclass
class Endpoint:
    """A reachable endpoint: URL, the model name it expects, the name we record."""

    base_url: str
    model: str
    model_label: str


@contextlib.contextmanager
def open_endpoint(config: EndpointConfig) -> Iterator[Endpoint]:
    """The configured endpoint, or the process's embedded model server (started on
    first use, shared by later sessions)."""
    if config.batch and not config.base_url:
        raise FatalLLMError("batch mode needs an endpoint with a batch API (/v1/files, "
                            "/v1/batches): set OPENAI_BASE_URL; the embedded model has none")
    if config.base_url:
        if not config.model:
            raise FatalLLMError("OPENAI_BASE_URL is set but no model: set SYNTHLAKE_MODEL")
        yield Endpoint(config.base_url, config.model, config.model_label())
        return
    from synthlake.llm import embedded

    server = embedded.shared_server()
    yield Endpoint(server.base_url, server.model, config.model_label())


def fixed_temperature(config: EndpointConfig) -> float | None:
    """The one temperature the endpoint applies, where it ignores the request's: the
    embedded runtime's (`embedded.Runtime`); None for a configured endpoint."""
    if config.base_url:
        return None
    from synthlake.llm import embedded

    return embedded.runtime().fixed_temperature


@dataclass
class Session:
    config: EndpointConfig
    journal: Journal
    endpoint: Endpoint
    wire: Wire | None = None  # None: HTTP to the endpoint (`transport.ChatTransport`)

    @property
    def model_label(self) -> str:
        return self.endpoint.model_label

    def client(self) -> LLMClient:
        """A client on this session's endpoint and journal; create it inside the event
        loop that uses it, and `await client.aclose()` after."""
        ep = self.endpoint
        return LLMClient(self.config, self.journal, ep.base_url, ep.model, ep.model_label,
                         self.wire)

    async def arun(self, work: Callable[[LLMClient], Awaitable[T]]) -> tuple[T, dict]:
        client = self.client()
        started = time.monotonic()
        try:
            result = await work(client)
        finally:
            await client.aclose()
        elapsed = round(time.monotonic() - started, 2)
        usage = {**client.usage.as_dict(), "elapsed_s": elapsed}
        usage["by_kind"] = {kind: {**counted.as_dict(), "elapsed_s": elapsed}
                            for kind, counted in client.usage_by_kind.items()}
        return result, usage

    def run(self, work: Callable[[LLMClient], Awaitable[T]]) -> tuple[T, dict]:
        return asyncio.run(self.arun(work))


def usage_of(usage: dict, kind: str) -> dict:
    """The part of a `Session.run` usage spent on one kind of request (zeros if none)."""
    return usage.get("by_kind", {}).get(kind) or {**Usage().as_dict(), "elapsed_s": 0.0}


@contextlib.contextmanager
def session(config: EndpointConfig, journal_path: Path,
            wire: Wire | None = None) -> Iterator[Session]:
    """Endpoint and journal, open for the block, closed after (also on errors). `wire`
    replaces the HTTP exchange (an in-process endpoint for tests); the endpoint must then
    be configured (`base_url`, `model`), as no embedded model is started for it."""
    journal = Journal(journal_path)
    try:
        with open_endpoint(config) as endpoint:
            yield Session(config, journal, endpoint, wire)
    finally:
        journal.close()
