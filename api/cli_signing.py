"""`congdanso keys rotate --signing` and `congdanso keys signing`: the Ed25519 signing keys (tokens, QR,
attestations). Each prints one JSON line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from api.key_custody import read_keyring
from api.settings import Settings
from consent.signing_usage import ConsentKeyUsage, combined
from crypto.jwks import JWKS_MAX_AGE_SECONDS
from crypto.keyring import Keyring, KeyringError, save_keyring
from crypto.signing_rotation import (
    DEFAULT_GRACE,
    AttestationLookup,
    describe_signing_keys,
    reschedule_retirements,
    rotate_signing_key,
)
from storage.db import create_db_engine
from wallet.signing_usage import AttestationKeyUsage


def add_signing_arguments(
    keys: argparse._SubParsersAction[argparse.ArgumentParser], rotate: argparse.ArgumentParser
) -> None:
    rotate.add_argument(
        "--signing", action="store_true", help="instead: add an Ed25519 signing key, current after the grace period"
    )
    rotate.add_argument(
        "--grace-seconds",
        type=int,
        default=int(DEFAULT_GRACE.total_seconds()),
        help="with --signing: publish the new key this long before it signs (default 3600)",
    )
    signing = keys.add_parser("signing", help="list the signing keys (kid, active_from, retired_at, status)")
    signing.add_argument(
        "--reschedule",
        action="store_true",
        help="first push back the retirement of replaced keys to cover attestations they signed since the rotation",
    )
    signing.set_defaults(run=list_signing_keys)


def rotate_signing(settings: Settings, args: argparse.Namespace) -> int:
    """Add a signing key current after the grace period; schedule the retirement of the current one."""
    if args.remove_retired:
        print("error: --signing and --remove-retired do not go together", file=sys.stderr)
        return 2
    if args.grace_seconds < JWKS_MAX_AGE_SECONDS:
        print(
            f"warning: a grace under {JWKS_MAX_AGE_SECONDS} s (the JWKS cache lifetime) may reach scanners whose "
            "cached key set lacks the new key",
            file=sys.stderr,
        )
    now = datetime.now(UTC)

    def rotate(ring: Keyring, usage: AttestationLookup) -> tuple[Keyring, dict[str, Any]]:
        done = rotate_signing_key(ring, now=now, grace=timedelta(seconds=args.grace_seconds), attestations=usage)
        previous = done.previous_key
        report = {
            "new_kid": done.new_key.kid,
            "active_from": done.new_key.active_from.isoformat(),
            "previous_kid": previous.kid,
            "previous_retired_at": previous.retired_at.isoformat() if previous.retired_at else None,
        }
        return done.ring, report

    return _update_keyring(settings, rotate, now=now)


def list_signing_keys(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    if args.reschedule:
        return _update_keyring(
            settings, lambda ring, usage: (reschedule_retirements(ring, now=now, attestations=usage), {}), now=now
        )
    try:
        ring = read_keyring(settings)
    except KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"keys": describe_signing_keys(ring, now=now)}))
    return 0


def _update_keyring(
    settings: Settings,
    change: Callable[[Keyring, AttestationLookup], tuple[Keyring, dict[str, Any]]],
    *,
    now: datetime,
) -> int:
    path = settings.resolved_keyring_file
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        # Under WALLET_KEY_PROVIDER=pkcs11 a new signing key is generated in the token.
        usage = combined(AttestationKeyUsage(engine), ConsentKeyUsage(engine))
        ring, report = change(read_keyring(settings), usage)
    except KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    save_keyring(ring, path)
    print(json.dumps({**report, "keys": describe_signing_keys(ring, now=now)}))
    return 0
