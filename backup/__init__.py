"""Backups that restore: a consistent database dump, the wrapped citizen keys and the blobs (or their manifest),
each file hashed in a manifest; never the master or signing keys (docs/operations/backup.md). Only `api` imports it."""

from backup.errors import BackupError, KeyMismatch
from backup.service import BackupOptions, Sources, restore, take_backup

__all__ = ["BackupError", "BackupOptions", "KeyMismatch", "Sources", "restore", "take_backup"]
