"""The `assay` command: run the local stack, the demo, mint tokens, bootstrap databases, provision tenants."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from assay_shared.tenants.command import parser_add as tenant_parser_add

DEFAULT_STATE = Path(os.environ.get("ASSAY_STATE_DIR", ".state"))


def _cmd_up(args: argparse.Namespace) -> int:
    from assay_shared.stack.supervise import up

    return up(state=args.state.resolve())


def _cmd_down(args: argparse.Namespace) -> int:
    from assay_shared.stack.supervise import down

    return down(state=args.state.resolve())


def _cmd_status(args: argparse.Namespace) -> int:
    from assay_shared.stack.supervise import status_show

    return status_show(state=args.state.resolve())


def _cmd_supervise(args: argparse.Namespace) -> int:
    from assay_shared.stack.supervise import supervise

    return supervise(state=args.state.resolve())


def _cmd_demo(args: argparse.Namespace) -> int:
    from assay_shared.demo.run import demo_run

    return demo_run(state=args.state.resolve(), annotators=args.annotators, tasks=args.tasks)


def _cmd_token(args: argparse.Namespace) -> int:
    from assay_shared.auth.tokens import token_mint
    from assay_shared.stack.system import keys_load_or_create

    if os.environ.get("JWT_PRIVATE_KEY"):
        private_pem, kid = os.environ["JWT_PRIVATE_KEY"], os.environ.get("JWT_KEY_ID", "")
        if not kid:
            print("JWT_KEY_ID: is missing (needed with JWT_PRIVATE_KEY)", file=sys.stderr)
            return 2
    else:
        pair = keys_load_or_create(args.state.resolve())
        private_pem, kid = pair.private_pem, pair.kid
    try:
        print(token_mint(private_pem=private_pem, kid=kid, tenant=args.tenant, subject=args.subject,
                         roles=args.roles.split(","), ttl_seconds=args.ttl))
    except ValueError as exc:
        print(f"assay token: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    from assay_shared.auth.tokens import keypair_generate

    pair = keypair_generate(kid=args.kid)
    print(json.dumps({"kid": pair.kid, "private_pem": pair.private_pem, "public_keys": {pair.kid: pair.public_pem}},
                     indent=2))
    return 0


def _cmd_db_bootstrap(args: argparse.Namespace) -> int:
    from assay_shared.db.bootstrap import database_bootstrap

    database_bootstrap(admin_url=args.admin_url, database=args.database, app_role=args.app_role,
                       app_password=os.environ.get("DB_APP_PASSWORD") or None)
    print(f"database {args.database} and role {args.app_role} are ready")
    return 0


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    from assay_shared.events.asyncapi import asyncapi_render

    sys.stdout.write(asyncapi_render(fmt=args.format))
    return 0


def parser_build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assay", description=__doc__)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="local state folder (default .state)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start every service in the background, supervised (a crashed process is restarted "
                              "on its own, on its port: ASSAY_PORT_<SERVICE>)").set_defaults(fn=_cmd_up)
    sub.add_parser("down", help="stop what `up` started, every process with its children (also what a supervisor "
                                "that died left behind)").set_defaults(fn=_cmd_down)
    sub.add_parser("status", help="show the running stack: services, and each process's pid, state and restarts"
                   ).set_defaults(fn=_cmd_status)
    sub.add_parser("supervise", help="run and supervise the stack in the foreground (used by `up`)"
                   ).set_defaults(fn=_cmd_supervise)
    demo = sub.add_parser("demo", help="bring the system up, run simulated annotators, print what each service did")
    demo.add_argument("--annotators", type=int, default=6)
    demo.add_argument("--tasks", type=int, default=40)
    demo.set_defaults(fn=_cmd_demo)
    token = sub.add_parser("token", help="mint a token (JWT_PRIVATE_KEY/JWT_KEY_ID, else the local stack's key)")
    token.add_argument("--tenant", required=True)
    token.add_argument("--subject", required=True)
    token.add_argument("--roles", required=True, help="comma-separated: admin,qa_lead,reviewer,expert,annotator,service")
    token.add_argument("--ttl", type=int, default=3600)
    token.set_defaults(fn=_cmd_token)
    keys = sub.add_parser("keys", help="generate an Ed25519 signing key pair (JSON)")
    keys.add_argument("--kid", required=True)
    keys.set_defaults(fn=_cmd_keys)
    db = sub.add_parser("db", help="database administration").add_subparsers(dest="db_command", required=True)
    boot = db.add_parser("bootstrap", help="create a service database and the application role (idempotent)")
    boot.add_argument("--admin-url", required=True)
    boot.add_argument("--database", required=True)
    boot.add_argument("--app-role", default="assay_app")
    boot.set_defaults(fn=_cmd_db_bootstrap)
    tenant_parser_add(sub)
    asyncapi = sub.add_parser("asyncapi", help="print the AsyncAPI 3.0 document of the events and of /ws/work "
                                               "(docs/asyncapi.yaml)")
    asyncapi.add_argument("--format", choices=("yaml", "json"), default="yaml")
    asyncapi.set_defaults(fn=_cmd_asyncapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_build().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
