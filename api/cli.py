"""`congdanso`: the one entry point for operators."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import SQLModel

from api.container import Container, build_container
from api.logging import configure_logging
from api.settings import Settings
from identity.accounts import AccountService
from identity.errors import IdentityError
from storage.db import create_db_engine, transaction
from storage.migrate import Chain, upgrade


def _models_metadata() -> Any:
    # Import every table so Alembic can compare the models with the migrations.
    import identity.models  # noqa: F401
    import wallet.models  # noqa: F401

    return SQLModel.metadata


def migrate(settings: Settings) -> None:
    """Upgrade the three migration chains, each in its own database (or one shared database)."""
    targets: list[tuple[Chain, str]] = [
        ("main", settings.resolved_database_url),
        ("throttle", settings.resolved_throttle_url),
        ("keystore", settings.resolved_keystore_url),
    ]
    for chain, url in targets:
        engine = create_db_engine(url, pool_size=1)
        try:
            upgrade(engine, chain=chain, metadata=_models_metadata() if chain == "main" else None)
        finally:
            engine.dispose()


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    migrate(settings)
    build_container(settings).engine.dispose()  # fail fast (keys, prod checks) before forking workers
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate(settings)
    print("database at head")
    return 0


def _with_accounts(settings: Settings, action: Callable[[AccountService], Any]) -> Any:
    container: Container = build_container(settings)
    try:
        with transaction(container.engine) as session:
            return action(AccountService(session, container.identity))
    finally:
        container.engine.dispose()


def _agency_create(settings: Settings, args: argparse.Namespace) -> int:
    scopes = [s for chunk in args.scopes for s in chunk.replace(",", " ").split()]
    creds = _with_accounts(settings, lambda accounts: accounts.create_agency(args.code, args.name, scopes))
    _emit(args, creds.model_dump(), f"client_id: {creds.client_id}\nclient_secret: {creds.client_secret} (shown once)")
    return 0


def _officer_create(settings: Settings, args: argparse.Namespace) -> int:
    officer = _with_accounts(
        settings,
        lambda accounts: accounts.create_officer(
            phone=args.phone, name=args.name, agency_code=args.agency, pin=args.pin
        ),
    )
    _emit(args, officer.model_dump(), f"officer {officer.id} created for {officer.agency['code']}")
    return 0


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="congdanso", description="Công Dân Số citizen data wallet")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run migrations and start the HTTP service").set_defaults(run=_serve)
    commands.add_parser("migrate", help="bring the database schema to the latest revision").set_defaults(run=_migrate)
    agency = commands.add_parser("agency", help="agencies (OAuth clients)").add_subparsers(dest="sub", required=True)
    create = agency.add_parser("create", help="create an agency; its secret is shown once")
    create.add_argument("--code", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", nargs="*", default=[], help="e.g. documents:issue consent:request")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=_agency_create)
    officer = commands.add_parser("officer", help="one-stop officers").add_subparsers(dest="sub", required=True)
    ocreate = officer.add_parser("create", help="create an officer who logs in by phone + PIN + OTP")
    ocreate.add_argument("--phone", required=True)
    ocreate.add_argument("--name", required=True)
    ocreate.add_argument("--agency", required=True)
    ocreate.add_argument("--pin", required=True)
    ocreate.add_argument("--json", action="store_true")
    ocreate.set_defaults(run=_officer_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if args.command not in {"serve", "migrate"}:
        migrate(settings)
    try:
        code: int = args.run(settings, args)
    except IdentityError as exc:
        print(f"error: {exc.code}: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
