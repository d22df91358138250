"""The response journal: every LLM answer is durable the moment it arrives.

A SQLite database in WAL mode under the lake (`<lake>/_journal/llm.sqlite`). Two tables:

    responses(request_key PK, task, method, model, messages, params, text, finish_reason,
              prompt_tokens, completion_tokens, latency_s, attempts, error, created_at)
    in_flight(request_key PK, sent_at)     -- sent, no answer yet

A request is marked in flight before it is sent and replaced by its response when the
answer arrives, each in its own commit. With `synchronous=NORMAL` a commit reaches the OS
before the call returns, so a `kill -9` of the process loses nothing that was committed
(only a power cut could). After a crash, `in_flight` lists exactly the requests whose
answers were lost: the only ones a resume sends again.

Responses that ended in an error (retries exhausted) are journaled too, so they are
reported, but `lookup` ignores them: a re-run tries them again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    request_key TEXT PRIMARY KEY, task TEXT, method TEXT, model TEXT, messages TEXT,
    params TEXT, text TEXT, finish_reason TEXT, prompt_tokens INTEGER,
    completion_tokens INTEGER, latency_s REAL, attempts INTEGER, error TEXT, created_at REAL
);
CREATE INDEX IF NOT EXISTS responses_task_method ON responses(task, method);
CREATE TABLE IF NOT EXISTS in_flight (request_key TEXT PRIMARY KEY, sent_at REAL);
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
    cached: bool = False  # read back from the journal, not sent in this run


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

    @classmethod
    def for_lake(cls, lake_root: Path) -> Journal:
        return cls(Path(lake_root) / "_journal" / "llm.sqlite")

    def lookup(self, request_key: str) -> Response | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM responses WHERE request_key = ? AND error IS NULL", (request_key,)
            ).fetchone()
        return _to_response(row, cached=True) if row else None

    def mark_in_flight(self, request_key: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO in_flight VALUES (?, ?)",
                             (request_key, time.time()))

    def record(self, response: Response) -> None:
        """Store an answer and clear its in-flight mark, in one transaction."""
        row = asdict(response)
        row.pop("cached")
        row["messages"] = json.dumps(row["messages"])
        row["params"] = json.dumps(row["params"], sort_keys=True)
        row["created_at"] = row["created_at"] or time.time()
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(f"INSERT OR REPLACE INTO responses ({columns}) VALUES ({marks})",
                             tuple(row.values()))
            self._db.execute("DELETE FROM in_flight WHERE request_key = ?", (response.request_key,))
            self._db.execute("COMMIT")

    def in_flight(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT request_key FROM in_flight")}

    def close(self) -> None:
        self._db.close()


_COLUMNS = ["request_key", "task", "method", "model", "messages", "params", "text",
            "finish_reason", "prompt_tokens", "completion_tokens", "latency_s", "attempts",
            "error", "created_at"]


def _to_response(row: tuple, cached: bool) -> Response:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["messages"] = json.loads(values["messages"])
    values["params"] = json.loads(values["params"])
    return Response(**values, cached=cached)
