"""Which runtime serves the embedded model: `SYNTHLAKE_LOCAL_RUNTIME`, and auto's order."""

from pathlib import Path

import pytest

from synthlake.llm import embedded


def test_auto_prefers_llama_server_where_built_and_falls_back_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_LOCAL_RUNTIME", "auto")
    monkeypatch.setattr(embedded, "binary_path", lambda name: tmp_path / name)
    assert embedded.runtime().name != "llama_server", "no binary: not chosen"
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    chosen = embedded.runtime()
    assert chosen.name == "llama_server" and chosen.fixed_temperature is None
    assert chosen.label.endswith("@llama-server-Q4_1-as-F32") and chosen.label != embedded.MODEL_LABEL


def test_an_unknown_or_missing_runtime_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "binary_path", lambda name: tmp_path / name)
    monkeypatch.setenv("SYNTHLAKE_LOCAL_RUNTIME", "vllm")
    with pytest.raises(embedded.LocalModelError, match="SYNTHLAKE_LOCAL_RUNTIME='vllm'.*llama_server"):
        embedded.runtime()
    monkeypatch.setenv("SYNTHLAKE_LOCAL_RUNTIME", "llama_server")
    with pytest.raises(embedded.LocalModelError, match="llama-server is not installed"):
        embedded.runtime()


def test_transformers_serve_records_its_one_temperature():
    assert embedded.RUNTIMES["transformers"].fixed_temperature == embedded.SAMPLING["temperature"]


@pytest.mark.skipif(not embedded.binary_path("llama-server").exists(), reason="llama-server not built")
def test_the_server_runs_on_the_threads_it_is_given(monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_LOCAL_RUNTIME", "llama_server")
    monkeypatch.setenv("SYNTHLAKE_LOCAL_THREADS", "1")
    with embedded.start_server() as server:
        pid = embedded.listening_pids(server.port)[0]
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert args[0].endswith(b"llama-server")
        assert args[args.index(b"--threads") + 1] == args[args.index(b"--threads-batch") + 1] == b"1"
