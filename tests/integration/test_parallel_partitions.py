"""Four task partitions materialized at once, by four `dagster asset materialize`
processes on one instance, against one loopback endpoint that enforces a provider's rate
limit (200 requests/s, a tenth of a second's burst): the generation steps share the
endpoint's concurrency pool (limit 1) and the client's budget of 20 requests a second (a
bucket of one second's worth) is shared by every process on the machine, so the endpoint
sees one client's pace, never four, refuses nothing, and all four runs complete.

Both are needed: on this SQLite instance Dagster's pool let three of the four generation
steps run at once when they claimed its slot within milliseconds (seen 2026-12-07, dagster
1.13.27), and the shared budget is what kept the endpoint's pace then."""

import bisect
import json
import os
import subprocess
import sys

import dagster as dg

from assets.real import real_examples
from assets.resources import LakeResource
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from tests.support import loopback
from tests.support.data import REPO

TASKS = ["humor_speech", "sarcasm_headlines", "sms_spam", "tweet_irony"]
RATE = 20  # requests per second the client paces itself at


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times))


def test_four_partitions_in_parallel_share_one_endpoint_budget(tmp_path):
    home, root, log = tmp_path / "home", tmp_path / "lake", tmp_path / "requests.jsonl"
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n"
                                       "telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))
    for task in TASKS:
        assert dg.materialize([real_examples], partition_key=task,
                              instance=instance,
                              resources={"lake": LakeResource(root=str(root))}).success
    # Each run's steps in its own process (not one process per step): the asset checks
    # call no LLM, and spawning a process for each of them was most of this test's time.
    config = {"execution": {"config": {"in_process": {}}},
              "ops": {"generate_zero_shot": {"config": {"n_per_label": 30}}},
              "resources": {"llm": {"config": {"requests_per_minute": RATE * 60}}}}
    with loopback.running(free_port(), "--latency", "0.05", "--rate-limit", str(10 * RATE),
                          "--request-log", str(log)) as url:
        env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(root),
               "OPENAI_BASE_URL": url, "SYNTHLAKE_MODEL": "dev"}
        runs = [subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "orchestration.definitions", "--select",
             "synthetic_examples/zero_shot,llm_responses/zero_shot", "--partition", task,
             "--config-json", json.dumps(config)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for task in TASKS]
        outcomes = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
    assert all(code == 0 for code, _ in outcomes), [err[-1500:] for _, err in outcomes]
    written = Lake(root).read("synthetic_examples").to_pandas()
    assert sorted(written["task"].unique()) == TASKS
    entries = loopback.read_request_log(log)
    assert not [e for e in entries if e["fault"] == "rate limit"]  # the limit never crossed
    sent = [entry["t"] for entry in entries if entry["fault"] is None]
    assert len(sent) >= 4 * 60
    # One client's pace: its bucket lets a second's worth go at once, then RATE a second.
    assert busiest_second(sent) <= 2 * RATE + 1
    # And on average no faster than one client either (each pause lets a bucket refill, so
    # not exactly its pace): four unshared clients would take a quarter of it.
    assert max(sent) - min(sent) >= len(sent) / (2 * RATE), (len(sent), max(sent) - min(sent))
