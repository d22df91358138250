"""The response journal: every LLM answer is durable the moment it arrives.

A SQLite database in WAL mode under the lake (`<lake>/_journal/llm.sqlite`). Two tables:

    responses(request_key PK, task, method, model, messages, params, text, finish_reason,
              prompt_tokens, completion_tokens, latency_s, attempts, error, created_at,
              top_logprobs)                -- JSON {token: logprob} of the first token, if asked
    in_flight(request_key PK, sent_at)     -- sent, no answer yet
    batches(batch_id PK, input_file_id, status, submitted_at, finished_at)
                                           -- batch mode: every batch submitted
    batch_keys(request_key PK, batch_id)   -- which batch holds a request (its custom_id)
    batch_lines(request_key PK, batch_id, line)
                                           -- the output line of every request a finished
                                              batch answered, kept as read

A request is marked in flight before it is sent and replaced by its response when the
answer arrives. Writes are group-committed: every write queued during one turn of the
event loop goes out in a single transaction, and each writer resumes only once that
transaction has committed. So durability is per write (a request is not sent before its
mark is committed; `complete()` does not return before its answer is), while a busy run
pays one commit per loop turn instead of two per request. With `synchronous=NORMAL` a
commit reaches the OS before it returns, so a `kill -9` of the process loses nothing that
was committed (only a power cut could). After a crash, `in_flight` lists exactly the
requests whose answers were lost: the only ones a resume sends again.

Responses that ended in an error (retries exhausted) are journaled too, so they are
reported, but `lookup` ignores them: a re-run tries them again.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    request_key TEXT PRIMARY KEY, task TEXT, method TEXT, model TEXT, messages TEXT,
    params TEXT, text TEXT, finish_reason TEXT, prompt_tokens INTEGER,
    completion_tokens INTEGER, latency_s REAL, attempts INTEGER, error TEXT, created_at REAL,
    top_logprobs TEXT
);
CREATE INDEX IF NOT EXISTS responses_task_method ON responses(task, method);
CREATE TABLE IF NOT EXISTS in_flight (request_key TEXT PRIMARY KEY, sent_at REAL);
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, input_file_id TEXT,
    status TEXT, submitted_at REAL, finished_at REAL);
CREATE TABLE IF NOT EXISTS batch_keys (request_key TEXT PRIMARY KEY, batch_id TEXT);
CREATE TABLE IF NOT EXISTS batch_lines (request_key TEXT PRIMARY KEY, batch_id TEXT, line TEXT);
"""


@dataclass
class Response:
    """One answer (or final failure) of the endpoint for one request."""

    request_key: str
    task: str
    method: str
    model: str
    messages: list[dict]
    params: dict
    text: str | None
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    error: str | None = None
    created_at: float = 0.0
    top_logprobs: dict[str, float] | None = None  # the first token's alternatives, if asked
    cached: bool = False  # read back from the journal, not sent in this run

    def row(self) -> dict:
        """The stored form, one column per field but `cached`, messages and params as
        JSON: a journal row, and a row of the `llm_responses` Delta table."""
        return {"request_key": self.request_key, "task": self.task, "method": self.method,
                "model": self.model, "messages": json.dumps(self.messages, ensure_ascii=False),
                "params": json.dumps(self.params, sort_keys=True), "text": self.text,
                "finish_reason": self.finish_reason, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_s": self.latency_s,
                "attempts": self.attempts, "error": self.error,
                "created_at": self.created_at or time.time(),
                "top_logprobs": None if self.top_logprobs is None
                else json.dumps(self.top_logprobs, ensure_ascii=False)}


