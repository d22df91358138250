import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs
from orchestration.partitions import sync_task_partitions
from orchestration.resources import LakeResource, LLMResource
from synthlake.lake import Lake

REPO = Path(__file__).resolve().parents[1]


def test_definitions_load_and_real_examples_materialize_in_process(lake, dagster_instance):
    defs.resolve_all_job_defs()
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets, partition_key="tweet_irony", selection=["real_examples", "real_annotations"],
        resources={"lake": LakeResource(root=str(lake.root)), "llm": LLMResource()},
        instance=dagster_instance,
    )
    assert result.success
    meta = result.asset_materializations_for_node("real_examples")[0].metadata
    assert meta["rows"].value == 4601
    count = lake.connect().sql("select count(*) from real_examples where task='tweet_irony'")
    assert count.fetchall()[0][0] == 4601


def test_a_yaml_only_task_becomes_a_partition(user_task, tmp_path):
    """No code change and no restart: syncing the catalogue adds the user's task."""
    with dg.instance_for_test() as instance:
        added = sync_task_partitions(instance)
        assert "support_tickets" in added and "ag_news" in added
        assert sync_task_partitions(instance) == [], "idempotent"
        assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
        result = dg.materialize(assets, partition_key="support_tickets", instance=instance,
                                selection=["real_examples"],
                                resources={"lake": LakeResource(root=str(tmp_path / "lake")),
                                           "llm": LLMResource()})
        assert result.success
    table = Lake(tmp_path / "lake").read("real_examples", where={"task": "support_tickets"})
    assert table.num_rows == 8


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_dagster_dev_serves_the_ui_with_the_assets(tmp_path):
    port = 3917
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "SYNTHLAKE_LAKE": str(tmp_path / "lake")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)],
        cwd=REPO, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline, keys = time.time() + 90, []
        while time.time() < deadline:
            try:
                data = _graphql(port, "{ assetNodes { assetKey { path } } }")
                keys = [node["assetKey"]["path"][-1] for node in data["data"]["assetNodes"]]
                if keys:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert {"real_examples", "real_annotations", "task_catalog"} <= set(keys)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
