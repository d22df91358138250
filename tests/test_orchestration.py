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
from orchestration.resources import LakeResource

REPO = Path(__file__).resolve().parents[1]


def test_definitions_load_and_real_examples_materialize_in_process(lake):
    defs.resolve_all_job_defs()
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets, partition_key="tweet_irony", selection=["real_examples", "real_annotations"],
        resources={"lake": LakeResource(root=str(lake.root))},
    )
    assert result.success
    meta = result.asset_materializations_for_node("real_examples")[0].metadata
    assert meta["rows"].value == 4601
    count = lake.connect().sql("select count(*) from real_examples where task='tweet_irony'")
    assert count.fetchall()[0][0] == 4601


def test_a_yaml_only_task_becomes_a_partition(user_task, tmp_path):
    """A fresh code location (as on reload) sees the user's task and materializes it."""
    script = (
        "import dagster as dg\n"
        "from orchestration.definitions import defs\n"
        "from orchestration.resources import LakeResource\n"
        "from orchestration.partitions import task_partitions\n"
        "assert 'support_tickets' in task_partitions.get_partition_keys()\n"
        "assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]\n"
        f"r = dg.materialize(assets, partition_key='support_tickets', selection=['real_examples'],"
        f" resources={{'lake': LakeResource(root={str(tmp_path / 'lake')!r})}})\n"
        "assert r.success\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, env=os.environ.copy())
    from synthlake.lake import Lake

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
