"""Batch mode against the loopback batch API: 2,000 few-shot requests, `kill -9` once a
batch is submitted, a restart that finds that batch in the journal and waits for it; no
request is paid for twice, failed and expired lines are sent again alone (and counted),
and the table is complete. The JSONL is the OpenAI / `vllm run-batch` line format."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig, Journal
from synthlake.llm.batch import answer_of, read_output, write_lines
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from tests.support import loopback
from tests.support.data import REPO

SCRIPT = """
import sys
from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
url, root = sys.argv[1:3]
generate(Lake(root), get_task("sms_spam").with_judge("none"), "run",
         GenerationConfig(n_per_label=1000), method="few_shot",
         endpoint=EndpointConfig(base_url=url, model="dev", batch=True, batch_poll_s=0.2,
                                 batch_gather_s=0.3, backoff_base_s=0.05, backoff_max_s=0.1))
"""


def test_the_line_format_is_openais_and_vllm_run_batchs():
    raw = write_lines([("k1", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})])
    line = json.loads(raw)
    assert line == {"custom_id": "k1", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}
    out = (b'{"id": "r1", "custom_id": "k1", "response": {"status_code": 200, "body": '
           b'{"choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}], '
           b'"usage": {"prompt_tokens": 3, "completion_tokens": 1}}}, "error": null}\n\n')
    answer = answer_of(read_output(out)["k1"])
    assert (answer.content, answer.prompt_tokens, answer.completion_tokens) == ("hello", 3, 1)


def test_two_thousand_requests_survive_kill_9_and_none_is_paid_twice(tmp_path):
    root = tmp_path / "lake"
    write_real_examples(Lake(root), get_task("sms_spam"), "real")
    log = tmp_path / "requests.jsonl"
    args = [sys.executable, "-c", SCRIPT]
    with loopback.running(free_port(), "--request-log", str(log), "--batch-delay", "4",
                          "--batch-fail-rate", "0.03", "--batch-expire-rate", "0.05") as url:
        crashed = subprocess.Popen([*args, url, str(root)], cwd=REPO, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                "batch" in e and "lines" in e for e in loopback.read_request_log(log)):
            time.sleep(0.1)
        time.sleep(0.5)  # the batch id is journaled right after the server answers
        os.killpg(crashed.pid, signal.SIGKILL)
        crashed.wait()
        submitted = [e for e in loopback.read_request_log(log) if "lines" in e]
        assert submitted and not any("paid" in e for e in loopback.read_request_log(log))
        journal = Journal(Lake(root).journal)
        assert [b["status"] for b in journal.batches()] == ["submitted"] * len(submitted)
        journal.close()

        subprocess.run([*args, url, str(root)], cwd=REPO, check=True, timeout=600)

    entries = loopback.read_request_log(log)
    paid = Counter(e["paid"] for e in entries if "paid" in e)
    batches = [e for e in entries if "lines" in e]
    expired = {e["expired"] for e in entries if "expired" in e}
    failed = {e["failed"] for e in entries if "failed" in e}
    assert max(paid.values()) == 1  # no request paid for twice
    assert expired and failed and (expired | failed) <= set(paid)  # sent again, and answered
    # The first batch (submitted before the kill) was waited for, not submitted again.
    first = json.loads(log.read_text().splitlines()[0])
    assert sum(e["lines"] for e in batches) == sum(paid.values()) + len(expired) + len(failed)
    assert first["lines"] >= 2000
    rows = Lake(root).read("synthetic_examples").to_pandas()
    accepted = rows[rows["status"] == "accepted"].groupby("label").size().to_dict()
    assert accepted == {"ham": 1000, "spam": 1000}
    # Counted: each failed or expired request's journaled answer took a second attempt.
    responses = Lake(root).read("llm_responses").to_pandas().set_index("request_key")
    assert (responses.loc[sorted(expired | failed), "attempts"] >= 2).all()
    journal = Journal(Lake(root).journal)
    assert journal.in_flight() == set()
    assert {b["status"] for b in journal.batches()} <= {"completed", "expired"}
    journal.close()


def test_batch_mode_without_an_endpoint_is_a_clear_error(tmp_path):
    import pytest

    from synthlake.llm import FatalLLMError

    lake = Lake(tmp_path / "lake")
    write_real_examples(lake, get_task("sms_spam"), "real")
    with pytest.raises(FatalLLMError, match="batch mode needs an endpoint with a batch API"):
        generate(lake, get_task("sms_spam"), "r", GenerationConfig(n_per_label=2),
                 method="few_shot", endpoint=EndpointConfig(batch=True))
