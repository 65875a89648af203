"""`assay tenant create|list|suspend|resume|delete`: each reconciles the tenant's objects (ADR 0068).

Every object is read first and written only if it is missing or differs from what is wanted, so a second
`create` reports each object `unchanged` and issues no write. Secrets are made once and never rewritten (a new
signing key or password would lock the tenant out); their contents are never printed.
"""
from __future__ import annotations

import base64
import copy
import json
import secrets
import time
from dataclasses import dataclass

from kubernetes.utils import parse_quantity

from assay_shared.auth.tokens import keypair_generate
from assay_shared.db.bootstrap import url_with

from . import objects as o
from .kube import Kube
from .postgres import admin_check, tenant_databases_drop, tenant_databases_ensure, tenant_databases_present
from .spec import SERVICES, Change, TenantInputError, TenantSpec, name_check, spec_check


@dataclass(frozen=True)
class Registry:
    """Where shared-mode tenants are registered: a ConfigMap in the install's namespace."""
    namespace: str = "assay"
    name: str = "assay-tenants"


@dataclass(frozen=True)
class TenantRow:
    name: str
    mode: str
    state: str
    where: str
    cpu: str
    memory: str
    pods: str
    rate_limit: dict | None


def _same(have, want) -> bool:
    """`want` is contained in `have`: every key of `want` equal (quantities by value, lists item by item)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_same(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(map(_same, have, want))
    if isinstance(want, str) and isinstance(have, str) and want != have and want[:1].isdigit():
        try:
            return parse_quantity(want) == parse_quantity(have)
        except ValueError:
            return False
    return have == want


def _apply(kube: Kube, desired: dict) -> Change:
    kind, meta = desired["kind"], desired["metadata"]
    what = f"{kind}/{meta['namespace']}/{meta['name']}" if meta.get("namespace") else f"{kind}/{meta['name']}"
    have = kube.read(kind, meta["name"], meta.get("namespace"))
    if have is None:
        kube.create(desired)
        return Change("created", what)
    want = {k: v for k, v in desired.items() if k not in ("metadata", "stringData")}
    want_meta = {k: meta[k] for k in ("labels", "annotations") if k in meta}
    missing_keys = sorted(set(desired.get("stringData", {})) - set(have.get("data") or {}))
    if _same(have, want) and _same(have["metadata"], want_meta) and not missing_keys:
        return Change("unchanged", what)
    body = copy.deepcopy(have)
    body.update(copy.deepcopy(want))
    for key, values in want_meta.items():
        body["metadata"][key] = {**(body["metadata"].get(key) or {}), **values}
    if missing_keys:  # only keys a Secret lacks; the ones it has are kept
        body["stringData"] = {k: desired["stringData"][k] for k in missing_keys}
    kube.replace(body)
    return Change("updated", what)


def _namespace_tenant(kube: Kube, name: str) -> dict | None:
    found = [ns for ns in kube.list("Namespace", label_selector=f"{o.TENANT_LABEL}={name}")
             if (ns["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == o.MANAGED_BY]
    return found[0] if found else None


def _spec_of(namespace: dict) -> tuple[TenantSpec, str]:
    labels, meta = namespace["metadata"]["labels"], namespace["metadata"]
    saved = json.loads((meta.get("annotations") or {}).get(o.SPEC_ANNOTATION) or "{}")
    name = labels[o.TENANT_LABEL]
    rate = saved.get("rate_limit") or {}
    spec = spec_check(name=name, mode="namespace", cpu=saved.get("cpu", "8"), memory=saved.get("memory", "16Gi"),
                      pods=saved.get("pods", "60"), rate_per_second=rate.get("per_second", 0.0),
                      rate_burst=rate.get("burst", 0), namespace_prefix=meta["name"][: -len(name)])
    return spec, labels.get(o.STATE_LABEL, "active")


def _registry_read(kube: Kube, registry: Registry) -> dict[str, dict]:
    return o.registry_entries((kube.read("ConfigMap", registry.name, registry.namespace) or {}).get("data"))


def _registry_write(kube: Kube, registry: Registry, entries: dict[str, dict]) -> Change:
    change = _apply(kube, o.registry_build(name=registry.name, namespace=registry.namespace, entries=entries))
    return change


def _secret_value(secret: dict | None, key: str) -> str | None:
    value = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(value).decode() if value else None


def tenant_create(*, kube: Kube, spec: TenantSpec, registry: Registry, admin_url: str | None = None,
                  ingress_namespace: str = "ingress-nginx") -> list[Change]:
    """Create or bring up to date everything the tenant needs; a suspended tenant stays suspended."""
    if spec.mode == "shared":
        if _namespace_tenant(kube, spec.name):
            raise TenantInputError("name", f"{spec.name!r} is already a namespace-mode tenant")
        entries = _registry_read(kube, registry)
        state = entries.get(spec.name, {}).get("state", "active")
        entries[spec.name] = o.registry_entry(spec, state=state)
        change = _registry_write(kube, registry, entries)
        return [Change(change.action, f"{change.what} (tenant {spec.name})")]

    if not admin_url:
        raise TenantInputError("admin_url", "is required in namespace mode (the tenant's databases and role)")
    if spec.name == "assay":
        raise TenantInputError("name", "'assay' is the default install's prefix; choose another name")
    admin_check(admin_url=admin_url)
    if spec.name in _registry_read(kube, registry):
        raise TenantInputError("name", f"{spec.name!r} is already a shared-mode tenant")
    existing = kube.read("Namespace", spec.namespace)
    labels = (existing or {}).get("metadata", {}).get("labels") or {}
    if existing and labels.get(o.TENANT_LABEL) != spec.name:
        raise TenantInputError("name", f"namespace {spec.namespace} exists and is not this tenant's")
    state = labels.get(o.STATE_LABEL, "active")

    changes = [_apply(kube, o.namespace_build(spec, state=state)),
               _apply(kube, o.quota_build(spec, state=state)),
               _apply(kube, o.limits_build(spec))]
    changes += [_apply(kube, policy) for policy in o.network_policies_build(spec, ingress_namespace=ingress_namespace)]

    signing = kube.read("Secret", o.SIGNING_SECRET, spec.namespace)
    if signing is None:
        pair = keypair_generate(kid=f"{spec.name}-{time.strftime('%Y%m%d', time.gmtime())}")
        wanted = o.signing_secret_build(spec, kid=pair.kid, private_pem=pair.private_pem, public_pem=pair.public_pem)
    else:  # made once: only its labels are brought up to date
        wanted = o.signing_secret_build(spec, kid="", private_pem="", public_pem="")
        wanted["stringData"] = {k: "" for k in wanted["stringData"] if k in (signing.get("data") or {})}
    changes.append(_apply(kube, wanted))

    database = kube.read("Secret", o.DATABASE_SECRET, spec.namespace)
    password = _secret_value(database, "DB_APP_PASSWORD")
    password_is_new = password is None
    password = password or secrets.token_urlsafe(24)
    urls = {svc: url_with(admin_url, database=f"{spec.database_prefix}_{svc}", user=spec.app_role, password=password)
            for svc in SERVICES}
    changes.append(_apply(kube, o.database_secret_build(spec, password=password, urls=urls)))
    changes += tenant_databases_ensure(admin_url=admin_url, spec=spec, password=password,
                                       password_is_new=password_is_new)
    changes.append(_apply(kube, o.values_configmap_build(spec)))
    return changes


def tenant_list(*, kube: Kube, registry: Registry) -> list[TenantRow]:
    rows = []
    for ns in kube.list("Namespace", label_selector=o.TENANT_LABEL):
        if (ns["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") != o.MANAGED_BY:
            continue
        spec, state = _spec_of(ns)
        rows.append(TenantRow(spec.name, "namespace", state, f"namespace {spec.namespace}", spec.cpu, spec.memory,
                              spec.pods, spec.rate_limit()))
    for name, entry in _registry_read(kube, registry).items():
        quota = entry.get("quota") or {}
        rows.append(TenantRow(name, "shared", entry.get("state", "active"),
                              f"registry {registry.namespace}/{registry.name}", quota.get("cpu", ""),
                              quota.get("memory", ""), quota.get("pods", ""), entry.get("rate_limit")))
    return sorted(rows, key=lambda r: r.name)


def _state_set(*, kube: Kube, name: str, registry: Registry, state: str) -> list[Change]:
    name_check(name)
    namespace = _namespace_tenant(kube, name)
    if namespace is not None:
        spec, _ = _spec_of(namespace)
        return [_apply(kube, o.namespace_build(spec, state=state)), _apply(kube, o.quota_build(spec, state=state))]
    entries = _registry_read(kube, registry)
    if name not in entries:
        raise TenantInputError("name", f"no tenant named {name!r}")
    entries[name] = {**entries[name], "state": state}
    change = _registry_write(kube, registry, entries)
    return [Change(change.action, f"{change.what} (tenant {name})")]


def tenant_suspend(*, kube: Kube, name: str, registry: Registry) -> list[Change]:
    """Mark the tenant suspended; in namespace mode its quota then admits no new pod."""
    return _state_set(kube=kube, name=name, registry=registry, state="suspended")


def tenant_resume(*, kube: Kube, name: str, registry: Registry) -> list[Change]:
    return _state_set(kube=kube, name=name, registry=registry, state="active")


def tenant_delete(*, kube: Kube, name: str, registry: Registry, admin_url: str | None = None,
                  drop_data: bool = False) -> list[Change]:
    """Remove what `create` made; the databases and role only with `drop_data`."""
    name_check(name)
    if drop_data and not admin_url:
        raise TenantInputError("admin_url", "is required with --drop-data")
    if admin_url:
        admin_check(admin_url=admin_url)
    namespace = _namespace_tenant(kube, name)
    if namespace is not None:
        spec, _ = _spec_of(namespace)
        kube.delete("Namespace", spec.namespace)
        changes = [Change("deleted", f"Namespace/{spec.namespace} (and every object in it)")]
        if drop_data:
            return changes + tenant_databases_drop(admin_url=admin_url, spec=spec)
        kept = tenant_databases_present(admin_url=admin_url, spec=spec) if admin_url else spec.databases
        return changes + [Change("kept", f"{what} (--drop-data removes it)") for what in kept]
    entries = _registry_read(kube, registry)
    if name not in entries:
        raise TenantInputError("name", f"no tenant named {name!r}")
    del entries[name]
    change = _registry_write(kube, registry, entries)
    return [Change("deleted" if change.action == "updated" else change.action, f"{change.what} (tenant {name})")]
