"""The console's browser tests: the five services and the console as real processes on real Postgres,
RabbitMQ and Redis, driven by Debian's chromium through Playwright (it never downloads a browser)."""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis

from assay_shared.stack.console import console_env, console_unit, signin_code_create
from assay_shared.stack.processes import ServiceProcess, drop_databases, free_port, service_migrate, units_stop
from assay_shared.testing import env as test_env
from assay_shared.testing.broker import broker_cleanup
from assay_shared.testing.cast import Cast

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")
CELERY = {"assignment", "scoring", "webhooks"}  # webhooks: its delivery loop
CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
REPO = Path(__file__).resolve().parents[3]


TASK_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#cbd5e1"/>'
            '<rect x="100" y="120" width="200" height="150" fill="#475569"/></svg>')
_image_server: list[ThreadingHTTPServer] = []


def image_url() -> str:
    """An http URL of a 640×480 task image (a public origin: assignment hands it out as it is; it takes no data:
    URLs), served by a thread of the test process."""
    if not _image_server:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = TASK_SVG.encode()
                self.send_response(200)
                self.send_header("Content-Type", "image/svg+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _image_server.append(server)
    return f"http://127.0.0.1:{_image_server[0].server_address[1]}/task.svg"


class ConsoleStack:
    def __init__(self, tmp: Path) -> None:
        self.prefix = f"{test_env.SESSION_PREFIX}con{uuid.uuid4().hex[:4]}"
        # databases of this run alone: another run's relays must never publish this run's outbox
        self.databases = {s: f"{self.prefix}_assay_{s}" for s in SERVICES}
        self.log_dir = tmp / "logs"
        self.procs: dict[str, ServiceProcess] = {}
        self.console = None
        self.cast = Cast(test_env.SESSION_KEYS)
        self.redis = redis.Redis.from_url(test_env.TEST_REDIS_URL)

    def start(self) -> None:
        drop_databases(admin_url=test_env.TEST_PG_URL, names=list(self.databases.values()))
        for service, database in self.databases.items():
            env = {**test_env.service_env(service=service, database=database, prefix=self.prefix),
                   "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1", "LOG_LEVEL": "WARNING"}
            service_migrate(service=service, admin_url=test_env.TEST_PG_URL, database=database, env=env)
            self.procs[service] = ServiceProcess(service=service, env=env, log_dir=self.log_dir)
        for service, proc in self.procs.items():
            proc.start(web=False, worker=True, celery=service in CELERY)
        time.sleep(1.0)
        for proc in self.procs.values():
            proc.start(web=True, worker=False, timeout=60)
        env = console_env(service_urls={s: p.url for s, p in self.procs.items()}, redis_url=test_env.TEST_REDIS_URL,
                          prefix=self.prefix, keys=test_env.SESSION_KEYS, state=self.log_dir.parent)
        self.console = console_unit(env=env, port=free_port(), log_dir=self.log_dir)
        self.console.spawn()
        deadline = time.monotonic() + 60
        while not self.console.healthy():
            if self.console.exited() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start:\n{self.console.log_tail(40)}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.console is not None:
            units_stop([self.console])
        for proc in self.procs.values():
            proc.stop()
        broker_cleanup(amqp_url=test_env.TEST_AMQP_URL, prefix=self.prefix)
        for key in self.redis.scan_iter(f"{self.prefix}:*"):
            self.redis.delete(key)
        drop_databases(admin_url=test_env.TEST_PG_URL, names=list(self.databases.values()))

    @property
    def url(self) -> str:
        return self.console.url

    def link(self, *, subject: str, roles: tuple[str, ...], tenant: str = "acme") -> str:
        code = signin_code_create(client=self.redis, prefix=self.prefix, tenant=tenant, subject=subject, roles=roles)
        return f"{self.url}/signin/{code}"

    def client(self, service: str, actor) -> httpx.Client:
        return httpx.Client(base_url=f"{self.procs[service].url}/api/v1", headers=actor.headers, timeout=15)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    running = ConsoleStack(tmp_path_factory.mktemp("console"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Screenshots of each step: ASSAY_TEST_OUTPUT, else .state/test-output/console/<time> in the repository."""
    base = Path(os.environ.get("ASSAY_TEST_OUTPUT") or REPO / ".state" / "test-output" / "console")
    folder = base / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def person(browser, stack, output_dir, request):
    """person(subject, roles) -> a page signed in as them in a fresh browser context; `shot(page, name)` saves
    a screenshot; every CSP violation the browser reports fails the test."""
    contexts, violations = [], []

    def sign_in(subject: str, roles: tuple[str, ...], tenant: str = "acme"):
        context = browser.new_context(accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: violations.append(msg.text)
                if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
        page.goto(stack.link(subject=subject, roles=roles, tenant=tenant))
        assert page.get_by_test_id("who").inner_text().startswith(subject), page.content()[:2000]
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert violations == [], violations


@pytest.fixture
def shot(output_dir, request):
    counter = {"n": 0}

    def take(page, name: str) -> Path:
        counter["n"] += 1
        path = output_dir / f"{request.node.name}-{counter['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def eventually(fetch, *, until, timeout: float = 45.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if until(value):
            return value
        time.sleep(0.25)
    pytest.fail(f"{what} not reached within {timeout}s; last value: {value!r}")
