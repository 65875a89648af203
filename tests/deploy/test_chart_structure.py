"""The chart's files without rendering: values exist where templates read them."""
from __future__ import annotations

import re

import pytest
import yaml

from .conftest import CHART, PROCESSES, ROOT, SERVICES

TEMPLATES = sorted(p for p in (CHART / "templates").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _has_path(tree: dict, path: list[str]) -> bool:
    node = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _leaf_paths(tree: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in ("resources", "podSecurityContext", "securityContext"):
            paths.extend(_leaf_paths(value, path + "."))
        else:
            paths.append(path)
    return paths


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["name"], chart["type"]) == ("v2", "assay", "application")
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"]) and chart["appVersion"]


def test_values_name_the_five_services_and_four_processes(values):
    assert sorted(values["services"]) == sorted(SERVICES)
    assert all(values["services"][s]["enabled"] is True for s in SERVICES)
    assert set(PROCESSES) <= set(values["defaults"])
    assert values["migrations"]["mode"] == "hook"


def test_every_values_reference_in_templates_exists(values):
    missing = []
    for path in TEMPLATES:
        for ref in re.findall(r"\.Values((?:\.[A-Za-z_]\w*)+)", path.read_text()):
            if not _has_path(values, ref.strip(".").split(".")):
                missing.append(f"{path.name}: .Values{ref}")
    assert missing == []


def test_every_service_setting_read_by_templates_has_a_default(values):
    # $cfg / .cfg is `defaults` merged with services.<svc>; $p is one process of it
    missing = []
    for path in TEMPLATES:
        text = path.read_text()
        for ref in re.findall(r"(?:\$cfg|\.cfg)((?:\.[A-Za-z_]\w*)+)", text):
            if not _has_path(values["defaults"], ref.strip(".").split(".")):
                missing.append(f"{path.name}: cfg{ref}")
        for ref in re.findall(r"\$p((?:\.[A-Za-z_]\w*)+)", text):
            parts = ref.strip(".").split(".")
            if not any(_has_path(values["defaults"][proc], parts) for proc in PROCESSES):
                missing.append(f"{path.name}: $p{ref}")
    assert missing == []


def test_every_template_include_is_defined():
    text = "".join(p.read_text() for p in TEMPLATES)
    defined = set(re.findall(r'define "([^"]+)"', text))
    used = set(re.findall(r'include "([^"]+)"', text))
    assert used - defined == set()
    assert defined - used == set()


def test_template_delimiters_balance():
    for path in TEMPLATES:
        text = path.read_text()
        assert text.count("{{") == text.count("}}"), path.name


def test_docs_describe_every_value(values):
    doc = (ROOT / "docs" / "deploy.md").read_text()
    undocumented = [p for p in _leaf_paths(values) if f"`{p}`" not in doc]
    assert undocumented == []
