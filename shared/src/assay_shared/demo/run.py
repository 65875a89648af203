"""`assay demo`: the whole system on its embedded default, a day of a labeling vendor in a minute.

It brings every service up (embedded Postgres and Redis unless DATABASE_URL/BROKER_URL/REDIS_URL
name servers), then: a QA lead registers a webhook endpoint, creates a project with gold tasks,
overlap 3, a review sampling policy and a quality rule; annotators connect over WebSocket and wait;
a batch import pushes tasks to them; they answer (one of them is a spammer); review runs in two stages
(a reviewer escalates one item, an expert corrects what is wrong); the QA lead asks for a batch verdict at
AQL 4.0 and exports the batch. Then it prints what each service did.
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from assay_shared.demo.crowd import WebhookReceiver
from assay_shared.demo.html_report import report_html_write
from assay_shared.demo.report import report_print
from assay_shared.demo.scenario import DemoFailed, Story, story_crowd, story_gold, story_review, story_setup
from assay_shared.stack.console import signin_links
from assay_shared.stack.processes import free_port
from assay_shared.stack.servers import servers_start
from assay_shared.stack.system import SERVICES, System, keys_load_or_create


def _say(text: str) -> None:
    print(text, flush=True)


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(f"{line}\n")


def _console_print(system: System) -> None:
    """The console's URL and a one-time sign-in link for each person of the story."""
    _say(f"\nconsole: {system.console_url()}  — sign in as each person (each link works once):")
    for line in signin_links(redis_url=system.servers.redis_url, prefix=system.prefix,
                             console_url=system.console_url()):
        _say(f"  {line}")


def demo_run(*, state: Path, annotators: int, tasks: int) -> int:
    started = time.monotonic()
    state.mkdir(parents=True, exist_ok=True)
    run_state = Path(tempfile.mkdtemp(prefix="demo-", dir=state))
    _say("assay demo — bringing the system up")
    servers = servers_start(state=run_state)
    for line in servers.describe():
        _say(f"  {line}")
    # ports of its own, so the demo runs beside a stack started by `assay up` (it prints them)
    system = System(state=run_state, servers=servers, keys=keys_load_or_create(state), prefix="demo",
                    web_workers={"assignment": 2}, extra_env={"SCORING_REFIT_SECONDS": "10",
                                                                   # the demo's own receiver listens on 127.0.0.1
                                                                   "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1"},
                    ports={service: free_port() for service in (*SERVICES, "console")})
    receiver = WebhookReceiver()
    try:
        system.migrate()
        system.start(log=lambda line: _append(run_state / "supervisor.log", line))
        for name, url in system.urls().items():
            _say(f"  {name:<11}{url}")
        _say(f"  up in {time.monotonic() - started:.0f}s; logs in {run_state / 'logs'}\n")
        story = Story(urls=system.urls(), token=system.token, tasks=tasks, annotators=min(annotators, 6))
        rng = random.Random(story.seed)
        _say("1. QA lead: webhook endpoint, project 'pets' (single choice, overlap 3, gold 30%), review policy, quality rule")
        story_setup(story, receiver)
        truth = story_gold(story, rng)
        _say(f"   {story.facts['gold_tasks']} gold tasks flagged in assignment, their answers kept in scoring only")
        _say(f"2. {story.annotators} annotators connect over WebSocket and wait; a batch of {tasks} tasks is imported")
        crowd = story_crowd(story, truth)
        _say(f"   {story.facts['imported']} tasks imported and answered to overlap: {story.facts['submitted']} submissions")
        _say("3. review → expert review: a reviewer works the sampled queue and escalates one item, an expert corrects;"
             " the QA lead asks for a verdict on the batch at AQL 4.0, then exports it")
        story_review(story, truth)
        time.sleep(3.0)
        if system.dead():
            raise DemoFailed(f"service processes exited: {'; '.join(system.dead())}")
        report_print(story=story, crowd=crowd, truth=truth, receiver=receiver, say=_say)
        report = report_html_write(story=story, path=state / "demo-report.html")
        _say(f"\nthe charts: {report}")
        _say(f"\ndemo finished in {time.monotonic() - started:.0f}s")
        _console_print(system)
        if sys.stdin.isatty() and sys.stdout.isatty():
            _say("\nthe system stays up for the console; Ctrl-C stops it")
            try:
                while not system.dead():
                    time.sleep(1.0)
            except KeyboardInterrupt:
                pass
        return 0
    except DemoFailed as exc:
        _say(f"\ndemo FAILED: {exc}\nlogs: {run_state / 'logs'}")
        return 1
    finally:
        receiver.close()
        system.stop()
        servers.stop()


if __name__ == "__main__":
    sys.exit(demo_run(state=Path(".state"), annotators=6, tasks=40))
