"""Imports point one way: orchestration wires, assets define, the engine computes.

Read from the source (AST), so an import inside a function counts too."""

from __future__ import annotations

import ast
import graphlib

import pytest

from synthlake.layout import STAGE_IMPORTS, STAGES
from tests.support.data import REPO


def imports_of(package: str, root=REPO) -> dict[str, set[str]]:
    """file -> the modules it imports, and `module.name` for each name it takes from one."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        found[str(path.relative_to(root))] = names
    return found


def offending(package: str, forbidden: tuple[str, ...], root=REPO) -> list[str]:
    return sorted(f"{path}: {name}" for path, names in imports_of(package, root).items()
                  for name in names if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize(("package", "forbidden"), [
    ("synthlake", ("dagster", "dagster_webserver", "assets", "orchestration", "quality")),
    ("assets", ("orchestration",)),
    ("quality", ("orchestration",)),
])
def test_layers_import_only_downward(package, forbidden):
    assert offending(package, forbidden) == []


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "synthlake" and len(parts) > 1 and parts[1] in STAGES else None


def stage_violations(root=REPO) -> list[str]:
    """Imports across stages that `layout.STAGE_IMPORTS` does not allow, and imports of a
    stage by the core (the command, cli.py, excepted)."""
    found = []
    for path, names in imports_of("synthlake", root).items():
        parts = path.split("/")
        mine = parts[1] if len(parts) > 2 and parts[1] in STAGES else None
        if path == "synthlake/cli.py":
            continue
        allowed = STAGE_IMPORTS[mine] | {mine} if mine else set()
        found += [f"{path}: {name}" for name in sorted(names)
                  if stage_of(name) and stage_of(name) not in allowed]
    return found


def test_stages_import_the_core_and_only_the_stages_they_declare():
    assert stage_violations() == []


def test_the_declared_stage_imports_have_no_cycle():
    order = list(graphlib.TopologicalSorter(STAGE_IMPORTS).static_order())  # CycleError if one
    assert set(order) == set(STAGES)


def test_the_stage_check_can_see_a_violation(tmp_path):
    for folder in ("synthlake/evaluation", "synthlake/llm"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "synthlake/evaluation/m.py").write_text("from synthlake.analysis import report\n")
    (tmp_path / "synthlake/llm/c.py").write_text("def f():\n    from synthlake.generation import x\n")
    assert stage_violations(tmp_path) == [
        "synthlake/evaluation/m.py: synthlake.analysis",
        "synthlake/evaluation/m.py: synthlake.analysis.report",
        "synthlake/llm/c.py: synthlake.generation", "synthlake/llm/c.py: synthlake.generation.x"]


def test_the_cli_is_imported_by_nothing():
    users = [f"{path}" for package in ("synthlake", "assets", "quality", "orchestration", "bench")
             for path, names in imports_of(package).items()
             if path != "synthlake/cli.py" and {"synthlake.cli", "synthlake.cli.main"} & names]
    assert users == []


def test_the_check_can_see_a_violation(tmp_path):
    """The walker finds an import buried in a function (guards the tests above)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    from orchestration.demo import x\n")
    assert offending("pkg", ("orchestration",), tmp_path) == [
        "pkg/m.py: orchestration.demo", "pkg/m.py: orchestration.demo.x"]


def test_the_unit_tier_uses_nothing_outside_the_repository():
    """No unit test reaches the shared datasets, the HTTP test server or the embedded
    model (they belong to tests/integration); the LLM is the in-process wire."""
    outside = ("tests.support.data.SHARED_DATA", "tests.support.loopback",
               "synthlake.llm.embedded", "synthlake.llm.embedded.start_server")
    assert offending("tests/unit", outside) == []
