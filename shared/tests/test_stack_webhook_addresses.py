"""`assay up` does not open webhook delivery to private addresses; only the demo and the benchmark, whose
receivers listen on 127.0.0.1, ask for it."""
from pathlib import Path

from assay_shared.auth.tokens import keypair_generate
from assay_shared.stack.servers import Servers
from assay_shared.stack.system import System

SERVERS = Servers(database_admin_url="postgresql://postgres@127.0.0.1:5432/postgres",
                  broker_url="amqp://guest:guest@127.0.0.1:5672//", redis_url="redis://127.0.0.1:6379/0")


def test_a_stack_gives_no_service_private_webhook_addresses(tmp_path, monkeypatch):
    monkeypatch.delenv("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", raising=False)
    system = System(state=tmp_path, servers=SERVERS, keys=keypair_generate(kid="t"))
    for service in ("assignment", "scoring", "review", "metrics", "webhooks"):
        assert "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES" not in system.service_env(service)


def test_the_demo_and_the_benchmark_ask_for_it_explicitly(tmp_path):
    from assay_shared.bench.system.stack import BenchSystem

    bench = BenchSystem.for_run(run_id="x", state=tmp_path, servers=SERVERS)
    assert bench.service_env("webhooks")["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"] == "1"
    demo = (Path(__file__).parents[1] / "src" / "assay_shared" / "demo" / "run.py").read_text()
    assert '"WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1"' in demo
