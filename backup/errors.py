"""One error type for every refusal of a backup or a restore; the command prints it and exits 2."""


class BackupError(Exception):
    """The backup cannot be taken or restored; nothing was written to the target."""


class KeyMismatch(BackupError):
    """The master keys at hand do not unwrap the backup's key store."""
