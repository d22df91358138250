"""The batch API of the loopback server, as a provider runs it: `POST /v1/files`,
`POST /v1/batches`, `GET /v1/batches/{id}`, `GET /v1/files/{id}/content`.

A batch is `validating`, then `in_progress`; it finishes `delay_s` after submission.
Each line is answered like `/v1/chat/completions` would (the server's own texts), except
on its first submission: a line whose key hash falls in `fail_rate` comes back as an
error line (status 500), and one in `expire_rate` is left unanswered, its batch then
finishing `expired` (a provider's 24-hour window running out). Every line answered is
logged as `{"paid": custom_id, "batch": id}`, every line left out as `{"expired": ...}`,
every batch created as `{"batch": id, "lines": n}`: what a test counts to prove no
request was paid for twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections import Counter


class BatchAPI:
    def __init__(self, server, delay_s: float = 1.0, fail_rate: float = 0.0,
                 expire_rate: float = 0.0):
        self.server, self.delay_s = server, delay_s
        self.fail_rate, self.expire_rate = fail_rate, expire_rate
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.submissions: Counter[str] = Counter()  # custom_id -> batches it was in

    def register(self, app) -> None:
        app.router.add_post("/v1/files", self.upload)
        app.router.add_post("/v1/batches", self.create)
        app.router.add_get("/v1/batches/{batch_id}", self.status)
        app.router.add_get("/v1/files/{file_id}/content", self.content)

    def _log(self, entry: dict) -> None:
        if self.server.log:
            self.server.log.write(json.dumps({**entry, "t": time.time()}) + "\n")

    async def upload(self, request):
        from aiohttp import web

        form = await request.post()
        if form.get("purpose") != "batch" or "file" not in form:
            return web.json_response({"error": {"message": "purpose batch and a file"}},
                                     status=400)
        file_id = f"file-{len(self.files)}"
        self.files[file_id] = form["file"].file.read()
        return web.json_response({"id": file_id, "object": "file", "purpose": "batch"})

    async def create(self, request):
        from aiohttp import web

        spec = await request.json()
        raw = self.files.get(spec.get("input_file_id"))
        if raw is None or spec.get("endpoint") != "/v1/chat/completions":
            return web.json_response({"error": {"message": "unknown file or endpoint"}},
                                     status=400)
        batch_id = f"batch-{len(self.batches)}"
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        self.batches[batch_id] = {"id": batch_id, "object": "batch", "status": "validating",
                                  "input_file_id": spec["input_file_id"],
                                  "request_counts": {"total": len(lines)}}
        self._log({"batch": batch_id, "lines": len(lines)})
        asyncio.get_running_loop().create_task(self._run(batch_id, lines))
        return web.json_response(self.batches[batch_id])

    async def _run(self, batch_id: str, lines: list[dict]) -> None:
        batch = self.batches[batch_id]
        await asyncio.sleep(self.delay_s / 2)
        batch["status"] = "in_progress"
        await asyncio.sleep(self.delay_s / 2)
        output, errors, expired = [], [], 0
        for line in lines:
            key = line["custom_id"]
            self.submissions[key] += 1
            coin = random.Random(hashlib.sha256(key.encode()).hexdigest()).random()
            first = self.submissions[key] == 1
            if first and coin < self.expire_rate:
                expired += 1
                self._log({"expired": key, "batch": batch_id})
                continue
            if first and coin < self.expire_rate + self.fail_rate:
                errors.append({"id": f"{batch_id}-{key}", "custom_id": key,
                               "response": {"status_code": 500, "body": {"error": {
                                   "message": "server error"}}}, "error": None})
                self._log({"failed": key, "batch": batch_id})
                continue
            body = line["body"]
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
            text = self.server._text(body, digest)
            output.append({"id": f"{batch_id}-{key}", "custom_id": key, "error": None,
                           "response": {"status_code": 200, "body":
                                        self.server._completion(body, text, "stop")}})
            self._log({"paid": key, "batch": batch_id})
        for name, rows in (("output_file_id", output), ("error_file_id", errors)):
            if rows:
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[name] = file_id
        batch["status"] = "expired" if expired else "completed"
        batch["request_counts"].update(completed=len(output), failed=len(errors) + expired)

    async def status(self, request):
        from aiohttp import web

        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        return web.json_response(batch)

    async def content(self, request):
        from aiohttp import web

        raw = self.files.get(request.match_info["file_id"])
        if raw is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=raw, content_type="application/jsonl")
