"""`congdanso audit verify` and `congdanso audit checkpoint`: the tamper-evident access log. Each prints one JSON line.

`verify` exits 0 when the whole chain and every checkpoint hold, 1 at the first bad entry or checkpoint (named by
`first_bad_seq` and `reason`), 2 when it cannot run (no keyring).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from api.key_custody import read_keyring, watched_keyring
from api.settings import Settings
from audit.checkpoints import CheckpointService, CheckpointVerifier, public_checkpoint
from audit.verification import BATCH, verify_log
from crypto.clock import SystemClock
from crypto.keyring import Keyring, KeyringError
from storage.db import create_db_engine, transaction

EXIT_TAMPERED = 1
EXIT_UNUSABLE = 2


def add_audit_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the tamper-evident access log").add_subparsers(dest="sub", required=True)
    verify = audit.add_parser(
        "verify", help="recompute the hash chain and check every signed checkpoint; exit 1 naming the first bad entry"
    )
    verify.add_argument("--batch", type=int, default=BATCH, help=f"rows fetched at a time (default {BATCH})")
    verify.add_argument(
        "--jwks",
        type=Path,
        default=None,
        help="check the checkpoints with the public keys of this JWK set (e.g. a saved /.well-known/jwks.json) "
        "instead of the keyring file, as an auditor without the private keys does",
    )
    verify.set_defaults(run=audit_verify)
    checkpoint = audit.add_parser("checkpoint", help="sign a checkpoint of the log's current head now")
    checkpoint.set_defaults(run=audit_checkpoint)


def _keyring(settings: Settings) -> Keyring | None:
    try:
        return read_keyring(settings)
    except KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _verifier(settings: Settings, jwks: Path | None) -> CheckpointVerifier | None:
    if jwks is None:
        ring = _keyring(settings)
        return None if ring is None else CheckpointVerifier.of_keyring(ring)
    try:
        return CheckpointVerifier.of_jwks(json.loads(jwks.read_text()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        print(f"error: cannot read the JWK set {jwks}: {exc}", file=sys.stderr)
        return None


def audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    verifier = _verifier(settings, args.jwks)
    if verifier is None:
        return EXIT_UNUSABLE
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        report = verify_log(engine, verifier, batch=max(1, args.batch))
    finally:
        engine.dispose()
    print(json.dumps(report.to_json()))
    return 0 if report.ok else EXIT_TAMPERED


def audit_checkpoint(settings: Settings, _args: argparse.Namespace) -> int:
    if _keyring(settings) is None:
        return EXIT_UNUSABLE
    keyring = watched_keyring(settings)
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            made = CheckpointService(session, SystemClock(), keyring).make()
    except KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        engine.dispose()
    if made is None:
        print(json.dumps({"created": False, "seq": 0, "reason": "the access log is empty"}))
    else:
        print(json.dumps({"created": made.created, **public_checkpoint(made.checkpoint)}))
    return 0
