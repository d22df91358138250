"""The engine's map is generated from its modules and current in both places it is shown;
the stage folders are the Dagster asset groups, each with its page, and every link between
the pages resolves."""

import re

import dagster as dg

from orchestration.definitions import defs
from synthlake import layout
from tests.support.data import REPO


def test_the_package_map_is_current_in_the_package_and_the_engine_page():
    block = layout.package_map()
    init = (REPO / "synthlake/__init__.py").read_text()
    readme = (REPO / layout.ENGINE_PAGE).read_text()
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


def test_every_folder_page_exists_and_the_front_door_links_each():
    front = (REPO / layout.FRONT_PAGE).read_text()
    for page in layout.PAGES[1:]:
        assert (REPO / page).exists(), page
        assert f"]({page})" in front or f"]({page}#" in front, f"README.md does not link {page}"
    assert {f"synthlake/{s}/README.md" for s in layout.STAGES} <= set(layout.PAGES)


def test_every_relative_link_of_the_pages_resolves():
    broken = []
    for page in layout.PAGES:
        text = (REPO / page).read_text()
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" not in target and not ((REPO / page).parent / target).exists():
                broken.append(f"{page}: {target}")
    assert broken == []
    # the check sees a broken link
    assert re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", "[x](no/such.md#a)") == ["no/such.md"]


def test_the_front_page_stays_short():
    lines = (REPO / layout.FRONT_PAGE).read_text().count("\n")
    assert lines <= 200, f"README.md has {lines} lines: detail belongs on the folder pages"
