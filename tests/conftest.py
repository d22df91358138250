"""Fixtures of both tiers: a fresh lake, a user-defined task, a throwaway Dagster instance.

`tests/unit/` runs in seconds on tiny generated data and an in-process LLM wire; it reads
nothing outside the repository. `tests/integration/` uses the shared datasets, the
loopback HTTP server, the embedded model, Dagster runs and the browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthlake.lake import Lake
from tests.support.data import write_user_task

TESTS = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # Parallel workers share the cores: one thread each for torch and the embedded model's
    # server, whose llama.cpp threads otherwise wait on each other (two threads on one
    # free core ran 25x slower, bench/README.md).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("SYNTHLAKE_LOCAL_THREADS", "1")


def pytest_collection_modifyitems(items):
    """Each test carries its tier's marker (`-m unit`, `-m integration`): the folder it
    lives in. (A hook in a folder's conftest would see every test of the session.) The
    slow ones go first, so parallel workers (`make test`) do not end on one of them."""
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        if tier in ("unit", "integration"):
            item.add_marker(tier)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def user_task(tmp_path, monkeypatch):
    """A user task in SYNTHLAKE_TASKS_DIR with its CSV data in SYNTHLAKE_DATA_DIR."""
    tasks_dir, data_dir = tmp_path / "tasks", tmp_path / "data"
    folder = write_user_task(tasks_dir, data_dir)
    monkeypatch.setenv("SYNTHLAKE_TASKS_DIR", str(tasks_dir))
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(data_dir))
    return {"name": "support_tickets", "tasks_dir": tasks_dir, "data_dir": data_dir, "folder": folder}


@pytest.fixture
def dagster_instance(tmp_path):
    """A throwaway Dagster instance."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance
