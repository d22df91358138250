"""The LLM client's policy without a socket: limits, retries, journal and fatal errors,
through an in-process wire (`tests/support/fake_wire.py`)."""

import asyncio
import time

import pytest

from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.llm import (
    REQUEST_TOO_LARGE,
    BudgetExceeded,
    ChatRequest,
    FatalLLMError,
    long_lived_objects_frozen,
    session,
)
from synthlake.llm.limits import AdaptiveLimiter, RateBucket, shared_bucket_file
from synthlake.llm.transport import EndpointStatus, EndpointUnreachable, UnreadableAnswer
from synthlake.realdata import write_real_examples
from tests.support.fake_wire import FakeWire, fake_endpoint


def test_limiter_hands_a_freed_slot_to_one_waiter_in_order_and_slows_down_on_429():
    async def scenario():
        limiter = AdaptiveLimiter(2)
        await limiter.acquire()
        second = await limiter.acquire()
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        assert limiter.in_flight == 2 and not any(w.done() for w in waiters)
        waiters[0].cancel()  # gives up before its turn: must not take a slot
        await asyncio.sleep(0)
        limiter.release()  # one slot frees: the next waiter in line gets it, only it
        await asyncio.sleep(0)
        assert waiters[1].done() and not waiters[2].done() and limiter.in_flight == 2
        limiter.slow_down(second)  # a 429: the limit drops below 2 at once
        limiter.release(rate_limited=True)  # one still in flight: nobody enters
        await asyncio.sleep(0)
        assert limiter.limit == pytest.approx(1.8) and limiter.in_flight == 1 and not waiters[2].done()
        limiter.release()  # success: the limit climbs back and the last waiter enters
        await asyncio.sleep(0)
        assert waiters[2].done() and limiter.in_flight == 1
        assert waiters[0].cancelled()

    asyncio.run(scenario())


def test_a_burst_of_429_slows_the_limit_down_once_per_round():
    async def scenario():
        limiter = AdaptiveLimiter(64)
        round_one = [await limiter.acquire() for _ in range(64)]
        for ticket in round_one[:40]:  # all sent under the old limit: one drop
            limiter.slow_down(ticket)
        assert limiter.limit == pytest.approx(64 * 0.9)
        for _ in range(40):
            limiter.release(rate_limited=True)  # no climbing back on their release
        assert limiter.limit == pytest.approx(64 * 0.9) and limiter.in_flight == 24
        later = await limiter.acquire()  # admitted after the drop: news again
        limiter.slow_down(later)
        assert limiter.limit == pytest.approx(64 * 0.9 * 0.9)

    asyncio.run(scenario())


def _take_from_shared(path: str, per_minute: float, n: int, out) -> None:
    """One process's client: `n` requests through the shared budget, their send times."""
    from pathlib import Path

    bucket = RateBucket(per_minute, shared=Path(path))

    async def send():
        times = []
        for _ in range(n):
            await bucket.take(1)
            times.append(time.time())
        return times

    out.put(asyncio.run(send()))


def test_processes_that_share_a_budget_send_at_one_clients_pace_together(tmp_path):
    """Three processes, 20 requests each, one budget of 20 requests/s (a bucket of 20):
    together they send no faster than one client would, not three times as fast. Dagster's
    pool on SQLite can let several LLM steps run at once; the budget must hold anyway."""
    import multiprocessing

    path, rate, n = tmp_path / "budget", 20.0, 20
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_take_from_shared, args=(str(path), rate * 60, n, out))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    sent = sorted(t for _ in workers for t in out.get(timeout=60))
    for worker in workers:
        worker.join(timeout=10)
    # A full bucket (20) at once, then 20 a second: 60 requests take at least 2 seconds.
    assert sent[-1] - sent[0] >= (3 * n - rate) / rate - 0.1, sent[-1] - sent[0]
    busiest = max(sum(1 for b in sent if a <= b < a + 1.0) for a in sent)
    assert busiest <= 2 * rate + 1, busiest
    # Unshared, each process's own bucket would have let all 60 go within a second.
    assert shared_bucket_file("http://a/v1", "m", "requests") != shared_bucket_file(
        "http://b/v1", "m", "requests")
    assert "secret" not in str(shared_bucket_file("http://secret@a/v1", "m", "requests"))


def test_objects_alive_before_generation_are_frozen_and_new_garbage_still_collected():
    import gc
    import weakref

    class Node:
        pass

    def cycle() -> weakref.ref:
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    gc.disable()  # no automatic collection between the steps below
    try:
        old = cycle()  # already garbage, but only the cycle collector can free it
        assert gc.get_freeze_count() == 0
        with long_lived_objects_frozen():
            assert gc.get_freeze_count() > 0
            new = cycle()
            gc.collect()
            assert new() is None  # made inside: collected as usual
            assert old() is not None  # alive before: out of the collector's sight
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert old() is None  # back in the oldest generation, collected
    finally:
        gc.enable()


