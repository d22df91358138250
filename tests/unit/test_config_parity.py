"""Every knob declared once: engine fields reach the Launchpad, variables reach a run."""

from __future__ import annotations

import ast

import dagster as dg
import pytest
from pydantic import BaseModel

from orchestration.definitions import defs
from synthlake import layout, settings
from synthlake.embed import EmbeddingConfig
from synthlake.evaluation.train import TrainConfig
from synthlake.generation.attributes import AttributeConfig
from synthlake.generation.fidelity import FidelityConfig
from synthlake.generation.generate import GenerationConfig
from synthlake.generation.plan import PlanConfig
from synthlake.generation.rounds import RoundsConfig
from synthlake.llm import EndpointConfig
from synthlake.subjectivity.proxies import ProxyConfig
from synthlake.subjectivity.ranking import JudgeConfig
from tests.support.data import REPO

# engine config -> the op whose Launchpad config must offer all of it
LAUNCHPAD = {GenerationConfig: "generate_few_shot", TrainConfig: "classifier_runs",
             EmbeddingConfig: "embeddings", ProxyConfig: "objectivity_proxies",
             AttributeConfig: "attributes", RoundsConfig: "generate_error_driven",
             PlanConfig: "generation_plan", FidelityConfig: "label_fidelity",
             JudgeConfig: "pairwise_judgments"}


def _op_fields(op_name: str) -> dict:
    node = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.op.name == op_name)
    return node.op.config_schema.config_type.fields


@pytest.mark.parametrize("engine", list(LAUNCHPAD), ids=lambda e: e.__name__)
def test_every_engine_field_is_in_the_launchpad_with_its_description(engine):
    _same_fields(engine, _op_fields(LAUNCHPAD[engine]))


def _same_fields(engine, fields, defaults: BaseModel | None = None) -> None:
    """The Launchpad's fields are the engine config's, a nested config's included (with
    the defaults its parent gives it)."""
    assert set(fields) == set(engine.model_fields)
    for name, field in engine.model_fields.items():
        assert field.description and fields[name].description == field.description, name
        default = getattr(defaults, name) if defaults is not None \
            else field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):  # a nested config: its fields and its defaults
            _same_fields(type(default), fields[name].config_type.fields, default)
            assert fields[name].default_value == default.model_dump(), name
        elif default is not None:
            assert fields[name].default_value == default, name


def test_nested_generation_settings_are_generations_own():
    """Error-driven rounds and the plan nest GenerationConfig rather than re-declaring it."""
    for engine in (RoundsConfig, PlanConfig):
        assert engine.model_fields["generation"].annotation is GenerationConfig
        assert not set(engine.model_fields) - {"generation"} & set(GenerationConfig.model_fields)


def test_every_endpoint_field_is_a_resource_field_left_to_the_environment():
    resource = defs.resources["llm"]
    fields = type(resource).to_config_schema().as_field().config_type.fields
    assert set(fields) == set(EndpointConfig.model_fields)
    for name, field in EndpointConfig.model_fields.items():
        assert field.description in fields[name].description, name
        assert getattr(resource, name) is None, f"{name}: a resource default would hide the variable"


def _environment_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, variable) of `X.get("V")`, `X.getenv("V")`, `X.setdefault("V", ...)`,
    `X["V"]` for a declared V, where X is not the settings module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "getenv", "setdefault", "pop") and node.args:
            owner, key = node.func.value, node.args[0]
        elif isinstance(node, ast.Subscript):
            owner, key = node.value, node.slice
        else:
            continue
        if isinstance(key, ast.Constant) and key.value in settings.VARIABLES \
                and not (isinstance(owner, ast.Name) and owner.id == "settings"):
            found.append((node.lineno, key.value))
    return found


def test_only_the_settings_module_reads_synthlake_variables():
    readers = []
    for path in [*REPO.glob("synthlake/**/*.py"), *REPO.glob("assets/*.py"),
                 *REPO.glob("orchestration/*.py"), *REPO.glob("quality/*.py")]:
        if path.name != "settings.py":
            readers += [f"{path.relative_to(REPO)}:{line} {name}"
                        for line, name in _environment_reads(ast.parse(path.read_text()))]
    assert readers == []
    # the check sees a direct read
    assert _environment_reads(ast.parse('os.environ.get("SYNTHLAKE_LAKE")')) == [(1, "SYNTHLAKE_LAKE")]


def test_the_engine_page_lists_exactly_the_declared_variables():
    assert settings.markdown_table() in (REPO / layout.ENGINE_PAGE).read_text()


# Variables a pipeline run reads, each checked below through the Dagster CLI; the others
# are checked where they act.
