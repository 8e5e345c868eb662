"""`congdanso backup DEST_DIR` and `congdanso restore SRC_DIR` (docs/operations/backup.md). Each prints one JSON line;
a refusal (a non-empty target, an altered backup, master keys that do not open its key store) exits 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.key_custody import key_module, provider_factory, read_keyring
from api.settings import Settings

# Loaded by the two commands alone: the other commands stay light (`congdanso audit verify` beside a live service).
if TYPE_CHECKING:
    from backup import Sources
    from crypto.keys import KeyProvider

EXIT_REFUSED = 2


def add_backup_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser(
        "backup", help="dump the database, the wrapped citizen keys and the blobs into a new folder (no master key)"
    )
    backup.add_argument("dest", type=Path, help="a new or empty folder")
    backup.add_argument(
        "--manifest-only",
        action="store_true",
        help="list the blobs with their SHA-256 without copying them (a bucket with its own replication/versioning)",
    )
    backup.set_defaults(run=run_backup)
    restore_ = commands.add_parser(
        "restore", help="restore a backup into an empty service, with the same master key (key file or HSM)"
    )
    restore_.add_argument("source", type=Path, help="a folder `congdanso backup` wrote")
    restore_.add_argument("--force", action="store_true", help="replace the content of a target that is not empty")
    restore_.set_defaults(run=run_restore)


def sources(settings: Settings) -> Sources:
    from backup import Sources
    from storage.blobs.factory import blob_store_from_url

    access, secret = settings.s3_access_key, settings.s3_secret_key
    store = blob_store_from_url(
        settings.resolved_storage_url,
        access_key=access.get_secret_value() if access else None,
        secret_key=secret.get_secret_value() if secret else None,
    )

    def keys() -> KeyProvider:
        module = key_module(settings)
        return provider_factory(module)(read_keyring(settings, module))

    return Sources(
        database_url=settings.resolved_direct_database_url,
        keystore_url=settings.resolved_keystore_url,
        blob_store=store,
        keys=keys,
        description=_description(settings),
    )


def _description(settings: Settings) -> dict[str, Any]:
    """The settings a restore is checked against, without a password, a PIN or an S3 key."""
    from sqlalchemy.engine import make_url

    def shown(url: str) -> str:
        return make_url(url).render_as_string(hide_password=True)

    return {
        "env": settings.env,
        "database": shown(settings.resolved_direct_database_url),
        "keystore": shown(settings.resolved_keystore_url),
        "storage": settings.resolved_storage_url,
        "key_provider": settings.key_provider,
        "pkcs11_token_label": settings.pkcs11_token_label,
        "keyring_file": str(settings.resolved_keyring_file),
    }


def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    from backup import BackupError, BackupOptions, take_backup

    try:
        manifest = take_backup(sources(settings), args.dest, BackupOptions(copy_blobs=not args.manifest_only))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    report = {
        "backup": str(args.dest),
        "created_at": manifest.created_at,
        "database": manifest.database,
        "citizen_keys": manifest.keystore["rows"],
        "master_kids": manifest.keystore["master_kids"],
        "blobs": manifest.blobs,
        "files": len(manifest.files),
    }
    print(json.dumps(report))
    return 0


def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    from api.cli import migrate
    from backup import BackupError, BackupOptions, restore
    from crypto.keyring import KeyringError

    try:
        report = restore(sources(settings), args.source, BackupOptions(force=args.force))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyringError as exc:
        print(
            f"error: {exc}: a restore needs the master key the backup's service used, which no backup holds: put "
            "its keyring file at WALLET_KEYRING_FILE, or configure its HSM (WALLET_KEY_PROVIDER=pkcs11)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    migrate(settings)  # a backup of an older release is brought to this release's schema
    print(json.dumps(report))
    return 0