@pytest.mark.parametrize(("status", "message", "one_request"), [
    (400, "This model's maximum context length is 4096 tokens. However, your messages "
          "resulted in 9000 tokens.", True),  # OpenAI, vLLM
    (400, "the request exceeds the available context size, try increasing it", True),  # llama.cpp
    (400, "request (9000 tokens) exceeds the available context size (4096 tokens)", True),
    (400, "Prompt is too long", True),
    (413, "Payload Too Large", True),
    (400, "max_tokens is too large: 50000. This model supports at most 4096 completion tokens",
     False),  # a setting every request shares: the run stops
    (400, "Unrecognized request argument supplied: seedx", False),
])
def test_which_refusals_concern_one_request(status, message, one_request):
    from synthlake.llm.client import LLMClient
    from synthlake.llm.transport import EndpointStatus

    assert LLMClient._too_large(EndpointStatus(status, message)) is one_request


def ask(wire: FakeWire, journal_path, n: int, **config) -> list:
    requests = [ChatRequest("t", "few_shot", [{"role": "user", "content": f"say {i}"}],
                            {"seed": i, "max_tokens": 16}, slot=str(i)) for i in range(n)]
    with session(fake_endpoint(max_concurrency=4, **config), journal_path, wire) as llm:
        responses, usage = llm.run(lambda c: asyncio.gather(*[c.complete(r) for r in requests]))
    return responses, usage


def test_every_healable_fault_is_retried_and_each_answer_journaled_once(tmp_path):
    faults = {1: EndpointStatus(500, "boom"), 3: EndpointUnreachable("dropped"),
              5: UnreadableAnswer("not json"), 7: EndpointStatus(429, "slow down", 0.0),
              8: EndpointStatus(503, "busy")}
    wire = FakeWire(faults=faults)
    responses, usage = ask(wire, tmp_path / "j.sqlite", 6)
    assert all(r.text and not r.error for r in responses)
    assert len(wire.bodies) == 6 + len(faults) and usage["retries"] == len(faults)
    assert usage["failures"] == 0 and usage["rate_limited"] == 1
    again = FakeWire()
    responses_again, usage = ask(again, tmp_path / "j.sqlite", 6)
    assert again.bodies == [] and usage["cached"] == 6  # never paid for twice
    assert [r.text for r in responses_again] == [r.text for r in responses]


def test_attempts_run_out_into_a_recorded_failure(tmp_path):
    wire = FakeWire(faults={i: EndpointStatus(500, "down") for i in range(1, 4)})
    responses, usage = ask(wire, tmp_path / "j.sqlite", 1, max_attempts=3)
    assert responses[0].error and "500" in responses[0].error and responses[0].attempts == 3
    assert usage["failures"] == 1


@pytest.mark.parametrize(("status", "message"), [(401, "refused the credentials"),
                                                 (404, "does not know model 'fake'"),
                                                 (400, "rejected the request")])
def test_an_error_no_retry_heals_stops_at_once_naming_the_endpoint(tmp_path, status, message):
    wire = FakeWire(faults={1: EndpointStatus(status, "no")})
    with pytest.raises(FatalLLMError, match=message) as err:
        ask(wire, tmp_path / "j.sqlite", 1)
    assert "in-process.invalid" in str(err.value) and len(wire.bodies) == 1


def test_a_request_too_large_for_the_model_is_one_failed_request_not_a_stop(tmp_path):
    wire = FakeWire(faults={1: EndpointStatus(400, "Prompt is too long")})
    responses, usage = ask(wire, tmp_path / "j.sqlite", 1)
    assert responses[0].error.startswith(REQUEST_TOO_LARGE) and len(wire.bodies) == 1


def test_the_budget_counts_requests_in_flight_so_a_crowd_cannot_overshoot_it(tmp_path):
    wire = FakeWire()
    with pytest.raises(BudgetExceeded, match="token budget 60"):
        ask(wire, tmp_path / "j.sqlite", 40, max_total_tokens=60)  # 16 reserved each
    assert len(wire.bodies) == 3


def test_generation_through_the_wire_meets_its_quota_and_resumes_from_the_journal(lake):
    spec = get_task("sms_spam")
    spec = spec.model_copy(update={"fidelity": spec.fidelity.model_copy(update={"judge": "none"})})
    write_real_examples(lake, spec, "real")
    wire = FakeWire(faults={2: EndpointStatus(500, "boom")})
    config = GenerationConfig(n_per_label=6)
    report = generate(lake, spec, "r1", config, method="few_shot", endpoint=fake_endpoint(),
                      wire=wire)
    assert report.accepted == {"ham": 6, "spam": 6} and report.usage["retries"] == 1
    rows = lake.read("synthetic_examples", where={"task": "sms_spam", "method": "few_shot"})
    assert rows.num_rows >= 12 and set(rows.column("model").to_pylist()) == {"fake"}
    again = FakeWire()
    report = generate(lake, spec, "r2", config, method="few_shot", endpoint=fake_endpoint(),
                      wire=again)
    assert again.bodies == [] and report.accepted == {"ham": 6, "spam": 6}
