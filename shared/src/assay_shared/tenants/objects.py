"""The Kubernetes objects of a tenant, as plain dicts (validated strictly by the deploy tests, ADR 0068).

Namespace mode: the Namespace, its ResourceQuota and LimitRange, NetworkPolicies (deny by default, then what
the chart's processes need), the signing-key and database Secrets (made once, never rewritten) and the
release values ConfigMap the chart install consumes. Shared mode: one entry in the registry ConfigMap.
"""
from __future__ import annotations

import json

import yaml

from .spec import TenantSpec

MANAGED_BY = "assay-tenant"
TENANT_LABEL = "assay.io/tenant"
STATE_LABEL = "assay.io/tenant-state"
SPEC_ANNOTATION = "assay.io/tenant-spec"
SIGNING_SECRET = "tenant-signing-key"
DATABASE_SECRET = "tenant-database"
VALUES_CONFIGMAP = "tenant-release-values"
QUOTA = "tenant-quota"
LIMITS = "tenant-limits"
RATE_LIMIT_KEY = "RATE_LIMIT_TENANTS"
# Webhook delivery may reach public addresses only (the chart's networkPolicy.egress.privateCidrs, ADR 0083).
PRIVATE_V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
              "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4"]
PRIVATE_V6 = ["::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "::ffff:0:0/96"]
SERVER_PORTS = {"postgres": 5432, "broker": 5672, "redis": 6379}


def labels_of(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/part-of": "assay", TENANT_LABEL: name}


def _meta(spec: TenantSpec, name: str) -> dict:
    return {"name": name, "namespace": spec.namespace, "labels": labels_of(spec.name)}


def spec_annotation(spec: TenantSpec) -> str:
    return json.dumps({"mode": spec.mode, "cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods,
                       "rate_limit": spec.rate_limit()}, sort_keys=True)


def namespace_build(spec: TenantSpec, *, state: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": spec.namespace,
        "labels": {**labels_of(spec.name), STATE_LABEL: state,
                   # every pod of the chart runs as the restricted profile asks (docs/deploy.md)
                   "pod-security.kubernetes.io/enforce": "restricted"},
        "annotations": {SPEC_ANNOTATION: spec_annotation(spec)}}}


def quota_build(spec: TenantSpec, *, state: str) -> dict:
    # A suspended tenant keeps its running pods, but no new pod starts in its namespace.
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(spec, QUOTA), "spec": {"hard": {
        "requests.cpu": spec.cpu, "requests.memory": spec.memory, "limits.memory": spec.memory,
        "pods": "0" if state == "suspended" else spec.pods}}}


def limits_build(spec: TenantSpec) -> dict:
    # Defaults for a container that states no resources (the chart's all do).
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(spec, LIMITS), "spec": {"limits": [
        {"type": "Container", "default": {"memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "256Mi"}}]}}


def _policy(spec: TenantSpec, name: str, *, selector: dict, types: list[str], ingress=None, egress=None) -> dict:
    body: dict = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        body["ingress"] = ingress
    if egress is not None:
        body["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(spec, name), "spec": body}


def network_policies_build(spec: TenantSpec, *, ingress_namespace: str) -> list[dict]:
    same_namespace = [{"podSelector": {}}]
    return [
        _policy(spec, "tenant-default-deny", selector={}, types=["Ingress", "Egress"]),
        # the services' APIs to each other and `helm test`
        _policy(spec, "tenant-same-namespace", selector={}, types=["Ingress", "Egress"],
                ingress=[{"from": same_namespace}], egress=[{"to": same_namespace}]),
        _policy(spec, "tenant-dns", selector={}, types=["Egress"], egress=[{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]),
        _policy(spec, "tenant-servers", selector={}, types=["Egress"], egress=[{
            "ports": [{"port": port, "protocol": "TCP"} for port in SERVER_PORTS.values()]}]),
        _policy(spec, "tenant-web-from-ingress", selector={"matchLabels": {"assay/process": "web"}},
                types=["Ingress"], ingress=[{
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ingress_namespace}}}],
                    "ports": [{"port": 8000, "protocol": "TCP"}]}]),
        _policy(spec, "tenant-webhooks-public", selector={"matchLabels": {"assay/service": "webhooks"}},
                types=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_V4}},
                                                  {"ipBlock": {"cidr": "::/0", "except": PRIVATE_V6}}]}]),
    ]


def signing_secret_build(spec: TenantSpec, *, kid: str, private_pem: str, public_pem: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, SIGNING_SECRET), "type": "Opaque",
            "stringData": {"JWT_KEY_ID": kid, "JWT_PRIVATE_KEY": private_pem,
                           "JWT_PUBLIC_KEYS": json.dumps({kid: public_pem})}}


def database_secret_build(spec: TenantSpec, *, password: str, urls: dict[str, str]) -> dict:
    data = {"DB_APP_ROLE": spec.app_role, "DB_APP_PASSWORD": password}
    data.update({f"{svc.upper()}_DATABASE_URL": url for svc, url in urls.items()})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, DATABASE_SECRET), "type": "Opaque",
            "stringData": data}


def release_values(spec: TenantSpec) -> dict:
    """What `helm install <release> charts/assay -n <namespace>` takes for this tenant, besides the common values."""
    shared: dict = {
        "busPrefix": spec.name,
        "postgres": {"databasePrefix": spec.database_prefix, "appRole": spec.app_role},
        "jwt": {"existingSecret": SIGNING_SECRET, "key": "JWT_PUBLIC_KEYS"},
    }
    if spec.rate_limit():
        shared["rateLimit"] = {"tenants": {spec.name: spec.rate_limit()}}
    # No chart networkPolicy: its web policy with no webFrom admits any source, and policies add up; the
    # namespace's own policies (above) already say who may talk to whom.
    return {"shared": shared}


def values_configmap_build(spec: TenantSpec) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec, VALUES_CONFIGMAP), "data": {
        "release": spec.release, "namespace": spec.namespace,
        "values.yaml": yaml.safe_dump(release_values(spec), sort_keys=True)}}


def registry_entry(spec: TenantSpec, *, state: str) -> dict:
    return {"mode": "shared", "state": state, "quota": {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods},
            "rate_limit": spec.rate_limit()}


def registry_data(entries: dict[str, dict]) -> dict[str, str]:
    """The registry ConfigMap's data: one key per tenant and RATE_LIMIT_TENANTS, read by the services."""
    data = {f"{name}.json": json.dumps(entry, sort_keys=True) for name, entry in sorted(entries.items())}
    data[RATE_LIMIT_KEY] = json.dumps({name: e["rate_limit"] for name, e in sorted(entries.items())
                                       if e.get("rate_limit")}, sort_keys=True)
    return data


def registry_entries(data: dict[str, str] | None) -> dict[str, dict]:
    return {key[:-len(".json")]: json.loads(value) for key, value in (data or {}).items() if key.endswith(".json")}


def registry_build(*, name: str, namespace: str, entries: dict[str, dict]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/part-of": "assay"}},
        "data": registry_data(entries)}
