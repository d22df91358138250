"""Batch mode: the same requests through a provider's batch API, at its batch price.

`BatchWire` is a `Wire` (what the client sends through), so the client's whole policy
holds unchanged: the journal lookup before anything goes out, the in-flight mark, the
answer journaled as it is read, retries. Instead of one POST per request it gathers the
requests that arrive within `batch_gather_s` of each other (a generation wave, one turn
of every zero-shot stream, a round of label-filter questions) into one batch:

1. the requests as JSONL lines, each named by its journal key (`custom_id`), uploaded
   (`POST /v1/files`, purpose `batch`) and submitted (`POST /v1/batches`, endpoint
   `/v1/chat/completions`, window `batch_window`); the batch id and the keys it holds
   are journaled before anyone waits on it;
2. polled (`GET /v1/batches/{id}`, every `batch_poll_s`) until it is completed, failed,
   expired or cancelled; then its output and error files are read
   (`GET /v1/files/{id}/content`) and every answered line is journaled at once;
3. each waiting request gets its line's answer; a line that failed, or that an expired
   batch never answered, raises an endpoint error, so the client retries that request
   alone, in a later batch (counted as a retry).

After a crash (even `kill -9`) a resumed run asks for the same requests: those in the
journal are answered from it; those in a submitted, unfinished batch wait for that batch
(found by key in the journal) and are never submitted again.

The line formats are OpenAI's, which `vllm run-batch -i in.jsonl -o out.jsonl` also reads
and writes (`write_lines`, `read_output`), so a local vLLM works through files too:

    in:  {"custom_id": "<key>", "method": "POST", "url": "/v1/chat/completions",
          "body": {"model": ..., "messages": [...], "temperature": ..., ...}}
    out: {"id": ..., "custom_id": "<key>", "response": {"status_code": 200, "body":
          <a chat completion>}, "error": null}
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

import aiohttp

from synthlake.llm.transport import (
    ChatAnswer,
    EndpointDown,
    EndpointStatus,
    EndpointUnreachable,
    _error_message,
    answer_from,
)

CHAT_URL = "/v1/chat/completions"
FINISHED = ("completed", "failed", "expired", "cancelled")


def request_line(key: str, body: dict) -> str:
    return json.dumps({"custom_id": key, "method": "POST", "url": CHAT_URL, "body": body},
                      ensure_ascii=False)


def write_lines(requests: Iterable[tuple[str, dict]]) -> bytes:
    """The batch input file of (key, body) pairs."""
    return "".join(request_line(key, body) + "\n" for key, body in requests).encode()


def read_output(raw: bytes) -> dict[str, dict]:
    """custom_id -> output line, of an output or error file (blank lines skipped)."""
    lines = (json.loads(line) for line in raw.decode().splitlines() if line.strip())
    return {line["custom_id"]: line for line in lines}


def answer_of(line: dict) -> ChatAnswer:
    """The chat answer an output line carries, or the endpoint error it reports."""
    response = line.get("response") or {}
    status = int(response.get("status_code") or 0)
    if status == 200 and not line.get("error"):
        return answer_from(response.get("body") or {})
    error = line.get("error") or (response.get("body") or {}).get("error") or {}
    message = error.get("message") if isinstance(error, dict) else str(error)
    raise EndpointStatus(status or 500, f"batch line failed: {message or 'no message'}")


class BatchWire:
    """Gathers requests into batches, submits and polls them (see the module)."""

    def __init__(self, base_url: str, api_key: str, journal, poll_s: float,
                 gather_s: float, window: str, timeout_s: float, max_lines: int = 50_000):
        self.base = base_url.rstrip("/")
        self.journal, self.poll_s, self.gather_s = journal, poll_s, gather_s
        self.window, self.max_lines = window, max_lines
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._pending: dict[str, tuple[dict, asyncio.Future]] = {}
        self._waiting: dict[str, dict[str, asyncio.Future]] = {}  # batch id -> key -> waiter
        self._pollers: dict[str, asyncio.Task] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._last_arrival = 0.0
        self.submitted: list[str] = []  # batch ids this wire submitted
        # Only a journal that has seen batches can hold a request's batch or answer: a
        # fresh run skips the two lookups per request.
        self._resuming = bool(journal.batches())

    async def chat(self, body: dict, key: str | None = None) -> ChatAnswer:
        if key is None:
            raise ValueError("batch mode names every request by its journal key")
        kept = self.journal.batch_line(key) if self._resuming else None
        if kept is not None:  # answered by a batch already read: never asked again
            return answer_of(json.loads(kept))
        waiter = asyncio.get_running_loop().create_future()
        batch_id = self.journal.open_batch_of(key) if self._resuming else None
        if batch_id is not None:  # submitted before a crash: wait for that batch
            self._waiting.setdefault(batch_id, {})[key] = waiter
            self._poll(batch_id)
        else:
            self._pending[key] = (body, waiter)
            self._schedule()
        return await waiter

    # -- submitting ------------------------------------------------------------------
    def _schedule(self) -> None:
        """Submit once no request has come for `gather_s` (or the batch is full). One
        timer per quiet spell: it looks at the last arrival when it fires."""
        loop = asyncio.get_running_loop()
        self._last_arrival = loop.time()
        if len(self._pending) >= self.max_lines:
            loop.create_task(self._submit())
        elif self._timer is None:
            self._timer = loop.call_later(self.gather_s, self._quiet)

    def _quiet(self) -> None:
        loop = asyncio.get_running_loop()
        waited = loop.time() - self._last_arrival
        if waited < self.gather_s:
            self._timer = loop.call_later(self.gather_s - waited, self._quiet)
            return
        self._timer = None
        loop.create_task(self._submit())

    async def _submit(self) -> None:
        taken, self._pending = self._pending, {}
        if not taken:
            return
        try:
            data = aiohttp.FormData()
            data.add_field("purpose", "batch")
            data.add_field("file", write_lines((k, body) for k, (body, _) in taken.items()),
                           filename="synthlake-batch.jsonl", content_type="application/jsonl")
            uploaded = await self._request("POST", "/files", data=data)
            batch = await self._request("POST", "/batches", json={
                "input_file_id": uploaded["id"], "endpoint": CHAT_URL,
                "completion_window": self.window})
            self.journal.record_batch(batch["id"], uploaded["id"], list(taken))
        except (EndpointStatus, EndpointUnreachable) as exc:
            if isinstance(exc, EndpointStatus) and exc.status == 413:
                # The file, not any one request, is too large: no request is to blame.
                exc = EndpointStatus(400, f"the batch file of {len(taken)} requests was refused "
                                          "(HTTP 413): lower batch_max_lines")
            for _, waiter in taken.values():  # the client retries each request
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        self.submitted.append(batch["id"])
        self._waiting.setdefault(batch["id"], {}).update(
            {key: waiter for key, (_, waiter) in taken.items()})
        self._poll(batch["id"])

    # -- polling and reading -------------------------------------------------------
    def _poll(self, batch_id: str) -> None:
        if batch_id not in self._pollers:
            self._pollers[batch_id] = asyncio.get_running_loop().create_task(
                self._until_finished(batch_id))

    async def _until_finished(self, batch_id: str) -> None:
        try:
            while True:
                batch = await self._request("GET", f"/batches/{batch_id}")
                if batch.get("status") in FINISHED:
                    break
                await asyncio.sleep(self.poll_s)
            lines = {}
            for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
                if file_id:
                    lines.update(read_output(await self._content(file_id)))
            answered = {k: json.dumps(line) for k, line in lines.items()
                        if (line.get("response") or {}).get("status_code") == 200
                        and not line.get("error")}
            self.journal.finish_batch(batch_id, batch["status"], answered)
        except (EndpointStatus, EndpointUnreachable) as exc:
            # Polling failed past the client's reach: each waiting request is retried.
            failure = exc
            self._release(batch_id, lambda _key: failure)
            return
        finally:
            self._pollers.pop(batch_id, None)

        def outcome(key: str):
            if key in lines:
                try:
                    return answer_of(lines[key])
                except EndpointStatus as exc:
                    return exc
            return EndpointStatus(503, f"batch {batch_id} {batch['status']} without answering "
                                       "this request")
        self._release(batch_id, outcome)

    def _release(self, batch_id: str, outcome) -> None:
        for key, waiter in self._waiting.pop(batch_id, {}).items():
            if waiter.done():
                continue
            found = outcome(key)
            if isinstance(found, Exception):
                waiter.set_exception(found)
            else:
                waiter.set_result(found)

    # -- HTTP ----------------------------------------------------------------------
    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def _request(self, method: str, path: str, **kw) -> dict:
        return json.loads(await self._raw(method, path, **kw))

    async def _content(self, file_id: str) -> bytes:
        return await self._raw("GET", f"/files/{file_id}/content")

    async def _raw(self, method: str, path: str, **kw) -> bytes:
        try:
            async with self._open().request(method, self.base + path, **kw) as http:
                raw = await http.read()
                if http.status >= 300:
                    raise EndpointStatus(http.status, _error_message(raw))
                return raw
        except aiohttp.ClientConnectorError as exc:
            raise EndpointDown(f"{type(exc).__name__}: {exc}") from None
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise EndpointUnreachable(f"{type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        for task in list(self._pollers.values()):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
