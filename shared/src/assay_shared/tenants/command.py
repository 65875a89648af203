"""The `assay tenant` subcommand: arguments in, one call per verb, its report out (exit 2 on refused input)."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _number(field: str, text: str | None, kind=float):
    from .spec import TenantInputError

    try:
        return kind(text or 0)
    except ValueError:
        raise TenantInputError(field, f"must be a {'whole ' if kind is int else ''}number, got {text!r}") from None


def _run(args: argparse.Namespace, call) -> int:
    from .kube import Kube, KubeError, api_client_load
    from .reconcile import Registry
    from .spec import TenantInputError

    try:
        kube = Kube(api_client_load(kubeconfig=args.kubeconfig, context=args.context))
        registry = Registry(namespace=args.registry_namespace, name=args.registry_name)
        for line in call(kube, registry):
            print(line)
    except TenantInputError as exc:
        print(f"assay tenant: {exc}", file=sys.stderr)
        return 2
    except KubeError as exc:
        print(f"assay tenant: {exc}", file=sys.stderr)
        return 1
    return 0


def _create(args: argparse.Namespace) -> int:
    from .reconcile import tenant_create
    from .spec import spec_check

    def call(kube, registry):
        spec = spec_check(name=args.name, mode=args.mode, cpu=args.cpu, memory=args.memory, pods=args.pods,
                          rate_per_second=_number("rate_per_second", args.rate_per_second),
                          rate_burst=_number("rate_burst", args.rate_burst, int), namespace_prefix=args.namespace_prefix)
        return tenant_create(kube=kube, spec=spec, registry=registry, admin_url=args.admin_url,
                             ingress_namespace=args.ingress_namespace)
    return _run(args, call)


def _list(args: argparse.Namespace) -> int:
    from .reconcile import tenant_list

    def call(kube, registry):
        rows = tenant_list(kube=kube, registry=registry)
        if args.json:
            return [json.dumps([row.__dict__ for row in rows], indent=2)]
        lines = [f"{'NAME':<24} {'MODE':<10} {'STATE':<10} {'QUOTA (cpu/memory/pods)':<24} {'RATE LIMIT':<12} WHERE"]
        for r in rows:
            rate = f"{r.rate_limit['per_second']:g}/s" if r.rate_limit else "default"
            lines.append(f"{r.name:<24} {r.mode:<10} {r.state:<10} {f'{r.cpu}/{r.memory}/{r.pods}':<24} {rate:<12} {r.where}")
        return lines
    return _run(args, call)


def _suspend(args: argparse.Namespace) -> int:
    from .reconcile import tenant_suspend

    return _run(args, lambda kube, registry: tenant_suspend(kube=kube, name=args.name, registry=registry))


def _resume(args: argparse.Namespace) -> int:
    from .reconcile import tenant_resume

    return _run(args, lambda kube, registry: tenant_resume(kube=kube, name=args.name, registry=registry))


def _delete(args: argparse.Namespace) -> int:
    from .reconcile import tenant_delete

    return _run(args, lambda kube, registry: tenant_delete(kube=kube, name=args.name, registry=registry,
                                                           admin_url=args.admin_url, drop_data=args.drop_data))


def parser_add(sub) -> None:
    """Add `tenant create|list|suspend|resume|delete` to the `assay` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: in a pod its ServiceAccount, "
                                                           "else KUBECONFIG or ~/.kube/config)")
    common.add_argument("--context", default=None, help="kubeconfig context")
    common.add_argument("--registry-namespace", default=os.environ.get("ASSAY_TENANT_REGISTRY_NAMESPACE", "assay"),
                        help="namespace of the shared-mode registry ConfigMap (the install's)")
    common.add_argument("--registry-name", default=os.environ.get("ASSAY_TENANT_REGISTRY_NAME", "assay-tenants"),
                        help="name of the shared-mode registry ConfigMap")
    admin = argparse.ArgumentParser(add_help=False)
    admin.add_argument("--admin-url", default=os.environ.get("ADMIN_DATABASE_URL"),
                       help="administrative Postgres URL (default: $ADMIN_DATABASE_URL); namespace mode only")
    tenant = sub.add_parser("tenant", help="provision tenants on Kubernetes (namespace per tenant, or shared)")
    verbs = tenant.add_subparsers(dest="tenant_command", required=True)
    create = verbs.add_parser("create", parents=[common, admin],
                              help="create or bring up to date a tenant's objects (idempotent)")
    create.add_argument("name", help="DNS-1123 label starting with a letter, at most 40 characters")
    create.add_argument("--mode", required=True, help="namespace (its own namespace, databases and release) or shared")
    create.add_argument("--cpu", default="8", help="CPU the tenant's pods may request in total (quantity)")
    create.add_argument("--memory", default="16Gi", help="memory the tenant's pods may request and use (quantity)")
    create.add_argument("--pods", default="60", help="pods the tenant's namespace may hold")
    create.add_argument("--rate-per-second", default="0", help="the tenant's API rate limit (0: the install's default)")
    create.add_argument("--rate-burst", default="0", help="the tenant's burst (0: the rate rounded up)")
    create.add_argument("--namespace-prefix", default="assay-", help="the namespace is <prefix><name>")
    create.add_argument("--ingress-namespace", default="ingress-nginx",
                        help="namespace of the ingress controller allowed to reach the web pods")
    create.set_defaults(fn=_create)
    lst = verbs.add_parser("list", parents=[common], help="every tenant with its mode, state, quota and rate limit")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=_list)
    for verb, fn, text in (("suspend", _suspend, "mark a tenant suspended (namespace mode: no new pod starts)"),
                           ("resume", _resume, "mark a suspended tenant active again")):
        p = verbs.add_parser(verb, parents=[common], help=text)
        p.add_argument("name")
        p.set_defaults(fn=fn)
    delete = verbs.add_parser("delete", parents=[common, admin], help="remove what create made")
    delete.add_argument("name")
    delete.add_argument("--drop-data", action="store_true", help="also drop the tenant's databases and role")
    delete.set_defaults(fn=_delete)


def parser_build() -> argparse.ArgumentParser:
    """`assay tenant ...` on its own (the `assay` command adds the same subcommand)."""
    parser = argparse.ArgumentParser(prog="assay")
    parser_add(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_build().parse_args(argv)
    return args.fn(args)
