"""Demo: annotators connected over WebSocket receive tasks the moment they are imported.

    uv run python services/assignment/demo.py [--annotators 3] [--waves 3]

Starts the assignment service on its own database (demo_assay_assignment), connects annotators who wait for
work, then imports tasks in waves; each annotator prints every task pushed to it and answers it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import httpx
import websockets

from assay_shared.auth.tokens import token_mint
from assay_shared.db.bootstrap import database_drop
from assay_shared.testing import env as test_env
from assay_shared.testing.processes import ServiceProcess, service_migrate

DATABASE = "demo_assay_assignment"
SCHEMA = {"answer_type": "bbox", "labels": [{"name": "car"}, {"name": "person"}]}


def token(subject: str, roles: list[str]) -> str:
    keys = test_env.SESSION_KEYS
    return token_mint(private_pem=keys.private_pem, kid=keys.kid, tenant="demo", subject=subject, roles=roles)


async def annotator(name: str, port: int, project_id: str, started: float, stop: asyncio.Event) -> int:
    answered = 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/work?project={project_id}&token={token(name, ['annotator'])}") as ws:
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except asyncio.TimeoutError:
                continue
            stamp = f"{time.perf_counter() - started:6.2f}s"
            if message["type"] == "task":
                task = message["task"]
                print(f"{stamp}  {name:<7} ← task {task['data']['url']}", flush=True)
                await asyncio.sleep(random.uniform(0.2, 0.6))  # drawing a box
                await ws.send(json.dumps({"type": "submit", "task_id": task["task_id"], "duration_ms": 400,
                                          "answer": {"objects": [{"label": "car", "bbox": [10, 20, 30, 40]}]}}))
                answered += 1
            elif message["type"] == "waiting":
                print(f"{stamp}  {name:<7} … waiting", flush=True)
            elif message["type"] == "error":
                print(f"{stamp}  {name:<7} ! {message['error']['message']}", flush=True)
    return answered


async def main(annotators: int, waves: int) -> int:
    env = test_env.service_env(service="assignment", database=DATABASE, prefix="demo")
    database_drop(admin_url=test_env.TEST_PG_URL, database=DATABASE)
    service_migrate(service="assignment", admin_url=test_env.TEST_PG_URL, database=DATABASE, env=env)
    server = ServiceProcess(service="assignment", env=env).start(worker=False)
    try:
        lead = httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token('lead', ['qa_lead'])}"})
        project = (await lead.post("/api/v1/projects", json={"name": "street scenes", "schema": SCHEMA,
                                                             "overlap": 2})).json()
        print(f"project {project['id']} (overlap 2); {annotators} annotators connect and wait", flush=True)
        started, stop = time.perf_counter(), asyncio.Event()
        workers = [asyncio.create_task(annotator(f"ann-{i}", server.port, project["id"], started, stop))
                   for i in range(annotators)]
        for wave in range(waves):
            await asyncio.sleep(2)
            lines = "".join(json.dumps({"external_id": f"w{wave}-{i}", "url": f"https://img.example/w{wave}/{i}.jpg"})
                            + "\n" for i in range(annotators))
            response = await lead.post(f"/api/v1/projects/{project['id']}/batches?name=wave-{wave}", content=lines,
                                       headers={"Content-Type": "application/x-ndjson"})
            print(f"{time.perf_counter() - started:6.2f}s  lead    → imported {response.json()['imported']} tasks",
                  flush=True)
        await asyncio.sleep(3)
        stop.set()
        answered = sum(await asyncio.gather(*workers))
        progress = (await lead.get(f"/api/v1/projects/{project['id']}/progress")).json()
        print(f"answers: {answered}; progress: answered {progress['answered']}, completed {progress['completed']}"
              f" of {progress['tasks']} tasks", flush=True)
        await lead.aclose()
        return 0 if answered == progress["answered"] else 1
    finally:
        server.stop()
        database_drop(admin_url=test_env.TEST_PG_URL, database=DATABASE)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--waves", type=int, default=3)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.annotators, args.waves)))
