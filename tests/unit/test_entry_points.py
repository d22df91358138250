"""Every engine function an asset calls to write a run takes one signature:
`(lake: Lake, spec: TaskSpec, run_id: str, config: XConfig | None = None, *, ...)`.

A cross-task writer takes the catalogue (`specs: dict[str, TaskSpec]`) or, where it uses
nothing but their names, `tasks: Sequence[str]` in place of `spec`; one that derives from
the whole lake (gap correlations) takes none. Everything after `config` is keyword-only,
so a call reads the same wherever it is made. The entry points are found in the assets'
source (AST): a call that passes the Dagster run's id, so a new one cannot be missed.
"""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from synthlake.catalog import TaskSpec
from tests.support.data import REPO

COVERS = {"spec": "TaskSpec", "specs": "dict[str, TaskSpec]", "tasks": "Sequence[str]"}
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def passes_run_id(call: ast.Call) -> bool:
    return any(ast.unparse(arg) in ("context.run_id", "context.run.run_id")
               for arg in [*call.args, *(k.value for k in call.keywords)])


def entry_points() -> dict[str, object]:
    """`module.function` -> the engine function, for each engine call an asset makes with
    the run's id (Lake's own methods, such as `write_partition`, excluded)."""
    found = {}
    for path in sorted((REPO / "assets").glob("*.py")):
        module = importlib.import_module(f"assets.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and passes_run_id(node)):
                continue
            try:
                function = eval(ast.unparse(node.func), vars(module))  # noqa: S307 (our source)
            except (NameError, AttributeError):
                continue  # a method of a local object (`lake.lake().write_partition`)
            if inspect.isfunction(function) and function.__module__.startswith("synthlake.") \
                    and function.__module__ != "synthlake.lake":
                found[f"{function.__module__}.{function.__qualname__}"] = function
    return found


def signature_problems(function) -> list[str]:
    parameters = list(inspect.signature(function).parameters.values())
    positional = [p for p in parameters if p.kind in POSITIONAL]
    names = [p.name for p in positional]
    problems = []
    if names[:1] != ["lake"] or "run_id" not in names:
        return [f"positional parameters {names}: (lake, spec, run_id, config) expected"]
    covers = names[1:names.index("run_id")]
    if len(covers) > 1 or (covers and covers[0] not in COVERS):
        problems.append(f"{covers} before run_id: one of {sorted(COVERS)} expected")
    rest = names[names.index("run_id") + 1:]
    if rest not in ([], ["config"]):
        problems.append(f"{rest} after run_id: only `config`, the rest keyword-only")
    wanted = {"lake": "Lake", "run_id": "str", **{c: COVERS[c] for c in covers if c in COVERS}}
    for p in positional:
        annotation = str(p.annotation)
        if p.name in wanted and annotation != wanted[p.name]:
            problems.append(f"{p.name}: {annotation!r}, {wanted[p.name]!r} expected")
        if p.name == "config" and not (annotation.endswith("Config | None") and p.default is None):
            problems.append(f"config: {annotation!r} = {p.default!r}, `XConfig | None = None` "
                            "expected")
    return problems


ENTRY_POINTS = entry_points()


def test_the_assets_entry_points_are_found():
    """The search finds the writers of every stage (a broken search would pass the rest)."""
    stages = {name.split(".")[1] for name in ENTRY_POINTS}
    assert len(ENTRY_POINTS) >= 14, sorted(ENTRY_POINTS)
    assert {"generation", "measures", "evaluation", "subjectivity"} <= stages, stages


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_an_entry_point_takes_lake_spec_run_id_config(name):
    assert signature_problems(ENTRY_POINTS[name]) == []


def test_the_rule_refuses_a_stray_order():
    """The shape `generate` had: the method before the run's id, the endpoint positional,
    an untyped lake and config."""
    def old_generate(lake, spec: TaskSpec, method: str, run_id: str, config=None, endpoint=None):
        return lake, spec, method, run_id, config, endpoint

    problems = signature_problems(old_generate)
    assert [p.split(":")[0] for p in problems] == [
        "['spec', 'method'] before run_id", "['config', 'endpoint'] after run_id", "lake",
        "config"], problems
