"""Every environment variable synthlake reads, declared once: name, default, meaning.

This module alone reads them (a test checks that no other module names a `SYNTHLAKE_*`
variable in an `os.environ` call). The variable table of synthlake/README.md is generated from
`VARIABLES` (`python -m synthlake.settings`), and a test keeps the two equal.

Precedence everywhere: a value given explicitly (CLI flag, Launchpad config, resource
field) wins over the variable, which wins over the default here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    description: str


VARIABLES: dict[str, Variable] = {v.name: v for v in [
    Variable("SYNTHLAKE_LAKE", "lake", "the Delta lake: a folder, or an s3://, gs://, az://, "
             "abfss:// or file:// URI (one table under it per name)"),
    Variable("SYNTHLAKE_STATE_DIR", ".synthlake",
             "local folder for the journal, reports, models and run pins of a lake on "
             "object storage (a local lake keeps them inside itself)"),
    Variable("SYNTHLAKE_DATA_DIR", "data", "folder of the real datasets, one sub-folder per task"),
    Variable("SYNTHLAKE_TASKS_DIR", None,
             "folder of extra task YAML files (a task here overrides a shipped one)"),
    Variable("SYNTHLAKE_CACHE", "~/.cache/synthlake",
             "cache of the converted embedded model and of sentence vectors"),
    Variable("OPENAI_BASE_URL", None,
             "OpenAI-compatible endpoint; unset: the embedded model is started"),
    Variable("SYNTHLAKE_MODEL", None, "model name sent to the endpoint (or OPENAI_MODEL)"),
    Variable("OPENAI_MODEL", None, "model name, when SYNTHLAKE_MODEL is unset"),
    Variable("OPENAI_API_KEY", None,
             "API key (the `llm` resource's `api_key_env` names another variable)"),
    Variable("SYNTHLAKE_CONCURRENCY", "8", "parallel requests to the endpoint"),
    Variable("SYNTHLAKE_TIMEOUT_S", "120", "seconds allowed per request"),
    Variable("SYNTHLAKE_LOCAL_RUNTIME", "auto",
             "what serves the embedded model: llama_server (llama.cpp's own server, built "
             "by make), llama_cpp (llama-cpp-python's server), transformers (`transformers "
             "serve`), or auto: the first of these that is installed"),
    Variable("SYNTHLAKE_LOCAL_THREADS", None,
             "CPU threads of the embedded model's server (default: every core, at most 8); "
             "where other work shares the cores, fewer: llama.cpp's threads wait on each "
             "other, and two threads on one free core ran 25x slower (bench/README.md)"),
    Variable("SYNTHLAKE_LOCAL_KV_FRACTION", "0.1",
             "share of memory `transformers serve` may give its KV cache"),
    Variable("SYNTHLAKE_EMBEDDER", "all-MiniLM-L6-v2",
             "sentence-transformers model (name or path) for embeddings"),
    Variable("SYNTHLAKE_JUDGMENTS", None,
             "file of human task-pair judgments (else an LLM judges)"),
    Variable("SYNTHLAKE_REGEN_CRON", "0 3 * * 1", "cron of the regeneration schedule (UTC)"),
    Variable("SYNTHLAKE_REGEN_TASKS", None,
             "comma list of tasks the schedule regenerates (default: all)"),
    Variable("SYNTHLAKE_DEMO_TASKS", "sms_spam,sarcasm_headlines,financial_phrasebank",
             "tasks `make demo` runs"),
    Variable("SYNTHLAKE_DEMO_N", "30", "texts per label `make demo` generates"),
    Variable("SYNTHLAKE_DEMO_METHODS", "zero_shot,few_shot",
             "generation methods `make demo` runs: the paper's two by default; add "
             "attributed, and error_driven (rounds on the first demo task)"),
]}


def get(name: str) -> str | None:
    """The variable's value, or its declared default; an empty value counts as unset."""
    return os.environ.get(name) or VARIABLES[name].default


def value(name: str) -> str:
    """The value of a variable that has a default (or is set): never None."""
    found = get(name)
    if found is None:
        raise KeyError(f"{name} is not set and has no default")
    return found


def path(name: str) -> Path:
    return Path(value(name)).expanduser().resolve()


def integer(name: str) -> int:
    return int(value(name))


def number(name: str) -> float:
    return float(value(name))


def default(name: str) -> str | None:
    """The declared default, not the environment: an engine config's own default."""
    return VARIABLES[name].default


def declared_default(name: str) -> str:
    """The declared default of a variable that has one."""
    found = default(name)
    if found is None:
        raise KeyError(f"{name} has no default")
    return found


def names(name: str) -> list[str]:
    """A comma list, blanks dropped."""
    return [part.strip() for part in (get(name) or "").split(",") if part.strip()]


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for v in VARIABLES.values():
        default = f"`{v.default}`" if v.default else ""
        rows.append(f"| `{v.name}` | {default} | {v.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
