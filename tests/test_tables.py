"""Each lake table declared once (synthlake/tables.py): what is written, shown and documented."""

from __future__ import annotations

import ast
import re

import dagster as dg
import pytest

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import all_assets, defs
from quality.checks import all_checks
from synthlake import tables, vocabulary
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from synthlake.vocabulary import TrainSource
from tests.conftest import REPO
from tests.support import loopback


def test_the_readme_table_of_tables_is_generated_from_the_declarations():
    assert tables.markdown_table() in (REPO / "README.md").read_text()


def _written_table_names() -> set[str]:
    names = set()
    for path in [*REPO.glob("synthlake/**/*.py"), *REPO.glob("assets/*.py"), *REPO.glob("quality/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("write_partition", "append") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def test_every_table_the_code_writes_is_declared_and_every_declared_one_is_written():
    assert _written_table_names() == set(tables.TABLES)


def test_every_table_asset_carries_its_declared_column_schema():
    shown = {}
    for asset in defs.assets:
        for key, spec in asset.specs_by_key.items():
            if key.path[0] in tables.TABLES:
                schema = spec.metadata["dagster/column_schema"]
                shown[key.path[0]] = [(c.name, c.type) for c in schema.columns]
    assert set(shown) == set(tables.TABLES) - {"quality_results"}  # a log, not an asset
    for name, columns in shown.items():
        assert columns == [(f.name, str(f.type)) for f in tables.TABLES[name].schema], name


@pytest.mark.slow
def test_every_table_a_pipeline_run_writes_matches_its_declaration(tmp_path, dagster_instance):
    """The whole graph for one task (the demo's path, on a loopback endpoint, logreg
    only): every table written is stored exactly as declared, empty ones included."""
    root = tmp_path / "lake"
    partitioned = [k for a in all_assets if a.partitions_def for k in a.keys]
    unpartitioned = [k for a in all_assets if not a.partitions_def for k in a.keys]
    config = {"ops": {"generate_few_shot": {"config": {"n_per_label": 4}},
                      "generate_zero_shot": {"config": {"n_per_label": 4}},
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
    assert set(lake.tables()) == set(tables.TABLES)
    assert lake.schema_mismatches() == {}


WORD_COMPARISON = re.compile(r"\b(method|source|train_source|status|reason|classifier)\s*"
                             r"(?:=|!=|<>)\s*'([^']*)'", re.IGNORECASE)


def test_the_sql_files_compare_stored_words_only_with_declared_ones():
    words = {str(v) for enum in vocabulary.ALL.values() for v in enum}
    compared = [(path.name, word) for path in sorted((REPO / "synthlake" / "sql").glob("*.sql"))
                for _, word in WORD_COMPARISON.findall(path.read_text())]
    assert compared, "the SQL files compare columns with words"
    assert [c for c in compared if c[1] not in words] == []
    assert WORD_COMPARISON.findall("where train_source = 'real_ful'") == [("train_source", "real_ful")]


def test_the_vocabulary_is_a_table_of_every_connection(tmp_path):
    con = Lake(tmp_path / "lake").connect()
    order = con.sql("select value from vocabulary where kind = 'train_source' order by position")
    assert [v for (v,) in order.fetchall()] == [str(s) for s in TrainSource]
