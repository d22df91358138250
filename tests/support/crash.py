"""Crash a process that sends LLM requests (kill -9) once its journal holds some answers,
and read the journal it leaves behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.support.data import REPO


def journal_count(path: Path, table: str) -> int:
    """Rows of a journal table (`responses` or `in_flight`); 0 before it exists."""
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=10) as db:
        try:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:  # the journal file exists, its schema not yet
            return 0


def kill_9_after(args: list[str], journal: Path, answers: int, timeout_s: float = 60) -> dict:
    """Run `args` (in its own process group) until the journal holds `answers` more
    responses than before, then SIGKILL the group. Returns the journal's `responses` and
    `in_flight` counts left behind, answers counted from the start."""
    before = journal_count(journal, "responses")
    proc = subprocess.Popen(args, cwd=REPO, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            if journal_count(journal, "responses") - before >= answers:
                break
            time.sleep(0.05)
    finally:  # killed in any case: a failing test leaves no orphan behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return {"answered": journal_count(journal, "responses") - before,
            "in_flight": journal_count(journal, "in_flight")}
