"""`congdanso`: the one entry point for operators."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from api.cli_audit import add_audit_arguments
from api.cli_backup import add_backup_arguments
from api.cli_jobs import add_jobs_arguments
from api.cli_seed import add_seed_arguments
from api.cli_signing import add_signing_arguments, rotate_signing
from api.key_custody import ConfigurationError, key_module, read_keyring
from api.logging import configure_logging
from api.settings import Settings
from storage.db import create_db_engine, transaction

# The service (web framework, domain services, storage clients) is imported by the commands that use it, not here:
# `congdanso audit verify` must run in little memory beside a live service, and loading all of it costs ~40 MB.
if TYPE_CHECKING:
    from api.container import Container
    from identity.accounts import AccountService
    from storage.migrate import Chain


def _models_metadata() -> Any:
    # Import every table so Alembic can compare the models with the migrations.
    from sqlmodel import SQLModel

    import assurance.models  # noqa: F401
    import audit.models  # noqa: F401
    import consent.models  # noqa: F401
    import forms.models  # noqa: F401
    import identity.models  # noqa: F401
    import wallet.models  # noqa: F401

    return SQLModel.metadata


def migrate(settings: Settings) -> None:
    """Upgrade the migration chains, each in its own database (or one shared database)."""
    from storage.migrate import upgrade
    from storage.partitions import ensure_partitions

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    targets: list[tuple[Chain, str]] = [
        ("main", settings.resolved_database_url),
        ("throttle", settings.resolved_throttle_url),
        ("keystore", settings.resolved_keystore_url),
    ]
    if settings.resolved_direct_database_url.startswith("postgresql"):
        targets.append(("jobs", settings.resolved_direct_database_url))  # the job queue: PostgreSQL only
    for chain, url in targets:
        engine = create_db_engine(url, pool_size=1)
        try:
            upgrade(engine, chain=chain, metadata=_models_metadata() if chain == "main" else None)
            if chain == "main":  # PostgreSQL: the coming months' partitions (the janitor keeps adding them)
                ensure_partitions(engine, datetime.now(UTC))
        finally:
            engine.dispose()


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from api.container import build_container
    from api.limits import server_head_bound
    from api.metrics_listener import start_metrics_listener

    migrate(settings)
    build_container(settings).engine.dispose()  # fail fast (keys, prod checks) before forking workers
    start_metrics_listener(settings)
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        # h11, not httptools: only h11 bounds what it buffers of a request's head (a 16 MB header is cut off).
        http="h11",
        h11_max_incomplete_event_size=server_head_bound(settings.max_header_kb),
    )
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate(settings)
    print("database at head")
    return 0


def _with_accounts(settings: Settings, action: Callable[[AccountService], Any]) -> Any:
    from api.container import build_container
    from identity.accounts import AccountService

    container: Container = build_container(settings)
    try:
        with transaction(container.engine) as session:
            return action(AccountService(session, container.identity))
    finally:
        container.engine.dispose()


def _scope_words(chunks: Sequence[str]) -> list[str]:
    return [s for chunk in chunks for s in chunk.replace(",", " ").split()]


def _agency_create(settings: Settings, args: argparse.Namespace) -> int:
    scopes = _scope_words(args.scopes)
    creds = _with_accounts(settings, lambda accounts: accounts.create_agency(args.code, args.name, scopes))
    _emit(args, creds.model_dump(), f"client_id: {creds.client_id}\nclient_secret: {creds.client_secret} (shown once)")
    if not scopes:  # an agency without scopes can do nothing yet: say so where the operator looks
        print(_scopes_hint(args.code, []), file=sys.stderr)
    return 0


def _scopes_hint(code: str, held: list[str]) -> str:
    from identity.scopes import KNOWN_SCOPES, SCOPES

    lines = [f"agency {code} holds the scopes: {' '.join(held) or '(none)'}"]
    if missing := sorted(KNOWN_SCOPES - set(held)):
        lines.append(f"add with: congdanso agency scopes --code {code} --add SCOPE...")
        lines += [f"  {name}: {SCOPES[name]}" for name in missing]
    return "\n".join(lines)


def _agency_scopes(settings: Settings, args: argparse.Namespace) -> int:
    """Show, grant or withdraw an agency's scopes; a withdrawal ends its access tokens at once."""
    add, remove = _scope_words(args.add), _scope_words(args.remove)
    held: list[str] = _with_accounts(
        settings,
        lambda accounts: (
            accounts.change_scopes(args.code, add=add, remove=remove)
            if add or remove
            else accounts.agency_scopes(args.code)
        ),
    )
    _emit(args, {"code": args.code, "scopes": held}, _scopes_hint(args.code, held))
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


