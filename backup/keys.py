"""The key store in a backup: every wrapped citizen key as one JSON line, read a page at a time.

A wrapped key is useless without the master key it was wrapped under, which never enters a backup: the restore proves
the master keys at hand open every line before it writes anything."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from backup.errors import BackupError, KeyMismatch
from crypto.citizen_keys import citizen_of_slot
from crypto.envelope import CitizenKey
from crypto.errors import DecryptionError
from crypto.keys import KeyProvider
from storage.db import create_db_engine
from storage.keystore import PAGE, citizen_keys

FILE = "keystore.jsonl"
INSERT_BATCH = 1_000


def export(url: str, dest: Path, keys: KeyProvider) -> dict[str, Any]:
    """Write the key store to `dest/keystore.jsonl`; returns the manifest's `keystore` section (rows, master kids)."""
    rows, kids = 0, set()
    with (dest / FILE).open("w") as out:
        for slot, wrapped, updated_at in _walk(url):
            kids.add(_kid(keys, wrapped))
            line = {"slot": slot, "wrapped": base64.b64encode(wrapped).decode(), "updated_at": updated_at.isoformat()}
            out.write(json.dumps(line) + "\n")
            rows += 1
    return {"file": FILE, "rows": rows, "master_kids": sorted(kids)}


def read(source: Path) -> list[tuple[str, bytes, datetime]]:
    rows = []
    with (source / FILE).open() as lines:
        for number, line in enumerate(lines, start=1):
            try:
                data = json.loads(line)
                rows.append(
                    (str(data["slot"]), base64.b64decode(data["wrapped"]), datetime.fromisoformat(data["updated_at"]))
                )
            except (ValueError, KeyError, TypeError):
                raise BackupError(f"{FILE} line {number} is malformed") from None
    return rows


def check_unwrap(rows: list[tuple[str, bytes, datetime]], keys: KeyProvider, section: dict[str, Any]) -> None:
    """Every wrapped key opens under the master keys at hand (the key file or the HSM given to this restore)."""
    failed = 0
    for slot, wrapped, _at in rows:
        try:
            CitizenKey.unwrap(keys, citizen_of_slot(slot), wrapped)
        except DecryptionError:
            failed += 1
    if failed:
        needed = ", ".join(section.get("master_kids", [])) or "?"
        raise KeyMismatch(
            f"{failed} of {len(rows)} citizen keys in the backup do not open with the master keys at hand: this "
            f"restore needs the master key(s) {needed} (the keyring file or the HSM the backup's service used)"
        )


def count(url: str) -> int:
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(citizen_keys)).scalar_one())
    finally:
        engine.dispose()


def load(url: str, rows: list[tuple[str, bytes, datetime]]) -> None:
    """Replace the store's rows with the backup's, in one transaction."""
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(delete(citizen_keys))
            for start in range(0, len(rows), INSERT_BATCH):
                batch = rows[start : start + INSERT_BATCH]
                values = [{"citizen_id": s, "wrapped": w, "updated_at": at} for s, w, at in batch]
                conn.execute(insert(citizen_keys), values)
    finally:
        engine.dispose()


def clear(url: str) -> None:
    """Undo `load` on a target that was empty before it."""
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(delete(citizen_keys))
    finally:
        engine.dispose()


def _kid(keys: KeyProvider, wrapped: bytes) -> str:
    try:
        return keys.kid_of(wrapped)
    except DecryptionError:
        return "?"


def _walk(url: str) -> Iterator[tuple[str, bytes, datetime]]:
    """Every row in slot order, `PAGE` at a time, each page its own short read (no transaction held for the walk)."""
    engine = create_db_engine(url, pool_size=1)
    after = ""
    try:
        while True:
            query = (
                select(citizen_keys.c.citizen_id, citizen_keys.c.wrapped, citizen_keys.c.updated_at)
                .where(citizen_keys.c.citizen_id > after)
                .order_by(citizen_keys.c.citizen_id)
                .limit(PAGE)
            )
            with engine.connect() as conn:
                page = conn.execute(query).all()
            for slot, wrapped, updated_at in page:
                yield str(slot), bytes(wrapped), updated_at
            if len(page) < PAGE:
                return
            after = str(page[-1][0])
    finally:
        engine.dispose()