class Journal:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        known = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        if "top_logprobs" not in known:  # a journal from before logprobs were kept
            self._db.execute("ALTER TABLE responses ADD COLUMN top_logprobs TEXT")
        # This loop turn's writes, committed together by `_commit_batch`.
        self._marks: list[tuple[str, float]] = []
        self._records: list[tuple] = []
        self._writers: list[asyncio.Future] = []

    def lookup(self, request_key: str) -> Response | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM responses WHERE request_key = ? AND error IS NULL", (request_key,)
            ).fetchone()
        return _to_response(row, cached=True) if row else None

    async def mark_in_flight(self, request_key: str) -> None:
        self._marks.append((request_key, time.time()))
        await self._committed()

    async def record(self, response: Response) -> None:
        """Store an answer and clear its in-flight mark (same transaction)."""
        row = response.row()
        self._records.append(tuple(row[column] for column in _COLUMNS))
        await self._committed()

    async def _committed(self) -> None:
        """Wait for the commit of this loop turn's transaction."""
        loop = asyncio.get_running_loop()
        if not self._writers:
            # call_soon runs after the tasks already woken in this turn: under load many
            # answers arrive in one turn and share the commit.
            loop.call_soon(self._commit_batch)
        # One future per writer, not one shared: a cancelled writer cancels only its own.
        done = loop.create_future()
        self._writers.append(done)
        await done

    def _commit_batch(self) -> None:
        marks, records, writers = self._marks, self._records, self._writers
        self._marks, self._records, self._writers = [], [], []
        try:
            # One transaction: `with self._db` commits it, or rolls it back on error.
            # Marks go first: an answer is always in a later batch than its own mark.
            with self._lock, self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO in_flight VALUES (?, ?)", marks)
                self._db.executemany(INSERT_RESPONSE, records)
                self._db.executemany("DELETE FROM in_flight WHERE request_key = ?",
                                     [row[:1] for row in records])  # (request_key,)
        except Exception as exc:  # every writer of the batch sees the failure
            for done in writers:
                if not done.done():
                    done.set_exception(exc)
        else:
            for done in writers:
                if not done.done():
                    done.set_result(None)

    # -- batch mode (`batch.py`): small synchronous writes, each committed at once ------
    def record_batch(self, batch_id: str, input_file_id: str, keys: list[str]) -> None:
        """A submitted batch and the requests it holds, durable before anyone waits on it:
        after a crash the batch is found again by these keys, never submitted twice."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, 'submitted', ?, NULL)",
                             (batch_id, input_file_id, time.time()))
            self._db.executemany("INSERT OR REPLACE INTO batch_keys VALUES (?, ?)",
                                 [(key, batch_id) for key in keys])

    def open_batch_of(self, request_key: str) -> str | None:
        """The unfinished batch that holds a request, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT b.batch_id FROM batch_keys k JOIN batches b USING (batch_id) "
                "WHERE k.request_key = ? AND b.finished_at IS NULL", (request_key,)).fetchone()
        return row[0] if row else None

    def finish_batch(self, batch_id: str, status: str, lines: dict[str, str]) -> None:
        """A finished batch's status and every output line it answered (request key ->
        line), in one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO batch_lines VALUES (?, ?, ?)",
                                 [(key, batch_id, line) for key, line in lines.items()])
            self._db.execute("UPDATE batches SET status = ?, finished_at = ? WHERE batch_id = ?",
                             (status, time.time(), batch_id))

    def batch_line(self, request_key: str) -> str | None:
        """The output line a finished batch gave a request (None: none yet)."""
        with self._lock:
            row = self._db.execute("SELECT line FROM batch_lines WHERE request_key = ?",
                                   (request_key,)).fetchone()
        return row[0] if row else None

    def batches(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM batches ORDER BY submitted_at").fetchall()
        return [dict(zip(("batch_id", "input_file_id", "status", "submitted_at", "finished_at"),
                         row, strict=True)) for row in rows]

    def in_flight(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT request_key FROM in_flight")}

    def close(self) -> None:
        self._db.close()


_COLUMNS = [f.name for f in fields(Response) if f.name != "cached"]  # SCHEMA's order
INSERT_RESPONSE = (f"INSERT OR REPLACE INTO responses ({', '.join(_COLUMNS)}) "
                   f"VALUES ({', '.join('?' for _ in _COLUMNS)})")


def _to_response(row: tuple, cached: bool) -> Response:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["messages"] = json.loads(values["messages"])
    values["params"] = json.loads(values["params"])
    if values["top_logprobs"] is not None:
        values["top_logprobs"] = json.loads(values["top_logprobs"])
    return Response(**values, cached=cached)
