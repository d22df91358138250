"""The generation engine against a real HTTP endpoint on loopback that injects faults."""

import asyncio
import bisect
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, GenerationShortfall, generate
from synthlake.lake import Lake
from synthlake.llm import (
    ChatRequest,
    EndpointConfig,
    FatalLLMError,
    session,
)
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from tests.support import loopback
from tests.support.crash import kill_9_after
from tests.support.data import REPO

# The loopback's texts are no real spam or ham: where a test is about the transport, no
# label filter stands between its answers and the quota.
UNJUDGED = get_task("sms_spam").with_judge("none")


@pytest.fixture
def sms_lake(lake) -> Lake:
    write_real_examples(lake, get_task("sms_spam"), "real")
    return lake


def endpoint(url: str, **kw) -> EndpointConfig:
    return EndpointConfig(base_url=url, model="dev", timeout_s=kw.pop("timeout_s", 2.0),
                          backoff_base_s=0.05, backoff_max_s=0.5, **kw)


def counts(lake: Lake, method: str) -> dict:
    rows = lake.read("synthetic_examples", where={"task": "sms_spam", "method": method})
    frame = rows.to_pandas()
    return frame[frame.status == "accepted"].groupby("label").size().to_dict()


@pytest.mark.parametrize("method", ["zero_shot", "few_shot"])
def test_every_fault_heals_and_is_recorded(sms_lake, tmp_path, method):
    log = tmp_path / "requests.jsonl"
    faults = "429,500,503,drop,slow,malformed,empty,length"
    # The LLM judge's requests meet the faults too (the loopback's answers name no
    # label, so its verdicts abstain and keep every row).
    with loopback.running(free_port(), "--faults", faults, "--fault-rate", "0.6",
                           "--slow-s", "3", "--request-log", str(log)) as url:
        report = generate(sms_lake, get_task("sms_spam").with_judge("llm"), "r1",
                          GenerationConfig(n_per_label=12), method=method,
                          endpoint=endpoint(url, timeout_s=1.0))
    assert report.accepted == {"ham": 12, "spam": 12} and not report.shortfall
    assert counts(sms_lake, method) == {"ham": 12, "spam": 12}
    seen = Counter(entry["fault"] for entry in loopback.read_request_log(log))
    assert {"429", "500", "503", "drop", "slow", "malformed"} <= set(seen), seen
    # The log holds the label filter's requests too (the LLM judge of zero-shot).
    counted = {key: report.usage[key] + report.judge_usage[key]
               for key in ("retries", "rate_limited")}
    assert counted["retries"] >= sum(seen[f] for f in ("429", "500", "503", "drop", "malformed"))
    assert counted["rate_limited"] == seen["429"]
    raw = sms_lake.read("llm_responses", where={"task": "sms_spam", "method": method}).to_pandas()
    assert (raw.attempts > 1).any(), "retries are recorded per response"
    assert set(raw.finish_reason) >= {"stop"}
    table = sms_lake.read("synthetic_examples", where={"task": "sms_spam", "method": method})
    reasons = set(table.to_pandas().reason.dropna())
    assert seen["empty"] and "empty" in reasons, "an empty answer is rejected, then replaced"


def test_a_finished_partition_sends_zero_requests_again(sms_lake, tmp_path):
    log = tmp_path / "requests.jsonl"
    spec, config = get_task("sms_spam"), GenerationConfig(n_per_label=8)
    with loopback.running(free_port(), "--request-log", str(log)) as url:
        for method in ("zero_shot", "few_shot"):
            generate(sms_lake, spec, "r1", config, method=method, endpoint=endpoint(url))
        sent = len(loopback.read_request_log(log))
        first = sms_lake.read("synthetic_examples").sort_by("request_key").column("text")
        for method in ("zero_shot", "few_shot"):
            report = generate(sms_lake, spec, "r2", config, method=method, endpoint=endpoint(url))
            assert report.usage["requests_sent"] == 0 and report.usage["cached"] > 0
    assert len(loopback.read_request_log(log)) == sent
    again = sms_lake.read("synthetic_examples").sort_by("request_key").column("text")
    assert first.equals(again)


