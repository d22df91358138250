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
