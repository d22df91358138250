
import os
import subprocess
import sys

import dagster as dg

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import defs
from synthlake.lake import Lake
from tests.support.data import REPO
from tests.support.ui import graphql


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


def test_a_yaml_only_task_is_a_partition_of_the_plain_dagster_cli(user_task, tmp_path):
    """No code change and nothing to register: a fresh DAGSTER_HOME, a task YAML and its
    data, and the standard `dagster asset materialize` command."""
    home = tmp_path / "fresh_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(tmp_path / "lake")}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "orchestration.definitions",
         "--select", "real_examples", "--partition", "support_tickets"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    table = Lake(tmp_path / "lake").read("real_examples", where={"task": "support_tickets"})
    assert table.num_rows == 8
    job = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "orchestration.definitions",
         "-j", "task_pipeline", "--tags", '{"dagster/partition": "support_tickets"}',
         "--op-selection", "real_examples"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert job.returncode == 0, job.stderr[-2000:]


def test_dagster_dev_serves_the_ui_with_the_assets(dagster_dev):
    data = graphql(dagster_dev, "{ assetNodes { assetKey { path } } }")
    keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {"real_examples", "real_annotations", "task_catalog", "synthetic_examples/few_shot",
            "embeddings", "evaluations", "report_page"} <= keys


def test_a_malformed_task_file_stops_the_code_location_naming_it(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: broken\ndescription: x\nlabelz: []\n")
    env = {**os.environ, "SYNTHLAKE_TASKS_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "import orchestration.definitions"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"{tmp_path / 'broken.yaml'}: field `labels`: Field required" in result.stderr
    assert "field `labelz`: Extra inputs are not permitted" in result.stderr


def test_the_definitions_serialize_as_a_code_server_sends_them():
    """`dagster dev` ships the repository to the UI as a serialized snapshot; an enum
    member in an asset key loads and validates but fails there (the graph stays empty).
    `dagster definitions validate` does not catch it, so this test does."""
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster_shared.serdes import serialize_value

    from orchestration.definitions import defs

    assert serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
