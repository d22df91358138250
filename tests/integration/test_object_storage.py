"""The lake on object storage: `SYNTHLAKE_LAKE=s3://...` against a real S3-protocol
server on loopback (moto). The sms_spam task pipeline runs through Dagster; `synthlake
sql`, `history`, time travel and `export` read it; every README command runs on it; two
writers appending to one table at once lose no row; nothing but tables goes to the
bucket (the journal, run pins and reports are local)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import all_assets
from orchestration.demo import MEASURES, generation_assets
from quality.checks import all_checks
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from synthlake.vocabulary import PROMPTED
from tests.integration.test_readme import readme_commands
from tests.support import loopback, s3

URI = "s3://lake-bucket/lake"


@pytest.fixture
def bucket(monkeypatch, tmp_path):
    with s3.running() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SYNTHLAKE_STATE_DIR", str(tmp_path / "state"))
        yield env


def cli(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthlake.cli", "--lake", URI, *args],
                          cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=300)


def test_the_task_pipeline_and_the_cli_on_s3(bucket, tmp_path, dagster_instance):
    selection = ["real_examples", "real_annotations", "attributes",
                 *[a for m in PROMPTED for a in generation_assets(m)], *MEASURES,
                 "attribute_coverage"]
    config = {"ops": {**{f"generate_{m}": {"config": {"n_per_label": 4}} for m in PROMPTED},
                      "embeddings": {"config": {"max_real_per_split": 200}},
                      "classifier_runs": {"config": {"classifiers": ["logreg"], "seeds": [0],
                                                     "max_train_real": 200, "max_test": 200,
                                                     "curve_max_per_label": 8}}}}
    with loopback.running(free_port()) as url:
        resources = {"lake": LakeResource(root=URI), "llm": LLMResource(base_url=url, model="dev")}
        result = dg.materialize([*all_assets, *all_checks], partition_key="sms_spam",
                                selection=selection, instance=dagster_instance,
                                resources=resources, run_config=config)
    assert result.success
    lake = Lake(URI)
    assert lake.remote and {"real_examples", "synthetic_examples", "evaluations",
                            "attribute_coverage"} <= set(lake.tables())
    assert lake.schema_mismatches() == {}
    # Only tables in the bucket; the journal and the run pins are local.
    assert (tmp_path / "state").is_dir() and any((tmp_path / "state").rglob("llm.sqlite"))
    assert not (tmp_path / "s3:").exists()

    count = cli("sql", "select count(*) AS n from synthetic_examples", "--format", "csv",
                cwd=tmp_path)
    assert count.returncode == 0 and int(count.stdout.split()[-1]) > 0, count.stderr
    history = cli("history", "--table", "synthetic_examples", cwd=tmp_path)
    assert history.returncode == 0 and "few_shot" in history.stdout, history.stderr
    first = cli("sql", "select count(DISTINCT method) AS n from synthetic_examples",
                "--at", "synthetic_examples=0", "--format", "csv", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.split()[-1] == "1", first.stderr
    out = tmp_path / "export"
    exported = cli("export", "--task", "sms_spam", "--method", "few_shot", "--format", "parquet",
                   "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert pq.read_table(next(out.rglob("*.parquet"))).num_rows == 8


def test_every_readme_command_runs_on_s3(bucket, tmp_path):
    from synthlake.catalog import get_task
    from synthlake.generation.generate import GenerationConfig, generate
    from synthlake.llm import EndpointConfig
    from synthlake.realdata import write_real_examples

    lake = Lake(URI)
    write_real_examples(lake, get_task("sms_spam"), "setup")
    with loopback.running(free_port()) as url:
        for method in ("zero_shot", "few_shot"):
            generate(lake, get_task("sms_spam"), "setup", GenerationConfig(n_per_label=4),
                     method=method, endpoint=EndpointConfig(base_url=url, model="dev"))
        env = {"SYNTHLAKE_LAKE": URI, "OPENAI_BASE_URL": url, "SYNTHLAKE_MODEL": "dev"}
        for command in readme_commands():
            argv = [sys.executable, "-m", "synthlake.cli", *shlex.split(command)[1:]]
            done = subprocess.run(argv, cwd=tmp_path, env={**os.environ, **env},
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (command, done.stderr[-1500:])


def test_two_writers_appending_at_once_lose_no_row(bucket):
    lake = Lake(URI)
    errors: list[Exception] = []

    def writer(judge: str) -> None:
        try:
            for i in range(8):
                lake.append("human_judgments", pa.Table.from_pylist([{
                    "task_a": "sms_spam", "task_b": "imdb", "winner": "task_a",
                    "judge_id": f"{judge}-{i}", "judge_kind": "human",
                    "judged_at": None}]), run_id=judge)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    rows = lake.read("human_judgments").to_pandas()
    assert len(rows) == 16 and rows["judge_id"].is_unique
    assert lake.version("human_judgments") == 15
