"""The integration tier: the shared real datasets (`../shared/datasets`, or
`SYNTHLAKE_DATA_DIR`), real servers and the Dagster webserver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.data import REPO, SHARED_DATA
from tests.support.ui import graphql


@pytest.fixture(scope="package", autouse=True)
def _data_dir():
    """The shared datasets for the whole tier, module-scoped fixtures included, whatever
    the unit tier set on this worker before."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNTHLAKE_DATA_DIR", str(SHARED_DATA))
        yield


@pytest.fixture
def dagster_dev(tmp_path):
    """`dagster dev -w workspace.yaml` on loopback with a fresh instance; yields the port
    once the UI answers with the asset graph."""
    from synthlake.llm.embedded import free_port

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(tmp_path / "lake"),
           "SYNTHLAKE_DATA_DIR": str(SHARED_DATA)}
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
        try:  # it waits for runs it launched; a test's run is not worth waiting 30 s for
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
