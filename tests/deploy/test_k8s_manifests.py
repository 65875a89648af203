"""The plain manifests in k8s/: parsed with PyYAML alone, no Helm or cluster needed."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import K8S, PROCESSES_OF, REQUIRED_ENV, SERVICES, containers, env_of, load_base

OVERLAY = K8S / "overlays" / "example"


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return load_base()


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_kustomization_lists_every_file():
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    files = sorted(p.name for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml")
    assert kustomization["resources"] == files == sorted([f"{s}.yaml" for s in SERVICES] + ["console.yaml"])


def test_kinds_and_names(base):
    by_kind: dict[str, set[str]] = {}
    for obj in base:
        by_kind.setdefault(obj["kind"], set()).add(obj["metadata"]["name"])
    assert by_kind == {
        "Deployment": {f"assay-{s}-{p}" for s in SERVICES for p in PROCESSES_OF[s]} | {"assay-console-web"},
        "Service": {f"assay-{s}" for s in SERVICES} | {f"assay-{s}-worker-metrics" for s in SERVICES}
        | {f"assay-{s}-celery-metrics" for s in SERVICES if "celery" in PROCESSES_OF[s]} | {"assay-console"},
        "PodDisruptionBudget": {f"assay-{s}-{p}" for s in SERVICES for p in ("web", "worker")} | {"assay-console-web"},
        "Job": {f"assay-{s}-migrate" for s in SERVICES},
    }


def test_no_helm_leftovers(base):
    text = "".join(p.read_text() for p in (K8S / "base").glob("*.yaml"))
    assert "helm.sh/" not in text and "{{" not in text and "managed-by: Helm" not in text


def test_selectors_match_pod_labels(base):
    pods = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in base if o["kind"] == "Deployment"}
    for obj in base:
        if obj["kind"] == "Deployment":
            assert obj["spec"]["selector"]["matchLabels"].items() <= pods[obj["metadata"]["name"]].items()
        selector = {"Service": lambda o: o["spec"]["selector"],
                    "PodDisruptionBudget": lambda o: o["spec"]["selector"]["matchLabels"]}.get(obj["kind"])
        if selector:
            chosen = [n for n, labels in pods.items() if selector(obj).items() <= labels.items()]
            assert len(chosen) == 1, obj["metadata"]["name"]


def test_every_process_has_env_probes_and_security(base):
    for obj in (o for o in base if o["kind"] == "Deployment"):
        svc = obj["metadata"]["labels"]["assay/service"]
        if svc == "console":
            continue  # no database, broker or migrations: tests/deploy/test_console_chart.py
        spec = obj["spec"]["template"]["spec"]
        (main,) = spec["containers"]
        assert set(REQUIRED_ENV) <= set(env_of(main)), obj["metadata"]["name"]
        assert env_of(main)["DJANGO_SETTINGS_MODULE"]["value"] == f"assay_{svc}.settings"
        assert "livenessProbe" in main and "startupProbe" in main
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in containers(spec):
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["resources"]["limits"]["memory"]
        # without Helm hooks, pods wait until their service's migrations are applied
        assert [c["name"] for c in spec["initContainers"]] == ["wait-for-migrations"]


def test_jobs_are_plain_and_bootstrap_then_migrate(base):
    for job in (o for o in base if o["kind"] == "Job"):
        assert "annotations" not in job["metadata"]
        spec = job["spec"]["template"]["spec"]
        assert [c["name"] for c in spec["initContainers"]] == ["bootstrap"]
        assert [c["name"] for c in spec["containers"]] == ["migrate"]


def test_references_name_the_three_configuration_objects_and_their_keys(base):
    runtime = set(_env_file(OVERLAY / "config" / "runtime.env"))
    migration = set(_env_file(OVERLAY / "config" / "migration.env"))
    console = set(_env_file(OVERLAY / "config" / "console.env")) | {"JWT_PRIVATE_KEY"}  # the key from its .pem file
    provided = {"assay-runtime": runtime, "assay-migration": migration, "assay-jwt": {"JWT_PUBLIC_KEYS"},
                "assay-console": console, "assay-oidc": set(_env_file(OVERLAY / "config" / "oidc.env"))}
    used: dict[str, set[str]] = {name: set() for name in provided}
    for obj in base:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for c in containers(obj["spec"]["template"]["spec"]):
            for e in c["env"]:
                for ref in e.get("valueFrom", {}).values():
                    used[ref["name"]].add(ref["key"])
    # every key the manifests read is in the example overlay's files, and nothing more is there
    assert used == provided


def test_example_jwt_keys_are_a_json_object_of_pem_keys():
    keys = json.loads((OVERLAY / "config" / "jwt-public-keys.json").read_text())
    assert keys and all("BEGIN PUBLIC KEY" in pem for pem in keys.values())
    # the console signs under a key id the services accept
    assert _env_file(OVERLAY / "config" / "console.env")["JWT_KEY_ID"] in keys
    assert "BEGIN PRIVATE KEY" in (OVERLAY / "config" / "console-jwt-private-key.pem").read_text()


def test_example_overlay_builds_with_kustomize():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed: `kubectl kustomize` cannot build the overlay here")
    done = subprocess.run([kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    objects = [d for d in yaml.safe_load_all(done.stdout) if d]
    generated = {o["metadata"]["name"] for o in objects if o["kind"] in ("Secret", "ConfigMap")}
    assert all(o["metadata"].get("namespace") == "assay" for o in objects if o["kind"] != "Namespace")
    for obj in (o for o in objects if o["kind"] in ("Deployment", "Job")):
        for c in containers(obj["spec"]["template"]["spec"]):
            assert c["image"] == "registry.example.com/assay:0.1.0"
            for e in c["env"]:
                for ref in e.get("valueFrom", {}).values():
                    assert ref["name"] in generated, (obj["metadata"]["name"], ref["name"])
    web = next(o for o in objects if o["metadata"]["name"] == "assay-assignment-web")
    assert web["spec"]["replicas"] == 3
