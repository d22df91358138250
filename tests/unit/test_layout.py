"""The engine's map is generated from its modules and current in both places it is shown;
the stage folders are the Dagster asset groups."""

import dagster as dg

from orchestration.definitions import defs
from synthlake import layout
from tests.support.data import REPO


def test_the_package_map_is_current_in_the_package_and_the_readme():
    block = layout.package_map()
    init = (REPO / "synthlake/__init__.py").read_text()
    readme = (REPO / "README.md").read_text()
    assert layout.with_map(readme, f"```\n{block}\n```") == readme
    indented = "\n".join("    " + line if line else line for line in block.splitlines())
    assert layout.with_map(init, indented + "\n") == init


def test_every_engine_module_is_on_the_map():
    block = layout.package_map()
    for path in (REPO / "synthlake").rglob("*.py"):
        if path.name != "__init__.py":
            assert f"    {path.stem} " in block, path


def test_the_stage_folders_are_the_asset_groups_beside_the_core():
    groups = {spec.group_name for asset in defs.assets if isinstance(asset, dg.AssetsDefinition)
              for spec in asset.specs}
    assert set(layout.STAGES) == groups - {"real"}  # real data: the core's catalog and realdata
    folders = {p.name for p in (REPO / "synthlake").iterdir()
               if p.is_dir() and (p / "__init__.py").exists()} - {"llm"}
    assert folders == set(layout.STAGES)