def _storage_gc(settings: Settings, args: argparse.Namespace) -> int:
    import anyio

    from api.container import build_container
    from wallet.janitor import Janitor

    container = build_container(settings)
    try:
        if args.grace_seconds is not None:
            container.wallet_config = replace(container.wallet_config, gc_grace=timedelta(seconds=args.grace_seconds))
        report = anyio.run(Janitor(container.wallet).collect)
    finally:
        anyio.run(container.aclose)
    print(json.dumps(asdict(report)))
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    """New master key; every citizen key and authenticator secret re-wrapped; no blob rewritten."""
    if args.signing:
        return rotate_signing(settings, args)
    import anyio

    from api.container import build_container
    from crypto.keyring import save_keyring
    from identity.service import rewrap_totp_secrets

    path = settings.resolved_keyring_file
    if not args.remove_retired:
        # Under WALLET_KEY_PROVIDER=pkcs11 the new master key is generated in the token.
        ring = read_keyring(settings).with_new_master_key(now=datetime.now(UTC))
        save_keyring(ring, path)
    container = build_container(settings)
    try:
        container.keyring.reload_if_changed()
        rewrapped = container.citizen_keys.rotate()
        with transaction(container.engine) as session:
            secrets = rewrap_totp_secrets(session, container.keys)
        report: dict[str, Any] = {"current_master_kid": container.keys.current_kid, "citizen_keys_rewrapped": rewrapped}
        report["totp_secrets_rewrapped"] = secrets
        if args.remove_retired:
            report["removed"] = _remove_retired(container, settings)
    finally:
        anyio.run(container.aclose)
    print(json.dumps(report))
    return 0


def _remove_retired(container: Container, settings: Settings) -> list[str]:
    """Drop master keys nothing is wrapped under any more; one held in the token is destroyed there, after the
    keyring file stops naming it."""
    from crypto.keyring import save_keyring
    from identity.service import totp_kids_in_use

    with transaction(container.engine) as session:
        in_use = container.citizen_keys.kids_in_use() | totp_kids_in_use(session, container.keys)
    module = key_module(settings)
    ring = read_keyring(settings, module)
    retired = [k for k in ring.master_keys if k.kid != ring.current_master_kid and k.kid not in in_use]
    for master in retired:
        ring = ring.without_master_key(master.kid)
    save_keyring(ring, settings.resolved_keyring_file)
    for master in retired:
        if master.in_module and module is not None:
            module.destroy_master_key(master.kid)
    return [master.kid for master in retired]


def _keys_init(settings: Settings, _args: argparse.Namespace) -> int:
    """A production keyring (not marked development): the first master and signing keys, generated in the token
    under WALLET_KEY_PROVIDER=pkcs11, and the blind-index key. Refuses to replace an existing keyring."""
    from crypto.keyring import Keyring, save_keyring

    path = settings.resolved_keyring_file
    if path.exists():
        print(f"error: a keyring already exists at {path}", file=sys.stderr)
        return 2
    ring = Keyring.generate(now=datetime.now(UTC), development=False, module=key_module(settings))
    save_keyring(ring, path)
    signing = ring.signing_keys[0]
    print(
        json.dumps(
            {
                "keyring": str(path),
                "provider": settings.key_provider,
                "master_kid": ring.current_master_kid,
                "signing_kid": signing.kid,
            }
        )
    )
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
    scopes = agency.add_parser("scopes", help="show, add or remove an agency's scopes (removal ends its tokens)")
    scopes.add_argument("--code", required=True)
    scopes.add_argument("--add", nargs="*", default=[], help="scopes to grant")
    scopes.add_argument("--remove", nargs="*", default=[], help="scopes to withdraw")
    scopes.add_argument("--json", action="store_true")
    scopes.set_defaults(run=_agency_scopes)
    officer = commands.add_parser("officer", help="one-stop officers").add_subparsers(dest="sub", required=True)
    ocreate = officer.add_parser("create", help="create an officer who logs in by phone + PIN + OTP")
    ocreate.add_argument("--phone", required=True)
    ocreate.add_argument("--name", required=True)
    ocreate.add_argument("--agency", required=True)
    ocreate.add_argument("--pin", required=True)
    ocreate.add_argument("--json", action="store_true")
    ocreate.set_defaults(run=_officer_create)
    storage = commands.add_parser("storage", help="blob storage upkeep").add_subparsers(dest="sub", required=True)
    gc = storage.add_parser("gc", help="remove blobs left by interrupted uploads and deletions")
    gc.add_argument("--grace-seconds", type=int, default=None, help="only older than this (default 3600)")
    gc.set_defaults(run=_storage_gc)
    keys = commands.add_parser("keys", help="key operations").add_subparsers(dest="sub", required=True)
    init = keys.add_parser("init", help="create the production keyring (keys in the token with WALLET_KEY_PROVIDER)")
    init.set_defaults(run=_keys_init)
    rotate = keys.add_parser("rotate", help="add a master key and re-wrap every citizen key under it")
    rotate.add_argument(
        "--remove-retired", action="store_true", help="instead: re-wrap leftovers, then drop unused old master keys"
    )
    rotate.set_defaults(run=_keys_rotate)
    add_signing_arguments(keys, rotate)
    add_audit_arguments(commands)
    add_seed_arguments(commands)
    add_jobs_arguments(commands)
    add_backup_arguments(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything the service writes (databases, keys, blobs, the dev outbox) is for its own user only.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if args.command not in {"serve", "migrate"}:
        migrate(settings)
    from crypto.keyring import KeyringError
    from identity.errors import IdentityError

    try:
        code: int = args.run(settings, args)
    except IdentityError as exc:
        print(f"error: {exc.code}: {exc}", file=sys.stderr)
        return 2
    except (ConfigurationError, KeyringError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
