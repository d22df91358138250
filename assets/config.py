"""Launchpad config (and resource fields) derived from the engine's pydantic configs.

Each engine config (`GenerationConfig`, `AttributeConfig`, `RoundsConfig`, `PlanConfig`,
`TrainConfig`,
`EmbeddingConfig`, `FidelityConfig`,
`ProxyConfig`, `JudgeConfig`, `EndpointConfig`)
declares its fields once, with defaults, bounds and descriptions; the Dagster classes here
are built from them, so every engine field shows in the Launchpad with its description
and nothing is declared twice (tests/unit/test_config_parity.py checks it).
"""

from __future__ import annotations

import copy
import enum
import functools
import typing

import dagster as dg
from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from synthlake.embed import EmbeddingConfig
from synthlake.evaluation.train import TrainConfig
from synthlake.generation.attributes import AttributeConfig
from synthlake.generation.fidelity import FidelityConfig
from synthlake.generation.generate import GenerationConfig
from synthlake.generation.plan import PlanConfig
from synthlake.generation.rounds import RoundsConfig
from synthlake.subjectivity.proxies import ProxyConfig
from synthlake.subjectivity.ranking import JudgeConfig


def _launchpad_field(field: FieldInfo) -> tuple[type, FieldInfo]:
    derived = copy.copy(field)
    if field.default_factory is not None:  # Dagster shows plain defaults
        derived.default, derived.default_factory = field.default_factory(), None
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a nested config
        nested = launchpad_config(annotation, annotation.__name__.removesuffix("Config") + "Params")
        return nested, _nested_default(derived, nested)
    # Words (StrEnums) are plain strings in the Launchpad (Dagster's enums would ask for
    # member names); the engine config checks them when the run builds it.
    if typing.get_origin(annotation) is list and _is_word(typing.get_args(annotation)[0]):
        annotation, derived.default = list[str], [str(v) for v in derived.default]
    elif _is_word(annotation):
        annotation, derived.default = str, str(derived.default)
    return annotation, derived


def _nested_default(derived: FieldInfo, nested: type[dg.Config]) -> FieldInfo:
    """The engine's default of a nested config, as the Launchpad class's instance."""
    derived.default = nested(**derived.default.model_dump())
    return derived


def _is_word(kind) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.StrEnum)


@functools.cache  # one Dagster class per engine config, top-level or nested
def launchpad_config(engine: type[BaseModel], name: str) -> type[dg.Config]:
    """A Dagster `Config` with exactly the engine config's fields (a nested engine config
    is a nested Launchpad config)."""
    fields = {key: _launchpad_field(f) for key, f in engine.model_fields.items()}
    return create_model(name, __base__=dg.Config, __doc__=engine.__doc__, **fields)


GenerationParams = launchpad_config(GenerationConfig, "GenerationParams")
AttributeParams = launchpad_config(AttributeConfig, "AttributeParams")
RoundsParams = launchpad_config(RoundsConfig, "RoundsParams")
PlanParams = launchpad_config(PlanConfig, "PlanParams")
TrainingParams = launchpad_config(TrainConfig, "TrainingParams")
EmbeddingParams = launchpad_config(EmbeddingConfig, "EmbeddingParams")
ProxyParams = launchpad_config(ProxyConfig, "ProxyParams")
FidelityParams = launchpad_config(FidelityConfig, "FidelityParams")
JudgeParams = launchpad_config(JudgeConfig, "JudgeParams")


def unset_by_default(field: FieldInfo) -> tuple[type, FieldInfo]:
    """The field, empty by default: for a resource whose empty fields the environment
    fills."""
    derived = copy.copy(field)
    derived.default, derived.default_factory = None, None
    derived.description = f"{field.description} (empty: the environment, then the default)"
    derived.metadata = []  # bounds are the engine's to check, once the value is resolved
    return field.annotation | None, derived
