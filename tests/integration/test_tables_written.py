"""A pipeline run writes every table in its declared schema."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import all_assets
from quality.checks import all_checks
from synthlake import tables
from synthlake.lake import SQL_DIR, Lake, query_file, split_sql
from synthlake.llm.embedded import free_port
from synthlake.vocabulary import PROMPTED, Method
from tests.support import loopback


@pytest.mark.slow
def test_every_table_a_pipeline_run_writes_matches_its_declaration(tmp_path, dagster_instance):
    """The whole graph for one task (the demo's path, on a loopback endpoint, logreg
    only): every table written is stored exactly as declared, empty ones included."""
    root = tmp_path / "lake"
    runnable = [a for a in all_assets if isinstance(a, dg.AssetsDefinition)]
    partitioned = [k for a in runnable if a.partitions_def for k in a.keys]
    unpartitioned = [k for a in runnable if not a.partitions_def for k in a.keys]
    config = {"ops": {**{f"generate_{m}": {"config": {"n_per_label": 4}} for m in PROMPTED},
                      "generate_error_driven": {"config": {"generation": {"n_per_label": 4}, "rounds": 1,
                                                           "max_test": 300}},
                      "embeddings": {"config": {"max_real_per_split": 300}},
                      "classifier_runs": {"config": {"classifiers": ["logreg"], "seeds": [0],
                                                     "max_train_real": 300, "max_test": 300}}}}
    with loopback.running(free_port()) as url:
        resources = {"lake": LakeResource(root=str(root)), "llm": LLMResource(base_url=url, model="dev")}
        for selection, partition in ((partitioned, "sms_spam"), (unpartitioned, None)):
            result = dg.materialize([*all_assets, *all_checks], partition_key=partition,
                                    selection=dg.AssetSelection.assets(*selection),
                                    instance=dagster_instance, resources=resources,
                                    run_config=config if partition else {})
            assert result.success
    lake = Lake(root)
    # `human_judgments` is written by people, through `synthlake judge`, not by a run.
    assert set(lake.tables()) == set(tables.TABLES) - {"human_judgments"}
    assert lake.schema_mismatches() == {}
    # Every shipped SQL file runs on a lake the whole graph wrote (`query_file` would
    # read a missing table as "no rows"; here any error fails).
    for path in sorted(SQL_DIR.glob("*.sql")):
        con = lake.connect()
        for statement in split_sql(path.read_text()):
            con.execute(statement)
    equal = query_file(lake, "diversity_vs_gap.sql")
    generated = equal[equal["source"].isin(list(Method))]
    assert generated["rc_low"].notna().all() and (generated["rc_low"] <= generated["remote_clique"]).all()
    assert generated["n"].nunique() == 1  # one n for every source: the equal budget
