"""The fast tier: every shipped task's data is a tiny generated stand-in, so nothing
outside the repository is read (`SYNTHLAKE_DATA_DIR` points at it for every test)."""

from __future__ import annotations

import pytest

from synthlake.catalog import load_catalog
from tests.support.data import write_tiny_dataset


@pytest.fixture(scope="package", autouse=True)
def tiny_data_dir(tmp_path_factory):
    """Set for the whole tier, so module-scoped fixtures see it too, and undone when a
    worker moves on to an integration test (a session fixture would follow it there);
    a test may still point the variable elsewhere with monkeypatch."""
    root = tmp_path_factory.mktemp("tiny_data")
    for spec in load_catalog().values():
        if spec.data.local:
            write_tiny_dataset(root, spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNTHLAKE_DATA_DIR", str(root))
        yield root
