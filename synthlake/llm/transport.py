"""The wire: POST `/chat/completions` to an OpenAI-compatible endpoint over aiohttp.

Why not the `openai` package's client: it costs about 2.8 ms of CPU per request (request
building, httpx or its aiohttp adapter, pydantic models for every answer). At a few
hundred requests in flight that CPU, not the endpoint, sets the pace (measured here:
0.65 of the bound at concurrency 256 with its aiohttp adapter, 0.91 with plain aiohttp).
The protocol is small and stable, so this module speaks it directly: the same JSON body
the `openai` client would send, the same `Authorization: Bearer` header, one pooled
connection per request in flight.

Errors are sorted here for the retry policy in `llm.py`:

    EndpointStatus(status, message, retry_after)  an HTTP answer that is not 2xx
    EndpointUnreachable(message)                  timeout or dropped connection
    EndpointDown(message)                         no connection at all (refused, unknown host)
    UnreadableAnswer(message)                     a 2xx whose body is not a chat completion

`ChatAnswer` is what a readable 2xx carries: content, finish_reason and token usage.

`Wire` is what the client needs of a transport: `chat(body, key) -> ChatAnswer` raising the
errors above, and `aclose()`. `ChatTransport` is the one used against endpoints; tests
pass an in-process one to `session(..., wire=...)` to run the client's whole policy
(journal, retries, limits) without a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import aiohttp

CONNECT_TIMEOUT_S = 5.0


class EndpointStatus(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.retry_after = status, message, retry_after


class EndpointUnreachable(Exception):
    pass


class EndpointDown(EndpointUnreachable):
    """No connection could be made at all: refused, or a host name that does not resolve."""


class UnreadableAnswer(Exception):
    pass


@dataclass(frozen=True)
class ChatAnswer:
    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    top_logprobs: dict[str, float] | None = None  # first token: alternative -> logprob


class Wire(Protocol):
    async def chat(self, body: dict, key: str | None = None) -> ChatAnswer: ...

    async def aclose(self) -> None: ...


class ChatTransport:
    """One aiohttp session for one endpoint; created lazily inside the running loop."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, max_connections: int):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}",
                         "Content-Type": "application/json"}
        # A host that never accepts the connection is known within seconds, not timeout_s.
        self._timeout = aiohttp.ClientTimeout(total=timeout_s,
                                              sock_connect=min(timeout_s, CONNECT_TIMEOUT_S))
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                  headers=self._headers)
        return self._session

    async def chat(self, body: dict, key: str | None = None) -> ChatAnswer:
        """One exchange (`key`, the request's journal key, names it in batch mode only)."""
        payload = json.dumps(body, ensure_ascii=False).encode()
        try:
            async with self._open().post(self.url, data=payload) as http:
                raw = await http.read()
                if http.status >= 300:
                    raise EndpointStatus(http.status, _error_message(raw),
                                         _seconds(http.headers.get("Retry-After")))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection was made: nothing was sent, nothing can be owed.
            raise EndpointDown(f"{type(exc).__name__}: {exc}") from None
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise EndpointUnreachable(f"{type(exc).__name__}: {exc}") from None
        return _answer(raw)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _answer(raw: bytes) -> ChatAnswer:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UnreadableAnswer(f"{type(exc).__name__}: {exc}; body starts "
                               f"{raw[:80].decode(errors='replace')!r}") from None
    return answer_from(data, raw[:80])


def answer_from(data: dict, start: bytes = b"") -> ChatAnswer:
    """The `ChatAnswer` of a parsed chat completion (a batch output line's body too)."""
    try:
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return ChatAnswer(content=choice["message"].get("content") or "",
                          finish_reason=choice.get("finish_reason"),
                          prompt_tokens=int(usage.get("prompt_tokens") or 0),
                          completion_tokens=int(usage.get("completion_tokens") or 0),
                          top_logprobs=first_token_logprobs(choice))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UnreadableAnswer(f"{type(exc).__name__}: {exc}; body starts "
                               f"{start.decode(errors='replace')!r}") from None


def _error_message(raw: bytes) -> str:
    """The endpoint's `{"error": {"message": ...}}`, or the start of whatever it sent."""
    try:
        error = json.loads(raw).get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    except (ValueError, AttributeError):
        pass
    return raw[:200].decode(errors="replace")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the backoff schedule applies instead


def first_token_logprobs(choice: dict) -> dict[str, float] | None:
    """{token: logprob} of the first generated token's alternatives (OpenAI's
    `logprobs.content[0].top_logprobs`), or None when the endpoint sent none."""
    content = (choice.get("logprobs") or {}).get("content") or []
    if not content:
        return None
    first = content[0]
    alternatives = first.get("top_logprobs") or [first]
    return {str(a["token"]): float(a["logprob"]) for a in alternatives}
