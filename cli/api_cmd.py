"""`cin api`: run the HTTP API; `cin api key create|list|revoke`: its clients' keys;
`cin audit --case REF`: who read or wrote a case, and when."""

from __future__ import annotations

import argparse

from cli.common import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = subparsers.add_parser(
        "api", help="run the HTTP API for recording systems (docs/http-api.md); manage its keys"
    )
    api.add_argument("--host", help="address to listen on (default CIN_API_HOST, 127.0.0.1)")
    api.add_argument("--port", type=int, help="port (default CIN_API_PORT, 8421)")
    api.add_argument(
        "--workers",
        type=int,
        help="uvicorn worker processes (default CIN_API_WORKERS, 1); each allows 1/N of the "
        "rate limit per key",
    )
    api.set_defaults(func=run_api)
    commands = api.add_subparsers(dest="api_command")
    key = commands.add_parser("key", help="API keys: create, list, revoke")
    keys = key.add_subparsers(dest="key_command", required=True)

    create = keys.add_parser("create", help="a new key, printed once (only its hash is kept)")
    create.add_argument("--authority", required=True, metavar="SLUG")
    create.add_argument("--name", required=True, help="the recording system, e.g. mosaic-live")
    create.add_argument("--scope", required=True, choices=("record", "read"))
    create.set_defaults(func=run_key_create)

    listing = keys.add_parser("list", help="every key: id, authority, name, scope, revoked")
    listing.add_argument("--authority", metavar="SLUG")
    listing.set_defaults(func=run_key_list)

    revoke = keys.add_parser("revoke", help="revoke a key: refused from the next request on")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the id `cin api key list` shows")
    revoke.set_defaults(func=run_key_revoke)

    audit = subparsers.add_parser(
        "audit", help="who read or wrote a case or a child's record (API, CLI, exports), when"
    )
    about = audit.add_mutually_exclusive_group(required=True)
    about.add_argument("--case", metavar="CASE")
    about.add_argument(
        "--child", metavar="CHILD_REF", help="every access to the child's record and cases"
    )
    audit.add_argument("--authority", metavar="SLUG", help="with --child: the child's council")
    audit.set_defaults(func=run_audit)


def run_api(args: argparse.Namespace) -> int:
    if args.port is not None and not 1 <= args.port <= 65535:
        raise CliError(f"--port: expected 1 to 65535; got {args.port}")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise CliError(f"--workers: expected 1 to 64; got {args.workers}")
    from api.server import run

    run(host=args.host, port=args.port, workers=args.workers)
    return 0


def run_key_create(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.access.keys import create_key
    from models.cases.store import sync_authorities
    from models.runtime import case_engine, policies

    policies().authority(args.authority)  # an unknown authority is refused by name
    engine = case_engine()
    with Session(engine) as session:
        sync_authorities(session, policies=policies())
    client, key = create_key(engine, authority=args.authority, name=args.name, scope=args.scope)
    print(f"key {client.key_id} for {client.name} at {client.authority} (scope {client.scope})")
    print("the key is shown once, here; only its hash is stored:")
    print(key)
    return 0


def run_key_list(args: argparse.Namespace) -> int:
    from models.access.keys import list_keys
    from models.runtime import case_engine

    rows = list_keys(case_engine(), authority=args.authority)
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        created = f"{row.created_at:%Y-%m-%d}"
        print(f"{row.key_id}  {row.authority:20} {row.scope:6} {revoked:24} {created}  {row.name}")
    print(f"{len(rows)} key(s)")
    return 0


def run_key_revoke(args: argparse.Namespace) -> int:
    from models.access.keys import revoke_key
    from models.runtime import case_engine

    if revoke_key(case_engine(), key_id=args.key_id):
        print(f"key {args.key_id} revoked: refused from its next request")
    else:
        print(f"key {args.key_id} was already revoked; nothing changed")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from models.access.audit import audit_for_case, audit_for_child
    from models.runtime import case_engine

    if args.case is not None:
        if args.authority is not None:
            raise CliError("--authority: expected only with --child (a case names its council)")
        rows = audit_for_case(case_engine(), args.case)
        about = args.case
    else:
        rows = audit_for_child(case_engine(), args.child, args.authority)
        about = "the child's record"  # the child's reference is not echoed
    for row in rows:
        case = f" {row.case_ref}" if args.case is None and row.case_ref else ""
        print(
            f"{row.at:%Y-%m-%dT%H:%M:%S}Z  {row.actor_kind:3} {row.actor:40} "
            f"{row.action + case:34} {row.outcome}"
        )
    print(f"{len(rows)} access(es) to {about}")
    return 0
