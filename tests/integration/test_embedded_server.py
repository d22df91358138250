"""The embedded model server: it samples, lists its model, and dies with its owner.

Each test starts the real `transformers serve` process (a few seconds once the converted
model is cached), so they are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from synthlake.llm import embedded

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def server_pids() -> list[int]:
    """Processes running the embedded model server (any owner)."""
    return [pid for pid in _pids() if "synthlake.llm.embedded" in embedded._cmdline(pid)]


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_until_gone(pid: int, port: int, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = Path(f"/proc/{pid}").exists() and "synthlake.llm.embedded" in embedded._cmdline(pid)
        if not alive and port_free(port):
            return
        time.sleep(0.2)
    raise AssertionError(f"server pid {pid} or port {port} still there after {within_s} s")


def chat(base_url: str, seed: int, temperature: float = 1.0) -> str:
    body = {"model": embedded.MODEL_ID, "max_tokens": 24, "temperature": temperature, "seed": seed,
            "messages": [{"role": "user", "content": "Write a short text message to a friend."}]}
    request = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["choices"][0]["message"]["content"]


INSTALLED = [name for name, r in embedded.RUNTIMES.items() if embedded.installed(r)]


@pytest.mark.parametrize("runtime", INSTALLED)
def test_the_embedded_model_samples_by_seed_and_lists_the_model_id_requests_use(runtime):
    """Every installed runtime: a real server on loopback listing the model id, sampling
    by the request's seed."""
    with embedded.start_server(chosen=embedded.RUNTIMES[runtime]) as server:
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=30) as response:
            assert response.status == 200
            ids = [m["id"] for m in json.loads(response.read())["data"]]
        assert ids == [embedded.MODEL_ID] == [server.model]
        one, two, one_again = chat(server.base_url, 1), chat(server.base_url, 2), chat(server.base_url, 1)
    assert one != two, "two seeds at temperature 1.0 give two texts"
    assert one == one_again, "the same seed, one request at a time, gives the same text"


@pytest.mark.skipif("llama_cpp" not in INSTALLED, reason="llama-cpp-python did not build here")
def test_llama_cpp_applies_each_requests_temperature():
    """Temperature 0 decodes greedily whatever the seed; 1.0 samples by it: the runtime
    records the temperature asked for because it applies it (no fixed temperature)."""
    assert embedded.RUNTIMES["llama_cpp"].fixed_temperature is None
    with embedded.start_server(chosen=embedded.RUNTIMES["llama_cpp"]) as server:
        greedy = {chat(server.base_url, seed, temperature=0.0) for seed in (1, 2, 3)}
        sampled = {chat(server.base_url, seed, temperature=1.0) for seed in (1, 2, 3)}
    assert len(greedy) == 1 and len(sampled) == 3


def test_a_cache_converted_before_sampling_is_converted_again(tmp_path, monkeypatch, capfd):
    """...and the conversion draws nothing on the console (transformers' own bar goes to
    the log)."""
    monkeypatch.setenv("SYNTHLAKE_CACHE", str(tmp_path))
    old = tmp_path / "models" / embedded.MODEL_NAME  # where version 1 kept its folder
    old.mkdir(parents=True)
    (old / "model.safetensors").write_bytes(b"stale")
    folder = embedded.converted_model_dir()
    config = json.loads((folder / "generation_config.json").read_text())
    assert config["do_sample"] is True and config["top_p"] == embedded.SAMPLING["top_p"]
    assert not old.exists(), "the greedy version-1 folder is removed"
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == "", printed


OWNER = """
import sys, time
from synthlake.llm import embedded
with embedded.start_server() as server:
    print(server.port, server.process.pid, flush=True)
    if sys.argv[1] == "exception":
        raise RuntimeError("the owner fails")
    if sys.argv[1] == "wait":
        time.sleep(600)
"""
# Two sessions in one process, as `make demo` opens them: one server serves both, and it
# stops when the process ends (no context manager around it).
SHARING_OWNER = """
import sys, time
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import shared_server
from synthlake.llm.session import open_endpoint
config = EndpointConfig.from_env()
with open_endpoint(config) as first:
    pass
with open_endpoint(config) as second:
    server = shared_server()
    assert first.base_url == second.base_url == server.base_url
print(server.port, server.process.pid, flush=True)
if sys.argv[1] == "exception":
    raise RuntimeError("the owner fails")
if sys.argv[1] == "wait":
    time.sleep(600)
"""


