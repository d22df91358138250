
import dagster as dg

from orchestration.definitions import defs
from orchestration.partitions import sync_task_partitions
from orchestration.resources import LakeResource, LLMResource
from synthlake.lake import Lake
from tests.conftest import graphql


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


def test_dagster_dev_serves_the_ui_with_the_assets(dagster_dev):
    data = graphql(dagster_dev, "{ assetNodes { assetKey { path } } }")
    keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {"real_examples", "real_annotations", "task_catalog", "synthetic_examples/few_shot",
            "embeddings", "evaluations", "report_page"} <= keys
