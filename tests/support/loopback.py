"""An OpenAI-compatible server on loopback for fault tests and benchmarks.

It is a real HTTP server (aiohttp) speaking `/v1/chat/completions`; it answers with
deterministic text (seeded by the request body, sized to the "at most N words" of the
prompt) after a configurable latency, and injects faults on demand:

    429 (with Retry-After), 500 and 503 (echoing the request's headers, key included, as
    a careless server would), drop (connection closed without an answer),
    slow (answers after `slow_s`, past a client's timeout), malformed (a 200 whose body is
    not JSON), empty (empty content), length (finish_reason "length").

With `--script FILE` (a JSON list of [substring, answer] pairs) a request whose last
message contains a substring gets that answer, the first rule that matches winning: a
judge that answers by rule. With `--prefer FILE` (JSON: `order`, substrings from most to
least preferred; `noise`; `bias`) a question that shows "Task A:" and "Task B:" is
answered like a judge with a known preference: with probability `bias` "A" whatever is
shown (position bias), else with probability `noise` a coin toss, else the preferred
one (coins seeded by the request); each verdict is logged as `{"judged":
[first, second, answer]}` with the indices into `order`. A judge request asking for
`logprobs` also gets the first token's `top_logprobs`: A and B at that distribution.
The batch API (`/v1/files`, `/v1/batches`) is served too, with a provider's delay,
failed lines and expiries (`--batch-delay`, `--batch-fail-rate`, `--batch-expire-rate`;
tests/support/batches.py).
With `--serve-real FILE` (tests/support/known_answer.py) a generation request gets a
held-out real text of the requested label and a label-fidelity question its true label:
a generator whose answer is known.
With `--max-request-bytes N` a larger request body gets the 400 a model answers when its
context length is exceeded.
With `--rate-limit R` it also enforces a provider's limit of R requests per second (a
bucket holding a tenth of a second's worth, so a burst barely exceeds the rate): a
request over it is refused at once with 429 and a Retry-After saying when the next one
would be admitted; the request log names it "rate limit".

Faults (in turn, round robin) hit the first `faults_per_request` attempts of a request
whose body hash falls in `fault_rate`, so every request heals eventually. Every
request is appended to a JSON lines log (`--request-log`): body hash, fault, time. Run it with
`python -m tests.support.loopback --port 8001 --latency 0.2`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


WORDS = (
    "market", "team", "player", "price", "city", "river", "film", "review", "phone", "message",
    "offer", "money", "happy", "sad", "great", "terrible", "quick", "slow", "new", "old",
    "bright", "dark", "early", "late", "local", "global", "company", "season", "game", "match",
    "movie", "story", "winner", "loss", "growth", "profit", "share", "deal", "weather",
    "school", "friend", "family", "music", "night", "morning", "plan", "trip", "project",
    "data",
)
FAULTS = ("429", "500", "503", "drop", "slow", "malformed", "empty", "length")


class FaultServer:
    def __init__(self, latency_s: float = 0.0, tokens_per_s: float | None = None,
                 faults: list[str] | None = None, fault_rate: float = 0.0,
                 faults_per_request: int = 1, slow_s: float = 5.0, api_key: str | None = None,
                 known_models: list[str] | None = None, request_log: Path | None = None,
                 rate_limit: float | None = None, max_request_bytes: int | None = None,
                 script: list[tuple[str, str]] | None = None, prefer: dict | None = None,
                 serve_real: dict | None = None):
        self.latency_s, self.tokens_per_s = latency_s, tokens_per_s
        self.faults, self.fault_rate = faults or [], fault_rate
        self.faults_per_request, self.slow_s = faults_per_request, slow_s
        self.api_key, self.known_models = api_key, known_models
        self.max_request_bytes = max_request_bytes
        self.script = script or []
        self.prefer = prefer
        from tests.support.known_answer import RealTexts

        self.real = RealTexts(serve_real) if serve_real else None
        # A provider's limit, scaled down: per second, with a tenth of a second's burst.
        # Its own arithmetic (a virtual schedule), not the client's bucket: a test of the
        # client's limits against the client's own limiter would prove nothing.
        self.rate_limit = rate_limit
        self.burst_s = max(1.0, (rate_limit or 0) / 10) / rate_limit if rate_limit else 0.0
        self.next_free = 0.0  # when the next request would be on schedule
        self.attempts: Counter[str] = Counter()
        self.fault_turn = -1
        self.log = open(request_log, "a", buffering=1) if request_log else None  # noqa: SIM115

    def _admit(self) -> float:
        """0 and the request is admitted, or the seconds until one would be."""
        now = time.monotonic()
        scheduled = max(self.next_free, now)
        if scheduled - now > self.burst_s - 1 / self.rate_limit:
            return scheduled - now - self.burst_s + 1 / self.rate_limit
        self.next_free = scheduled + 1 / self.rate_limit
        return 0.0

    async def chat(self, request):
        from aiohttp import web

        auth = request.headers.get("Authorization", "")
        if self.api_key and auth != f"Bearer {self.api_key}":
            # Like some real servers, it echoes what it refused.
            return web.json_response({"error": {"message": f"invalid api key: {auth}"}},
                                     status=401)
        raw = await request.read()
        if self.max_request_bytes and len(raw) > self.max_request_bytes:
            return web.json_response({"error": {
                "message": f"This model's maximum context length is {self.max_request_bytes // 4} "
                           f"tokens. However, your messages resulted in {len(raw) // 4} tokens.",
                "code": "context_length_exceeded"}}, status=400)
        digest = hashlib.sha256(raw).hexdigest()[:32]
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        if self.known_models is not None and body.get("model") not in self.known_models:
            return web.json_response({"error": {"message": "model not found"}}, status=404)
        self.attempts[digest] += 1
        fault = self._fault(digest)
        wait = self._admit() if self.rate_limit and fault is None else 0.0
        if wait:
            fault = "rate limit"
        if self.log:
            self.log.write(json.dumps({"key": digest, "fault": fault, "t": time.time()}) + "\n")
        if fault == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": "0.2"})
        if fault == "rate limit":
            return web.json_response({"error": {"message": "rate limit reached"}}, status=429,
                                     headers={"Retry-After": f"{wait:.3f}"})
        if fault in ("500", "503"):  # echoing the request's headers, as a debug page would
            return web.json_response({"error": {"message": f"server error; headers: "
                                                f"{dict(request.headers)}"}}, status=int(fault))
        if fault == "drop":
            request.transport.close()
            raise ConnectionResetError("dropped on purpose")
        judged = self._preferred(body, digest)
        text = (self.real and self.real.answer(body, digest)) or self._scripted(body) \
            or (judged and judged[0]) or self._text(body, digest)
        delay = self.latency_s + (len(text.split()) / self.tokens_per_s if self.tokens_per_s else 0)
        await asyncio.sleep(self.slow_s if fault == "slow" else delay)
        if fault == "malformed":
            return web.Response(text='{"choices": [ {"message": ', content_type="application/json")
        content = "" if fault == "empty" else text
        finish = "length" if fault == "length" else "stop"
        completion = self._completion(body, content, finish)
        if judged and body.get("logprobs"):
            completion["choices"][0]["logprobs"] = self._logprobs(judged)
        return web.json_response(completion)

    @staticmethod
    def _logprobs(judged: tuple[str, float]) -> dict:
        """OpenAI's `logprobs` of a one-token answer: the letter given, and A and B at
        the judge's probabilities."""
        answer, p_a = judged
        top = [{"token": "A", "logprob": math.log(max(p_a, 1e-12))},
               {"token": "B", "logprob": math.log(max(1 - p_a, 1e-12))}]
        chosen = next(t for t in top if t["token"] == answer)
        return {"content": [{**chosen, "top_logprobs": top}]}

    def _fault(self, digest: str) -> str | None:
        if not self.faults or self.attempts[digest] > self.faults_per_request:
            return None
        if random.Random(digest).random() >= self.fault_rate:
            return None
        # Round robin, so a short test run meets every kind of fault.
        self.fault_turn += 1
        return self.faults[self.fault_turn % len(self.faults)]

    def _scripted(self, body: dict) -> str | None:
        last = str((body.get("messages") or [{}])[-1].get("content", ""))
        return next((answer for needle, answer in self.script if needle in last), None)

    def _preferred(self, body: dict, digest: str) -> tuple[str, float] | None:
        """(the letter answered, the judge's probability of "A") for a judge question."""
        last = str((body.get("messages") or [{}])[-1].get("content", ""))
        if not self.prefer or "Task A:" not in last or "Task B:" not in last:
            return None
        first, second = last.split("Task B:", 1)[0].split("Task A:", 1)[1], \
            last.split("Task B:", 1)[1]
        order = self.prefer["order"]
        shown = [next(i for i, needle in enumerate(order) if needle in part)
                 for part in (first, second)]
        rng = random.Random(digest)
        bias, noise = self.prefer.get("bias", 0.0), self.prefer.get("noise", 0.0)
        better = "A" if shown[0] < shown[1] else "B"
        # Position bias first; past it the noise coin, then a toss if the coin says so.
        answer = "A" if rng.random() < bias else \
            better if rng.random() >= noise else rng.choice("AB")
        # The answer's distribution: A by bias, else the better one or a coin.
        p_a = bias + (1 - bias) * ((1 - noise) * (better == "A") + noise / 2)
        if self.log:
            self.log.write(json.dumps({"judged": [*shown, answer], "seed": body.get("seed"),
                                       "p_a": p_a}) + "\n")
        return answer, p_a

    @staticmethod
    def _text(body: dict, digest: str) -> str:
        """Random words; with demonstrations in the prompt ("Example 1: ..."), words of
        those, so a few-shot answer reads like its label's examples, as a model's would."""
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        limits = [int(n) for n in re.findall(r"at most (\d+) words", prompt)] or [30]
        shown = [w for line in re.findall(r"^Example \d+: (.*)$", prompt, re.M)
                 for w in re.findall(r"[A-Za-z']+", line)]
        rng = random.Random(digest)
        n = rng.randint(max(3, limits[-1] // 3), max(4, limits[-1] - 1))
        words = shown if len(set(shown)) >= 10 else WORDS
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    @staticmethod
    def _completion(body: dict, content: str, finish: str) -> dict:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = len(content.split())
        return {
            "id": "chatcmpl-dev", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "dev"),
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def app(self):
        from aiohttp import web

        app = web.Application(client_max_size=256 * 2**20)  # batch files, as a provider takes
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/health", lambda _: web.json_response({"status": "ok"}))
        app.router.add_get("/v1/models", lambda _: web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model"}
                                        for m in (self.known_models or ["dev"])]}))
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float)
    parser.add_argument("--faults", default="", help=f"comma list of {FAULTS}")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults-per-request", type=int, default=1)
    parser.add_argument("--slow-s", type=float, default=5.0)
    parser.add_argument("--api-key")
    parser.add_argument("--models", help="comma list of known models (others get 404)")
    parser.add_argument("--request-log", type=Path)
    parser.add_argument("--rate-limit", type=float, help="requests per second; over it, 429")
    parser.add_argument("--max-request-bytes", type=int,
                        help="a larger request body gets a 400 context-length error")
    parser.add_argument("--script", type=Path,
                        help="JSON list of [substring, answer]: answers by rule")
    parser.add_argument("--prefer", type=Path,
                        help="JSON {order, noise, bias}: a pairwise judge with a known preference")
    parser.add_argument("--serve-real", type=Path,
                        help="JSON pools of held-out real texts: a known-answer generator")
    parser.add_argument("--batch-delay", type=float, default=1.0,
                        help="seconds a batch takes (the batch API: tests/support/batches.py)")
    parser.add_argument("--batch-fail-rate", type=float, default=0.0)
    parser.add_argument("--batch-expire-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    import logging

    from aiohttp import web

    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the injected drops are noisy

    server = FaultServer(
        latency_s=args.latency, tokens_per_s=args.tokens_per_s,
        faults=[f for f in args.faults.split(",") if f], fault_rate=args.fault_rate,
        faults_per_request=args.faults_per_request, slow_s=args.slow_s,
        api_key=args.api_key, known_models=args.models.split(",") if args.models else None,
        request_log=args.request_log, rate_limit=args.rate_limit,
        max_request_bytes=args.max_request_bytes,
        script=json.loads(args.script.read_text()) if args.script else None,
        prefer=json.loads(args.prefer.read_text()) if args.prefer else None,
        serve_real=json.loads(args.serve_real.read_text()) if args.serve_real else None,
    )
    from tests.support.batches import BatchAPI

    app = server.app()
    BatchAPI(server, args.batch_delay, args.batch_fail_rate, args.batch_expire_rate).register(app)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None,
                access_log=None, backlog=4096)


@contextlib.contextmanager
def running(port: int, *args: str, timeout_s: float = 30.0):
    """Start the server in its own process group; yield its base URL; stop it."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.loopback", "--port", str(port),
                             *args], start_new_session=True, cwd=REPO)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the dev server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a handler still sleeping out a `slow` fault
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def read_request_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
