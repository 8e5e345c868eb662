"""The one error of the crypto recipes."""


class DecryptionError(Exception):
    """Raised for EVERY failure to open: wrong key, wrong context, tampering, truncation, bad header, unknown kid.

    The message never says which: telling a caller (or an attacker probing an endpoint) *why* a token
    failed to open is an oracle, so every recipe collapses its failures into this one type.
    """

    def __init__(self, message: str = "cannot decrypt: wrong key or context, or the data was altered") -> None:
        super().__init__(message)
