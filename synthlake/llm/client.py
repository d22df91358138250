"""The client of any OpenAI-compatible endpoint: journal, limits, retries, budget.

OpenAI, vLLM, Ollama, llama.cpp's server and `transformers serve` all speak the same
chat-completions protocol; switching is configuration (`OPENAI_BASE_URL`,
`SYNTHLAKE_MODEL`, the key in `OPENAI_API_KEY`), never code. With no base URL the
embedded model (`embedded.py`) is started for the duration of the work (`session.py`).
The HTTP exchange itself lives in `transport.py` (why not the `openai` package's client: see there).

What `LLMClient.complete` does for each request, in order:
1. journal lookup by `request_key`: an answer already paid for is never requested again;
2. budget check (total tokens, or cost from per-model prices) before sending;
3. wait for a concurrency slot (adaptive: a tenth off on a 429, at most once per round,
   and back up by one per `limit` successes) and for the requests- and tokens-per-minute
   buckets, which every process of the machine calling the same endpoint and model
   shares (`limits.RateBucket`);
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
import contextlib
import gc
import random
import re
import time
from collections.abc import Iterator

from synthlake.llm.config import BudgetExceeded, EndpointConfig, FatalLLMError, scrub
from synthlake.llm.journal import Journal, Response
from synthlake.llm.limits import AdaptiveLimiter, RateBucket, shared_bucket_file
from synthlake.llm.transport import (
    ChatAnswer,
    ChatTransport,
    EndpointDown,
    EndpointStatus,
    EndpointUnreachable,
    UnreadableAnswer,
    Wire,
)
from synthlake.llm.types import ChatRequest, Usage, request_key
from synthlake.vocabulary import Reason

# The error of a request too large for the model is named like its rejection reason.
REQUEST_TOO_LARGE = Reason.REQUEST_TOO_LARGE.value

# too large for every request (max_tokens) is not one request's trouble: it stops the run.
TOO_LARGE = re.compile(r"context.length|maximum context|context window|context size|prompt is too long|"
                       r"(?:input|prompt|request|messages?) (?:is )?too (?:long|large)|"
                       r"resulted in \d+ tokens|payload too large|entity too large", re.IGNORECASE)


class LLMClient:
    """Sends chat requests through the journal, limits, retries and budget."""

    def __init__(self, config: EndpointConfig, journal: Journal, base_url: str,
                 model: str, model_label: str | None = None, wire: Wire | None = None):
        self.config = config
        self.journal = journal
        self.model = model  # the name the endpoint expects
        self.model_label = model_label or model  # the name recorded and hashed
        self.usage = Usage()  # every request: what the budget is checked against
        self.usage_by_kind: dict[str, Usage] = {}  # per `ChatRequest.kind`, reported apart
        self._reserved_tokens = 0  # max_tokens of the requests in flight (budget)
        # In batch mode every request of a wave waits in one batch, not in a queue.
        self.parallelism = config.batch_max_lines if config.batch else config.max_concurrency
        self.limiter = AdaptiveLimiter(self.parallelism)
        # One budget per endpoint and model for every process on this machine.
        self.requests_bucket = (RateBucket(config.requests_per_minute, shared=shared_bucket_file(
            base_url, model, "requests")) if config.requests_per_minute else None)
        self.tokens_bucket = (RateBucket(config.tokens_per_minute, shared=shared_bucket_file(
            base_url, model, "tokens")) if config.tokens_per_minute else None)
        self._transport = wire or self._wire_for(base_url)
        self._secrets = config.secrets()
        self.base_url = scrub(base_url, self._secrets)  # as named in messages

    def _wire_for(self, base_url: str) -> Wire:
        config = self.config
        if config.batch:
            from synthlake.llm.batch import BatchWire

            return BatchWire(base_url, config.api_key(), self.journal, config.batch_poll_s,
                             config.batch_gather_s, config.batch_window, config.timeout_s,
                             config.batch_max_lines)
        return ChatTransport(base_url, config.api_key(), config.timeout_s,
                             config.max_concurrency)

    def _short(self, text: str, limit: int = 200) -> str:
        """An endpoint's message: one line, capped, secrets blanked."""
        return (scrub(" ".join(str(text).split()), self._secrets) or "")[:limit]

    def prepare(self, request: ChatRequest) -> ChatRequest:
        request.key = request_key(self.model_label, request.messages, request.params, request.slot)
        return request

    async def complete(self, request: ChatRequest) -> Response:
        if not request.key:
            self.prepare(request)
        cached = self.journal.lookup(request.key)
        if cached is not None:
            self._add(request, cached=1)
            return cached
        reserve = self._check_budget(request)
        self._reserved_tokens += reserve
        try:
            response = await self._send_with_retries(request)
        finally:
            self._reserved_tokens -= reserve
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
                        self._add(request, retries=1)
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
            self._add(request, retries=1)
            await asyncio.sleep(self._backoff(failed))
        self._add(request, failures=1)
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
            self._add(request, requests_sent=1)
            return await self._transport.chat(
                {"model": self.model, "messages": request.messages, **request.params},
                key=request.key)
        except EndpointStatus as exc:
            if exc.status == 429:
                rate_limited = True
                self._add(request, rate_limited=1)
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
        self._add(request, prompt_tokens=answer.prompt_tokens,
                  completion_tokens=answer.completion_tokens,
                  cost_usd=self._cost(answer.prompt_tokens, answer.completion_tokens))
        return Response(
            request_key=request.key, task=request.task, method=request.method,
            model=self.model_label, messages=request.messages, params=request.params,
            text=scrub(answer.content, self._secrets), finish_reason=answer.finish_reason,
            prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
            latency_s=time.monotonic() - started, attempts=attempt, created_at=time.time(),
            top_logprobs=answer.top_logprobs,
        )

    def _failure(self, request: ChatRequest, error: str, started: float, attempts: int) -> Response:
        return Response(
            request_key=request.key, task=request.task, method=request.method,
            model=self.model_label, messages=request.messages, params=request.params,
            text=None, finish_reason=None, latency_s=time.monotonic() - started,
            attempts=attempts, error=error, created_at=time.time(),
        )

    def _add(self, request: ChatRequest, **counts) -> None:
        """Count into the total and into the request's kind."""
        kind = self.usage_by_kind.setdefault(request.kind, Usage(started=self.usage.started))
        for usage in (self.usage, kind):
            for name, value in counts.items():
                setattr(usage, name, getattr(usage, name) + value)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter"

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return self.config.cost(self.model_label, prompt_tokens, completion_tokens)

    def _check_budget(self, request: ChatRequest) -> int:
        """Raise if this request could cross a budget; return the tokens it reserves.
        Requests in flight count with their `max_tokens`, so a crowd sent at once cannot
        overshoot the budget by a concurrency's worth of answers."""
        reserve = request.params.get("max_tokens", 0)
        used = self.usage.prompt_tokens + self.usage.completion_tokens + self._reserved_tokens
        limit = self.config.max_total_tokens
        if limit is not None and used + reserve > limit:
            raise BudgetExceeded(f"token budget {limit} reached ({used} used)")
        cap = self.config.max_cost_usd
        if cap is not None and self.usage.cost_usd + self._cost(0, reserve + self._reserved_tokens) > cap:
            raise BudgetExceeded(f"cost budget ${cap} reached (${self.usage.cost_usd:.4f} spent)")
        return reserve

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
