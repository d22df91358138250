"""The response journal's group commit: durable per write, shared per loop turn."""

import asyncio
import sqlite3
import time

import pytest

from synthlake.llm.journal import Journal, Response


def _response(key: str) -> Response:
    return Response(key, "sms_spam", "few_shot", "dev",
                    [{"role": "user", "content": f"write {key}"}], {"seed": 1},
                    f"text {key}", "stop", 3, 2, 0.2, 1, None, time.time())


def _stored(path, key: str) -> tuple[bool, bool]:
    """(answer stored, still marked in flight), read through a second connection."""
    with sqlite3.connect(path) as db:
        answered = db.execute("SELECT 1 FROM responses WHERE request_key = ?", (key,)).fetchone()
        marked = db.execute("SELECT 1 FROM in_flight WHERE request_key = ?", (key,)).fetchone()
    return answered is not None, marked is not None


def test_each_write_is_committed_before_it_returns(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    seen = []

    async def one(key: str) -> None:
        await journal.mark_in_flight(key)
        seen.append(("marked", _stored(journal.path, key)))
        await asyncio.sleep(0)
        await journal.record(_response(key))
        seen.append(("recorded", _stored(journal.path, key)))

    async def main() -> None:
        await asyncio.gather(*[one(f"k{i}") for i in range(40)])

    asyncio.run(main())
    assert seen.count(("marked", (False, True))) == 40
    assert seen.count(("recorded", (True, False))) == 40
    assert journal.lookup("k7").text == "text k7" and journal.in_flight() == set()


def test_a_cancelled_writer_leaves_the_others_of_its_batch_alone(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")

    async def main() -> list:
        tasks = [asyncio.create_task(journal.mark_in_flight(f"k{i}")) for i in range(10)]
        await asyncio.sleep(0)  # every writer has queued its mark and waits for the commit
        tasks[3].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[3], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 3] == [None] * 9
    # The cancelled writer's mark was queued before the cancel: it is committed too.
    assert journal.in_flight() == {f"k{i}" for i in range(10)}


def test_a_failed_commit_reaches_every_writer_and_writes_nothing(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with sqlite3.connect(journal.path) as db:
        db.execute("DROP TABLE responses")

    async def main() -> list:
        writers = [journal.mark_in_flight("a"), journal.record(_response("b")),
                   journal.record(_response("c"))]
        return await asyncio.gather(*writers, return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert journal.in_flight() == set()  # the mark shared the failed transaction
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        journal.lookup("b")


def test_logprobs_round_trip_and_an_older_journal_gains_their_column(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema before logprobs were kept
        db.executescript("""
            CREATE TABLE responses (request_key TEXT PRIMARY KEY, task TEXT, method TEXT,
              model TEXT, messages TEXT, params TEXT, text TEXT, finish_reason TEXT,
              prompt_tokens INTEGER, completion_tokens INTEGER, latency_s REAL,
              attempts INTEGER, error TEXT, created_at REAL);
            INSERT INTO responses VALUES ('old', 't', 'm', 'dev', '[]', '{}', 'hello', 'stop',
              1, 1, 0.1, 1, NULL, 0);""")
    journal = Journal(path)
    assert journal.lookup("old").text == "hello" and journal.lookup("old").top_logprobs is None
    answer = _response("new")
    answer.top_logprobs = {"A": -0.1, " B": -2.4}
    asyncio.run(journal.record(answer))
    assert journal.lookup("new").top_logprobs == {"A": -0.1, " B": -2.4}


def test_the_judge_reads_each_option_from_the_first_tokens_logprobs():
    import math

    from synthlake.subjectivity.ranking import option_probability

    p = option_probability({"A": math.log(0.6), " a": math.log(0.1), "B": math.log(0.2),
                            "Task": math.log(0.1)})
    assert p == pytest.approx(0.7 / 0.9)
    assert option_probability({"Task": -0.1, "The": -3.0}) is None
    assert option_probability(None) is None
