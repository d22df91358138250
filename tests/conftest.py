"""Shared fixtures: the shared real datasets, a fresh lake, a user-defined task."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from synthlake.lake import Lake

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SYNTHLAKE_DATA_DIR", REPO.parent / "shared" / "datasets"))

os.environ.setdefault("SYNTHLAKE_DATA_DIR", str(SHARED_DATA))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(SHARED_DATA))


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


USER_TASK_YAML = """\
name: {name}
description: Decide whether a support ticket is about billing or something else.
labels:
  - {{name: billing, description: The ticket is about invoices or payments.}}
  - {{name: other, description: Anything else.}}
context_prompt: You are a customer writing to a support desk.
generation_prompt: Write a support ticket about {{label_description}} in at most {{max_words}} words.
word_limits: {{min: 2, max: 30}}
data:
  local: {name}
"""

USER_ROWS = {
    "train": [("I was charged twice this month", "billing"), ("My invoice is wrong", "billing"),
              ("Refund my payment please", "billing"), ("The app crashes on start", "other"),
              ("How do I change my avatar", "other"), ("Login page is blank", "other")],
    "test": [("Why is my bill so high", "billing"), ("The button does nothing", "other")],
}


def write_user_task(tasks_dir: Path, data_dir: Path, name: str = "support_tickets",
                    rows: dict | None = None, yaml_text: str | None = None) -> Path:
    """A task that only exists as a YAML file and a folder of CSV files."""
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (tasks_dir / f"{name}.yaml").write_text(yaml_text or USER_TASK_YAML.format(name=name))
    folder = data_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, split_rows in (rows or USER_ROWS).items():
        lines = ["text,label"] + [f'"{t}",{lab}' for t, lab in split_rows]
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def user_task(tmp_path, monkeypatch):
    """A user task in SYNTHLAKE_TASKS_DIR with its CSV data in SYNTHLAKE_DATA_DIR."""
    tasks_dir, data_dir = tmp_path / "tasks", tmp_path / "data"
    folder = write_user_task(tasks_dir, data_dir)
    monkeypatch.setenv("SYNTHLAKE_TASKS_DIR", str(tasks_dir))
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(data_dir))
    return {"name": "support_tickets", "tasks_dir": tasks_dir, "data_dir": data_dir, "folder": folder}


def dedent(text: str) -> str:
    return textwrap.dedent(text)


@pytest.fixture
def dagster_instance(tmp_path):
    """A throwaway Dagster instance."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def graphql(port: int, query: str) -> dict:
    import json
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


@pytest.fixture
def dagster_dev(tmp_path):
    """`dagster dev -w workspace.yaml` on loopback with a fresh instance; yields the port
    once the UI answers with the asset graph."""
    import signal
    import subprocess
    import sys
    import time

    from synthlake.llm.embedded import free_port

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(tmp_path / "lake")}
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml",
                             "-h", "127.0.0.1", "-p", str(port)], cwd=REPO, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if graphql(port, "{ assetNodes { id } }")["assetNodes"]:
                    break
            except OSError:
                time.sleep(1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