def interruptible() -> None:
    """Run in a child before it starts: Ctrl-C interrupts it, as in a terminal, even when
    the test suite itself runs as a background job (whose shell ignores SIGINT, which a
    child inherits)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_owner(mode: str, script: str = OWNER) -> tuple[subprocess.Popen, int, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "SYNTHLAKE_MODEL")}
    owner = subprocess.Popen([sys.executable, "-c", script, mode], cwd=REPO, text=True, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             preexec_fn=interruptible)
    port, pid = map(int, owner.stdout.readline().split())
    return owner, port, pid


@pytest.mark.parametrize("script", [OWNER, SHARING_OWNER], ids=["started", "shared"])
@pytest.mark.parametrize("ending", ["normal", "exception", "SIGINT", "SIGTERM", "SIGKILL"])
def test_the_server_dies_with_its_owner(ending, script):
    """However the owning process ends, its server goes, whether it was started for one
    block or shared by every session of the process; a shared one serves sessions one
    after another (the script checks the two sessions saw one URL)."""
    owner, port, pid = start_owner(ending if ending in ("normal", "exception") else "wait",
                                   script)
    try:
        if ending.startswith("SIG"):
            assert not port_free(port)
            owner.send_signal(getattr(signal, ending))
        owner.wait(timeout=30)
        wait_until_gone(pid, port)
    finally:
        owner.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_synthlake_llm_serve_stops_its_server_on_a_signal(signum):
    port = embedded.free_port()
    cli = subprocess.Popen([sys.executable, "-m", "synthlake.cli", "llm", "serve", "--port",
                            str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, preexec_fn=interruptible)
    try:
        assert f"127.0.0.1:{port}" in cli.stdout.readline()
        pid = embedded.listening_pids(port)[0]
        cli.send_signal(signum)
        cli.wait(timeout=30)
        wait_until_gone(pid, port)
    finally:
        cli.kill()


def test_a_port_already_taken_is_reported_with_its_pid():
    port = embedded.free_port()
    squatter = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                 "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while port_free(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        before = set(server_pids())
        with pytest.raises(embedded.LocalModelError, match=rf"port {port} .* pid {squatter.pid}"):
            embedded.start_server(port=port)
        assert set(server_pids()) == before, "no second server is started"
        result = subprocess.run([sys.executable, "-m", "synthlake.cli", "llm", "serve", "--port",
                                 str(port)], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and f"pid {squatter.pid}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        squatter.kill()
        squatter.wait()



def descendants(root: int) -> set[int]:
    parents = {}
    for pid in _pids():
        try:
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_terminated_dagster_run_leaves_no_model_server(tmp_path, signum):
    """`dagster asset materialize` generating with the embedded model is terminated (what a
    service manager or Ctrl-C does to a run): its model server goes with it."""
    from synthlake.catalog import get_task
    from synthlake.lake import Lake
    from synthlake.realdata import write_real_examples

    write_real_examples(Lake(tmp_path / "lake"), get_task("sms_spam"), "setup")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "SYNTHLAKE_MODEL")}
    env |= {"DAGSTER_HOME": str(home), "SYNTHLAKE_LAKE": str(tmp_path / "lake")}
    run = subprocess.Popen([sys.executable, "-m", "dagster", "asset", "materialize", "-m",
                            "orchestration.definitions", "--select",
                            "synthetic_examples/few_shot,llm_responses/few_shot",
                            "--partition", "sms_spam"], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, servers = time.monotonic() + 240, []
        while not servers and time.monotonic() < deadline:
            servers = [p for p in descendants(run.pid) if "synthlake.llm.embedded" in embedded._cmdline(p)]
            time.sleep(0.5)
        assert servers, "the run started no model server"
        (pid,) = servers
        argv = embedded._cmdline(pid).split()
        port = int(argv[argv.index("--port") + 1])
        run.send_signal(signum)
        run.wait(timeout=60)
        wait_until_gone(pid, port)
    finally:
        run.kill()
