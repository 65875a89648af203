"""Reading and writing the tenant's objects with the official Kubernetes client, as plain dicts.

One table maps each kind to the typed API's methods; every call asks for the raw JSON (`_preload_content=False`),
so what is compared is what the API server stored, not the client's model of it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from kubernetes import client, config
from kubernetes.client.rest import ApiException


@dataclass(frozen=True)
class Kind:
    api: str          # "core" or "networking"
    suffix: str       # method name suffix: namespace, namespaced_config_map, ...
    namespaced: bool


KINDS = {
    "Namespace": Kind("core", "namespace", False),
    "ResourceQuota": Kind("core", "namespaced_resource_quota", True),
    "LimitRange": Kind("core", "namespaced_limit_range", True),
    "Secret": Kind("core", "namespaced_secret", True),
    "ConfigMap": Kind("core", "namespaced_config_map", True),
    "NetworkPolicy": Kind("networking", "namespaced_network_policy", True),
}


class KubeError(RuntimeError):
    """The API server refused a request; the message names the object and the server's reason."""


def api_client_load(*, kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """In a pod, the pod's ServiceAccount; elsewhere the kubeconfig (KUBECONFIG, ~/.kube/config)."""
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
        return client.ApiClient()
    conf = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=conf)
    return client.ApiClient(conf)


class Kube:
    def __init__(self, api_client: client.ApiClient):
        self._apis = {"core": client.CoreV1Api(api_client), "networking": client.NetworkingV1Api(api_client)}

    def _call(self, verb: str, kind: str, *args, **kwargs):
        spec = KINDS[kind]
        method = getattr(self._apis[spec.api], f"{verb}_{spec.suffix}")
        response = method(*args, _preload_content=False, **kwargs)
        return json.loads(response.data or b"null")

    @staticmethod
    def _where(kind: str, name: str, namespace: str | None) -> str:
        return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"

    def _failed(self, exc: ApiException, verb: str, kind: str, name: str, namespace: str | None) -> KubeError:
        try:
            reason = json.loads(exc.body).get("message") or exc.reason
        except (TypeError, ValueError, AttributeError):
            reason = exc.reason
        return KubeError(f"{verb} {self._where(kind, name, namespace)}: {exc.status} {reason}")

    def read(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        args = (name, namespace) if KINDS[kind].namespaced else (name,)
        try:
            return self._call("read", kind, *args)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._failed(exc, "read", kind, name, namespace) from None

    def list(self, kind: str, *, namespace: str | None = None, label_selector: str = "") -> list[dict]:
        args = (namespace,) if KINDS[kind].namespaced else ()
        try:
            return self._call("list", kind, *args, label_selector=label_selector)["items"]
        except ApiException as exc:
            raise self._failed(exc, "list", kind, "", namespace) from None

    def create(self, body: dict) -> dict:
        kind, meta = body["kind"], body["metadata"]
        args = (meta["namespace"], body) if KINDS[kind].namespaced else (body,)
        try:
            return self._call("create", kind, *args)
        except ApiException as exc:
            raise self._failed(exc, "create", kind, meta["name"], meta.get("namespace")) from None

    def replace(self, body: dict) -> dict:
        kind, meta = body["kind"], body["metadata"]
        args = (meta["name"], meta["namespace"], body) if KINDS[kind].namespaced else (meta["name"], body)
        try:
            return self._call("replace", kind, *args)
        except ApiException as exc:
            raise self._failed(exc, "replace", kind, meta["name"], meta.get("namespace")) from None

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """True if deleted, False if it was not there."""
        args = (name, namespace) if KINDS[kind].namespaced else (name,)
        try:
            self._call("delete", kind, *args)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise self._failed(exc, "delete", kind, name, namespace) from None
        return True