@pytest.mark.parametrize(("server_args", "message"), [
    (["--api-key", "the-right-key"], "refused the credentials (HTTP 401)"),
    (["--models", "gpt-x"], "does not know model 'dev' (HTTP 404)"),
])
def test_unhealable_errors_fail_fast(sms_lake, monkeypatch, server_args, message):
    # The server echoes the key it refused; its variable's name says nothing of a key.
    monkeypatch.setenv("SYNTH_ACCESS", "sk-canary-wrong-key-123456")
    with loopback.running(free_port(), *server_args) as url:
        started = time.monotonic()
        with pytest.raises(FatalLLMError) as err:
            generate(sms_lake, get_task("sms_spam"), "r1", GenerationConfig(n_per_label=5),
                     method="few_shot", endpoint=endpoint(url, api_key_env="SYNTH_ACCESS"))
    assert time.monotonic() - started < 10
    assert message in str(err.value) and url in str(err.value)
    assert not _files_containing(sms_lake.root, b"sk-canary") and "sk-canary" not in str(err.value)
    assert not sms_lake.exists("synthetic_examples"), "nothing partial is written"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_request_too_large_for_the_model_is_rejected_alone(sms_lake, tmp_path):
    """A 400 about one request's size sets that request aside (reason `request too large`)
    and the run goes on; other 400s still stop it (test above)."""
    with loopback.running(free_port(), "--max-request-bytes", "1050") as url:
        report = generate(sms_lake, get_task("sms_spam"), "r1",
                          GenerationConfig(n_per_label=8, max_attempts_factor=8), method="few_shot",
                          endpoint=endpoint(url))
    assert report.reasons.get("request too large", 0) > 0, report.reasons
    assert report.accepted == {"ham": 8, "spam": 8}
    raw = sms_lake.read("llm_responses").to_pandas()
    too_large = raw[raw.error.fillna("").str.startswith("request too large")]
    assert len(too_large) == report.reasons["request too large"] and (too_large.attempts == 1).all()


def test_the_request_timeout_is_a_setting(sms_lake, monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_TIMEOUT_S", "0.5")
    assert EndpointConfig.from_env().timeout_s == 0.5
    assert EndpointConfig.from_env(timeout_s=3.0).timeout_s == 3.0, "an explicit value wins"
    with loopback.running(free_port(), "--faults", "slow", "--fault-rate", "1",
                           "--slow-s", "30") as url:
        started = time.monotonic()
        report = generate(sms_lake, UNJUDGED, "r1",
                          GenerationConfig(n_per_label=2, max_shortfall_share=1.0),
                          method="few_shot", endpoint=EndpointConfig.from_env(
                              base_url=url, model="dev", backoff_base_s=0.01))
    assert time.monotonic() - started < 15, "a slow answer is given up after 0.5 s, not 30"
    assert report.accepted == {"ham": 2, "spam": 2}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/v1",  # nothing listens: connection refused
    "http://no-such-host.invalid:{port}/v1",  # the name does not resolve
])
def test_a_dead_endpoint_fails_fast_naming_it_and_writes_nothing(sms_lake, monkeypatch, url):
    url = url.format(port=free_port())
    monkeypatch.setenv("SYNTH_ACCESS", "sk-canary-dead-endpoint-42")
    started = time.monotonic()
    with pytest.raises(FatalLLMError) as err:  # default settings: no test-sized backoff
        generate(sms_lake, get_task("sms_spam"), "r1", GenerationConfig(n_per_label=5),
                 method="few_shot",
                 endpoint=EndpointConfig(base_url=url, model="dev", api_key_env="SYNTH_ACCESS"))
    assert time.monotonic() - started < 15
    assert url in str(err.value) and "cannot be reached" in str(err.value)
    assert "sk-canary" not in str(err.value)
    assert not sms_lake.exists("synthetic_examples")


