"""Each lake table declared once (synthlake/tables.py): what is written, shown and documented."""

from __future__ import annotations

import ast
import re

import dagster as dg

from orchestration.definitions import defs
from synthlake import layout, tables, vocabulary
from synthlake.lake import Lake
from synthlake.vocabulary import TrainSource
from tests.support.data import REPO


def test_the_engine_page_table_of_tables_is_generated_from_the_declarations():
    assert tables.markdown_table() in (REPO / layout.ENGINE_PAGE).read_text()


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
        specs = asset.specs_by_key.items() if isinstance(asset, dg.AssetsDefinition) \
            else [(asset.key, asset)]  # an asset written outside Dagster
        for key, spec in specs:
            if key.path[0] in tables.TABLES:
                schema = spec.metadata["dagster/column_schema"]
                shown[key.path[0]] = [(c.name, c.type) for c in schema.columns]
    # Side tables (the checks' log, the label filter's calibration) are not assets.
    assert set(shown) == set(tables.ASSET_TABLES)
    for name, columns in shown.items():
        assert columns == [(f.name, str(f.type)) for f in tables.TABLES[name].schema], name


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
