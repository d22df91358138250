"""One door to every LLM: an async client for any OpenAI-compatible endpoint.

OpenAI, vLLM, Ollama, llama.cpp's server and `transformers serve` all speak the same
chat-completions protocol; switching is configuration (`OPENAI_BASE_URL`,
`SYNTHLAKE_MODEL`, the key in `OPENAI_API_KEY`), never code. With no base URL the
embedded model (`local_llm`) is started for the duration of the work. The HTTP exchange
itself lives in `transport.py` (why not the `openai` package's client: see there).

What `LLMClient.complete` does for each request, in order:
1. journal lookup by `request_key`: an answer already paid for is never requested again;
2. budget check (total tokens, or cost from per-model prices) before sending;
3. wait for a concurrency slot (adaptive: a tenth off on a 429, at most once per round,
   and back up by one per `limit` successes) and for the requests- and tokens-per-minute
   buckets;
4. mark in flight in the journal (committed before sending), send; on 429 wait (honouring
   Retry-After) and send again, for up to `max_rate_limited_s`; retry with exponential
   backoff and jitter on 5xx, timeouts, dropped connections and unreadable bodies, up to
   `max_attempts`;
5. journal the answer the moment it arrives.
Errors that cannot heal (401/403, unknown model, bad request) raise `FatalLLMError` at
once. The API key is read from the environment and appears in no message or record.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from synthlake.journal import Journal, Response
from synthlake.transport import (
    ChatAnswer,
    ChatTransport,
    EndpointDown,
    EndpointStatus,
    EndpointUnreachable,
    UnreadableAnswer,
)

EMBEDDED = "embedded"
REQUEST_TOO_LARGE = "request too large"  # the error (and rejection reason) of such a request


class FatalLLMError(RuntimeError):
    """The endpoint refuses in a way retries cannot fix; the run stops."""


class BudgetExceeded(RuntimeError):
    """The configured token or cost budget would be exceeded by the next request."""


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how to call the LLM. `base_url=None` means the embedded model."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout_s: float = 120.0
    max_attempts: int = 6  # for errors; 429s wait instead, up to max_rate_limited_s
    # No connection at all (refused, unknown host) is retried briefly, then the run stops:
    # a dead endpoint is reported in seconds instead of minutes of retries.
    max_connect_attempts: int = 3
    max_rate_limited_s: float = 300.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None
    # model -> (USD per million prompt tokens, USD per million completion tokens)
    prices_per_million: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> EndpointConfig:
        env = os.environ
        values = {
            "base_url": env.get("OPENAI_BASE_URL") or None,
            "model": env.get("SYNTHLAKE_MODEL") or env.get("OPENAI_MODEL") or None,
            "max_concurrency": int(env.get("SYNTHLAKE_CONCURRENCY", 8)),
            "timeout_s": float(env.get("SYNTHLAKE_TIMEOUT_S", 120.0)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

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


# A 400 about one request's size (the prompt exceeds the model's context; as OpenAI, vLLM
# and llama.cpp word it), or a 413: that request is rejected, the run goes on. A setting
# too large for every request (max_tokens) is not one request's trouble: it stops the run.
TOO_LARGE = re.compile(r"context.length|maximum context|context window|context size|prompt is too long|"
                       r"(?:input|prompt|request|messages?) (?:is )?too (?:long|large)|"
                       r"resulted in \d+ tokens|payload too large|entity too large", re.IGNORECASE)


def request_key(model: str, messages: list[dict], params: dict, slot: str) -> str:
    """Fingerprint of a request: model, messages, sampling parameters (with seed), slot."""
    payload = json.dumps([model, messages, params, slot], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass
class ChatRequest:
    task: str
    method: str
    messages: list[dict]
    params: dict  # temperature, max_tokens, seed, top_p ...
    slot: str  # which plan slot this request fills (part of the key)
    key: str = ""


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


class AdaptiveLimiter:
    """Concurrency limit that drops on a rate-limit answer and climbs back (AIMD).

    `acquire()` returns a ticket, the request's admission number, for `slow_down`. Like
    TCP's congestion window, the limit drops at most once per round: a 429 for a request
    admitted before the last drop was sent under the old limit and says nothing new, so a
    burst of 429s cuts the limit once instead of driving it down to 1 (from where climbing
    back by one per round took half a minute at 256).

    Each drop takes a tenth off (SLOW_DOWN). Halving, as TCP does, left the endpoint idle
    between drops: at concurrency 256 against a server limit of 640 requests/s (200 ms
    latency; 128 in flight would saturate it) halving reached 0.66 of the limit, a
    quarter off 0.86, a tenth off 0.93 (3 runs each, bench/generation.py), with 6%, 8%
    and 13% of requests refused on the way. A sudden lower limit is still met within a
    few rounds: a refused request comes back at once, so rounds are short.

    Waiters queue in FIFO order and a freed slot wakes exactly one of them: with
    thousands of requests waiting, waking them all on every answer (a Condition's
    notify_all) made each answer cost time proportional to the queue."""

    SLOW_DOWN = 0.9

    def __init__(self, maximum: int):
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_flight = 0
        self.admitted = 0  # requests let in so far
        self._round_start = 0  # tickets from here on were admitted after the last drop
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    def _capacity(self) -> int:
        return max(1, int(self.limit))

    def _admit(self) -> int:
        self.in_flight += 1
        self.admitted += 1
        return self.admitted - 1

    async def acquire(self) -> int:
        if not self._waiters and self.in_flight < self._capacity():
            return self._admit()
        slot = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        try:
            return await slot  # `_wake` admitted us and passed the ticket
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self.release()  # the slot was ours already: hand it on
            else:
                with contextlib.suppress(ValueError):  # `_wake` may have dropped it
                    self._waiters.remove(slot)
            raise

    def slow_down(self, ticket: int) -> None:
        """A 429 for request `ticket`: a tenth off the limit, unless this round did so."""
        if ticket >= self._round_start:
            self.limit = max(1.0, self.limit * self.SLOW_DOWN)
            self._round_start = self.admitted

    def release(self, rate_limited: bool = False) -> None:
        """Free a slot; a request that met no 429 raises the limit by one per round's
        worth of answers."""
        self.in_flight -= 1
        if not rate_limited:
            self.limit = min(self.maximum, self.limit + 1 / max(self.limit, 1))
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self._capacity():
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(self._admit())


class RateBucket:
    """Token bucket refilled continuously at `per_minute`, holding `capacity` units (one
    second's worth unless given). The client waits on it (`take`); the loopback server
    refuses with it (`try_take`)."""

    def __init__(self, per_minute: float, capacity: float | None = None):
        self.rate = per_minute / 60.0
        self.capacity = capacity or max(self.rate, 1.0)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def try_take(self, amount: float = 1.0) -> float:
        """Take `amount` now and return 0, or return the seconds until it could be taken."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(amount, self.capacity)  # more than a full bucket goes out when it is full
        if self.level >= need:
            self.level -= amount
            return 0.0
        return (need - self.level) / self.rate

    async def take(self, amount: float = 1.0) -> None:
        async with self._lock:
            while (wait := self.try_take(amount)) > 0:
                await asyncio.sleep(wait)


class LLMClient:
    """Sends chat requests through the journal, limits, retries and budget."""

    def __init__(self, config: EndpointConfig, journal: Journal, base_url: str,
                 model: str, model_label: str | None = None):
        self.config = config
        self.journal = journal
        self.model = model  # the name the endpoint expects
        self.model_label = model_label or model  # the name recorded and hashed
        self.usage = Usage()
        self.limiter = AdaptiveLimiter(config.max_concurrency)
        self.requests_bucket = (RateBucket(config.requests_per_minute)
                                if config.requests_per_minute else None)
        self.tokens_bucket = (RateBucket(config.tokens_per_minute)
                              if config.tokens_per_minute else None)
        self._transport = ChatTransport(base_url, config.api_key(), config.timeout_s,
                                        config.max_concurrency)
        self._secrets = config.secrets()
        self.base_url = scrub(base_url, self._secrets)  # as named in messages

    def _short(self, text: str, limit: int = 200) -> str:
        """An endpoint's message: one line, capped, secrets blanked."""
        return scrub(" ".join(str(text).split()), self._secrets)[:limit]

    def prepare(self, request: ChatRequest) -> ChatRequest:
        request.key = request_key(self.model_label, request.messages, request.params, request.slot)
        return request

    async def complete(self, request: ChatRequest) -> Response:
        if not request.key:
            self.prepare(request)
        cached = self.journal.lookup(request.key)
        if cached is not None:
            self.usage.cached += 1
            return cached
        self._check_budget(request)
        response = await self._send_with_retries(request)
        await self.journal.record(response)
        return response

    async def _send_with_retries(self, request: ChatRequest) -> Response:
        """Send until answered. A 429 is the endpoint pacing us, not a failed attempt: the
        request waits (Retry-After, or the backoff if longer: a crowd retrying at the
        instant the server names collides again) and goes again, for up to
        `max_rate_limited_s` of waiting in all. Other errors count against `max_attempts`."""
        started, attempt, failed, down, paced_s = time.monotonic(), 0, 0, 0, 0.0
        while True:
            attempt += 1
            try:
                answer = await self._attempt(request, first=attempt == 1)
                return self._to_response(request, answer, attempt, started)
            except EndpointStatus as exc:
                if self._too_large(exc):
                    error = f"{REQUEST_TOO_LARGE}: HTTP {exc.status}: {self._short(exc.message)}"
                    break  # the same request would be refused again
                self._fail_fast(exc)
                if exc.status == 429:
                    error = f"429 rate limited: {self._short(exc.message)}"
                    delay = max(exc.retry_after or 0.0, self._backoff(1))
                    paced_s += delay
                    if paced_s <= self.config.max_rate_limited_s:
                        self.usage.retries += 1
                        await asyncio.sleep(delay)
                        continue
                    error += f" (still after {paced_s:.0f} s of waiting)"
                    break
                # 5xx, 408, 409 ...: the endpoint's trouble, which passes
                error = f"HTTP {exc.status}: {self._short(exc.message)}"
            except EndpointDown as exc:
                down += 1
                if down >= min(self.config.max_connect_attempts, self.config.max_attempts):
                    raise FatalLLMError(
                        f"the endpoint {self.base_url} cannot be reached after {down} "
                        f"attempts ({self._short(str(exc), 160)}): is it running, and is "
                        "OPENAI_BASE_URL right?") from None
                error = self._short(str(exc))
            except EndpointUnreachable as exc:
                error = self._short(str(exc))
            except UnreadableAnswer as exc:
                error = f"unreadable response body: {self._short(str(exc))}"
            failed += 1
            if failed >= self.config.max_attempts:
                break
            self.usage.retries += 1
            await asyncio.sleep(self._backoff(failed))
        self.usage.failures += 1
        return self._failure(request, error, started, attempt)

    async def _attempt(self, request: ChatRequest, first: bool) -> ChatAnswer:
        """One exchange, holding a concurrency slot only while at the endpoint (a request
        waiting out a backoff holds none). Before the first, the in-flight mark."""
        ticket = await self.limiter.acquire()
        rate_limited = False
        try:
            if self.requests_bucket:
                await self.requests_bucket.take(1)
            if self.tokens_bucket:
                await self.tokens_bucket.take(request.params.get("max_tokens", 256))
            if first:
                await self.journal.mark_in_flight(request.key)
            self.usage.requests_sent += 1
            return await self._transport.chat(
                {"model": self.model, "messages": request.messages, **request.params})
        except EndpointStatus as exc:
            if exc.status == 429:
                rate_limited = True
                self.usage.rate_limited += 1
                self.limiter.slow_down(ticket)
            raise
        finally:
            self.limiter.release(rate_limited)

    @staticmethod
    def _too_large(exc: EndpointStatus) -> bool:
        about_one = bool(TOO_LARGE.search(exc.message)) and "max_tokens" not in exc.message
        return exc.status == 413 or (exc.status == 400 and about_one)

    def _fail_fast(self, exc: EndpointStatus) -> None:
        """Answers no retry can change stop the run with what to fix (a request too
        large for the model was set aside before this)."""
        if exc.status in (401, 403):
            raise FatalLLMError(
                f"the endpoint {self.base_url} refused the credentials (HTTP {exc.status}); "
                f"check the key in ${self.config.api_key_env}"
            ) from None
        if exc.status == 404:
            raise FatalLLMError(
                f"the endpoint {self.base_url} does not know model {self.model_label!r} "
                f"(HTTP 404): {self._short(exc.message)}"
            ) from None
        if exc.status in (400, 422):
            raise FatalLLMError(
                f"the endpoint {self.base_url} rejected the request (HTTP {exc.status}): "
                f"{self._short(exc.message)}"
            ) from None

    def _to_response(self, request: ChatRequest, answer: ChatAnswer, attempt: int,
                     started: float) -> Response:
        self.usage.prompt_tokens += answer.prompt_tokens
        self.usage.completion_tokens += answer.completion_tokens
        self.usage.cost_usd += self._cost(answer.prompt_tokens, answer.completion_tokens)
        return Response(
            request_key=request.key, task=request.task, method=request.method,
            model=self.model_label, messages=request.messages, params=request.params,
            text=scrub(answer.content, self._secrets), finish_reason=answer.finish_reason,
            prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
            latency_s=time.monotonic() - started, attempts=attempt, created_at=time.time(),
        )

    def _failure(self, request: ChatRequest, error: str, started: float, attempts: int) -> Response:
        return Response(
            request_key=request.key, task=request.task, method=request.method,
            model=self.model_label, messages=request.messages, params=request.params,
            text=None, finish_reason=None, latency_s=time.monotonic() - started,
            attempts=attempts, error=error, created_at=time.time(),
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter"

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        price_in, price_out = self.config.prices_per_million.get(self.model_label, (0.0, 0.0))
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6

    def _check_budget(self, request: ChatRequest) -> None:
        reserve = request.params.get("max_tokens", 0)
        used = self.usage.prompt_tokens + self.usage.completion_tokens
        limit = self.config.max_total_tokens
        if limit is not None and used + reserve > limit:
            raise BudgetExceeded(f"token budget {limit} reached ({used} used)")
        cap = self.config.max_cost_usd
        if cap is not None and self.usage.cost_usd + self._cost(0, reserve) > cap:
            raise BudgetExceeded(f"cost budget ${cap} reached (${self.usage.cost_usd:.4f} spent)")

    async def aclose(self) -> None:
        await self._transport.aclose()


@contextlib.contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """Keep the objects alive now out of the cycle collector's sight for the duration.

    A full collection walks every tracked object, and a process that has loaded pandas,
    the real data (and in a run, Dagster) holds hundreds of thousands: each one stopped
    the event loop for about 130 ms while hundreds of answers waited (concurrency 256:
    0.83 of the bound with the default collector, 0.91 with the old objects frozen).
    Objects made inside are collected as usual; at exit the frozen ones return to the
    oldest generation, unless someone had frozen objects before (then they stay).
    """
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


@dataclass
class Endpoint:
    """A reachable endpoint: URL, the model name it expects, the name we record."""

    base_url: str
    model: str
    model_label: str


@contextlib.contextmanager
def open_endpoint(config: EndpointConfig) -> Iterator[Endpoint]:
    """The configured endpoint, or the embedded model started for the duration."""
    if config.base_url:
        if not config.model:
            raise FatalLLMError("OPENAI_BASE_URL is set but no model: set SYNTHLAKE_MODEL")
        yield Endpoint(config.base_url, config.model, config.model)
        return
    from synthlake import local_llm

    with local_llm.start_server() as server:
        yield Endpoint(server.base_url, server.model, local_llm.MODEL_LABEL)


def fixed_temperature(config: EndpointConfig) -> float | None:
    """The one temperature the endpoint applies, where it ignores the request's: the
    embedded server's (see `local_llm.SAMPLING`); None for a configured endpoint."""
    if config.base_url:
        return None
    from synthlake import local_llm

    return local_llm.SAMPLING["temperature"]