def test_the_cli_exits_non_zero_on_a_dead_endpoint_and_keeps_the_good_partition(sms_lake, tmp_path):
    def cli(url: str, model: str, n: int = 4, *extra: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "OPENAI_BASE_URL": url, "SYNTHLAKE_MODEL": model}
        return subprocess.run([sys.executable, "-m", "synthlake.cli", "--lake", str(sms_lake.root),
                               "generate", "--task", "sms_spam", "--method", "few_shot",
                               "--judge", "none", "--n-per-label", str(n), *extra], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    # A shortfall within the bound is written, reported on stderr, and exits 1.
    with loopback.running(free_port(), "--faults", "empty", "--fault-rate", "1",
                           "--faults-per-request", "99") as url:
        short = cli(url, "empty-model", 4, "--max-shortfall-share", "1.0")
    assert short.returncode == 1 and "shortfall ham 4 of 4, spam 4 of 4" in short.stderr

    with loopback.running(free_port()) as url:
        assert cli(url, "dev").returncode == 0
    version = sms_lake.version("synthetic_examples")
    dead = f"http://127.0.0.1:{free_port()}/v1"
    result = cli(dead, "another-model")  # nothing in the journal for this model
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and dead in errors[0] and "Traceback" not in result.stderr
    assert sms_lake.version("synthetic_examples") == version
    assert counts(sms_lake, "few_shot") == {"ham": 4, "spam": 4}


def test_a_run_far_short_of_its_plan_does_not_replace_the_partition(sms_lake, tmp_path):
    spec = UNJUDGED
    with loopback.running(free_port()) as url:
        generate(sms_lake, spec, "good", GenerationConfig(n_per_label=6), method="few_shot",
                 endpoint=endpoint(url))
    version = sms_lake.version("synthetic_examples")
    # Every attempt fails with a 503: only endpoint errors come back.
    expected = r"ham 6 of 6, spam 6 of 6 \(100% of the plan\)"
    with loopback.running(free_port(), "--faults", "503", "--fault-rate", "1",
                           "--faults-per-request", "99") as url, \
            pytest.raises(GenerationShortfall, match=expected):
        generate(sms_lake, spec, "bad", GenerationConfig(n_per_label=6), method="few_shot",
                 endpoint=endpoint(url, max_attempts=2).model_copy(update={"model": "other"}))
    assert sms_lake.version("synthetic_examples") == version
    assert counts(sms_lake, "few_shot") == {"ham": 6, "spam": 6}


GENERATE_SCRIPT = """
import sys
from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, GenerationShortfall, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
url, root, method = sys.argv[1:4]
generate(Lake(root), get_task("sms_spam"), "run",
         GenerationConfig(n_per_label=30, streams_per_label=3), method=method,
         endpoint=EndpointConfig(base_url=url, model="dev", max_concurrency=6))
"""


@pytest.mark.parametrize("method", ["few_shot", "zero_shot"])
def test_kill_9_then_resume_resends_only_what_was_in_flight(sms_lake, tmp_path, method):
    log = tmp_path / "requests.jsonl"
    journal = sms_lake.journal
    with loopback.running(free_port(), "--latency", "0.25", "--request-log", str(log)) as url:
        args = [sys.executable, "-c", GENERATE_SCRIPT, url, str(sms_lake.root), method]
        left = kill_9_after(args, journal, answers=15)
        assert 15 <= left["answered"] < 60, "killed in the middle"
        subprocess.run(args, cwd=REPO, check=True)
    sent = Counter(entry["key"] for entry in loopback.read_request_log(log))
    resent = sum(n - 1 for n in sent.values())
    assert resent <= left["in_flight"] <= 6
    assert counts(sms_lake, method) == {"ham": 30, "spam": 30}


def test_a_rate_limit_paces_requests_without_using_up_attempts(sms_lake, tmp_path):
    log = tmp_path / "requests.jsonl"
    with loopback.running(free_port(), "--rate-limit", "40", "--request-log", str(log)) as url:
        report = generate(sms_lake, get_task("sms_spam"), "r1", GenerationConfig(n_per_label=30),
                          method="few_shot",
                          endpoint=endpoint(url, max_concurrency=32, max_attempts=1))
    assert report.accepted == {"ham": 30, "spam": 30} and report.usage["failures"] == 0
    entries = loopback.read_request_log(log)
    refused = [e for e in entries if e["fault"] == "rate limit"]
    assert refused and report.usage["rate_limited"] == len(refused)
    admitted = sorted(e["t"] for e in entries if e["fault"] is None)
    # The server keeps its limit: no second admits more than 40 plus its 4-request burst.
    busiest = max(bisect.bisect_right(admitted, t + 1.0) - i for i, t in enumerate(admitted))
    assert busiest <= 44, busiest


def ask_all(url: str, journal_path: Path, n: int, **config) -> list:
    """`n` distinct requests at once through one session; their responses."""
    requests = [ChatRequest("t", "few_shot", [{"role": "user", "content": f"say {i}"}],
                            {"seed": i}, slot=str(i)) for i in range(n)]
    with session(endpoint(url, max_concurrency=n, **config), journal_path) as llm:
        responses, _ = llm.run(lambda client: asyncio.gather(*[client.complete(r) for r in requests]))
    return responses


def test_a_request_refused_for_longer_than_the_patience_is_a_recorded_failure(tmp_path):
    with loopback.running(free_port(), "--rate-limit", "2") as url:
        responses = ask_all(url, tmp_path / "j.sqlite", 20, max_rate_limited_s=0.6)
    failed = [r for r in responses if r.error]
    assert failed and len(failed) < len(responses)
    assert all(r.error.startswith("429 rate limited") and "s of waiting" in r.error for r in failed)
    assert all(r.text for r in responses if not r.error)
    with sqlite3.connect(tmp_path / "j.sqlite") as db:  # journaled as failures, none in flight
        errors = [e for (e,) in db.execute("SELECT error FROM responses WHERE error IS NOT NULL")]
        in_flight = db.execute("SELECT count(*) FROM in_flight").fetchone()[0]
    assert sorted(errors) == sorted(r.error for r in failed) and in_flight == 0


def test_requests_per_minute_paces_the_client_before_the_endpoint_must(tmp_path):
    log = tmp_path / "requests.jsonl"
    with loopback.running(free_port(), "--request-log", str(log)) as url:
        responses = ask_all(url, tmp_path / "j.sqlite", 50, requests_per_minute=1200)
    assert all(r.text and not r.error for r in responses)
    sent = sorted(e["t"] for e in loopback.read_request_log(log))
    # 20 per second with a bucket of one second's worth: 20 at once, then 20 a second.
    busiest = max(bisect.bisect_right(sent, t + 1.0) - i for i, t in enumerate(sent))
    assert len(sent) == 50 and busiest <= 41, busiest
    assert sent[-1] - sent[0] >= 1.4
