"""The key hierarchy: master key → citizen key (KEK) → one data key per document version.

- The citizen key is 32 random bytes, stored only wrapped by the `KeyProvider` with
  ``Context("citizen-key", citizen=id)``. Rotating the master key rewraps these small blobs and
  never touches a document (`rewrap_citizen_key`).
- Two subkeys are derived from it with HKDF-SHA256: one seals the citizen's small records
  (`CitizenKey.seal`), the other wraps data keys. A record can therefore never be passed off as a
  wrapped data key, or the reverse, whatever contexts callers choose.
- A data key seals one document version's files (`crypto.stream`). Its wrapped form is an aead
  token (``0x01 ‖ nonce(12) ‖ ciphertext(32) ‖ tag(16)``, 61 bytes) bound to
  ``Context("data-key", citizen, document, version)``.
- Crypto-shredding: deleting the wrapped citizen key (and letting backups expire) makes every
  record and every data key of that citizen unrecoverable, wherever copies of the blobs remain.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.aead import KEY_SIZE, Context, open_sealed, seal
from crypto.errors import DecryptionError
from crypto.keys import KeyProvider, generate_key

CITIZEN_KEY_PURPOSE = "citizen-key"
DATA_KEY_PURPOSE = "data-key"
_RECORDS_INFO = b"congdanso/citizen-key/records/v1"
_DATA_KEYS_INFO = b"congdanso/citizen-key/data-keys/v1"


def _subkey(kek: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(kek)


def _citizen_key_context(citizen_id: str) -> Context:
    return Context(CITIZEN_KEY_PURPOSE, citizen=citizen_id)


class CitizenKey:
    """One citizen's unwrapped key-encryption key; its bytes never appear in `repr`.

    Build it with `create` (new citizen) or `unwrap` (from the stored wrapped bytes), never from a
    constant. Everything it seals is bound to this citizen: `seal` refuses a context naming another.
    """

    __slots__ = ("_citizen_id", "_data_keys_key", "_fallbacks", "_records_key")

    def __init__(self, citizen_id: str, kek: bytes, *, fallbacks: Sequence[bytes] = ()) -> None:
        if not citizen_id:
            raise ValueError("a citizen key needs a citizen id")
        if any(len(k) != KEY_SIZE for k in (kek, *fallbacks)):
            raise ValueError("a citizen key must be 32 bytes")
        self._citizen_id = citizen_id
        self._records_key = _subkey(kek, _RECORDS_INFO)
        self._data_keys_key = _subkey(kek, _DATA_KEYS_INFO)
        # Keys of a replacement in progress (`CitizenKeys.begin_replacement`): they only ever open, never seal.
        self._fallbacks = tuple((_subkey(k, _RECORDS_INFO), _subkey(k, _DATA_KEYS_INFO)) for k in fallbacks)

    def __repr__(self) -> str:
        return f"CitizenKey(citizen_id={self._citizen_id!r})"

    @property
    def citizen_id(self) -> str:
        return self._citizen_id

    @classmethod
    def create(cls, provider: KeyProvider, citizen_id: str) -> tuple[CitizenKey, bytes]:
        """A fresh random key for a new citizen and its wrapped form, the only thing to store."""
        kek = generate_key()
        wrapped = provider.wrap(kek, context=_citizen_key_context(citizen_id))
        return cls(citizen_id, kek), wrapped

    @classmethod
    def unwrap(
        cls, provider: KeyProvider, citizen_id: str, wrapped: bytes, *, fallbacks: Sequence[bytes] = ()
    ) -> CitizenKey:
        """The key of `citizen_id`; DecryptionError if `wrapped` belongs to someone else or was altered.
        `fallbacks` are further wrapped keys of the same citizen that `open` and `unwrap_data_key` also try."""
        context = _citizen_key_context(citizen_id)
        others = [provider.unwrap(w, context=context) for w in fallbacks]
        return cls(citizen_id, provider.unwrap(wrapped, context=context), fallbacks=others)

    def seal(self, plaintext: bytes, *, context: Context) -> bytes:
        """Seal a small record (profile, document fields) bound to `context`, which must name this citizen."""
        if context.citizen != self._citizen_id:
            raise ValueError("the context names another citizen")
        return seal(self._records_key, plaintext, context=context)

    def open(self, token: bytes, *, context: Context) -> bytes:
        """Open a record from `seal`; DecryptionError on any failure."""
        for records_key in (self._records_key, *(pair[0] for pair in self._fallbacks)):
            try:
                return open_sealed(records_key, token, context=context)
            except DecryptionError:
                continue
        raise DecryptionError

    def new_data_key(self, *, document: str, version: int) -> tuple[bytes, bytes]:
        """A fresh data key for one document version and its wrapped form (store it with the version).

        The wrap is bound to citizen, document and version, so a wrapped data key moved to another
        version, document or citizen fails to open rather than decrypting the wrong files.
        """
        data_key = generate_key()
        return data_key, self.wrap_data_key(data_key, document=document, version=version)

    def wrap_data_key(self, data_key: bytes, *, document: str, version: int) -> bytes:
        """Wrap an existing data key of (document, version) under this key (a key replacement re-wraps with it)."""
        if len(data_key) != KEY_SIZE:
            raise ValueError("a data key must be 32 bytes")
        return seal(self._data_keys_key, data_key, context=self._data_key_context(document, version))

    def unwrap_data_key(self, wrapped: bytes, *, document: str, version: int) -> bytes:
        """The data key of (document, version); DecryptionError on any failure."""
        context = self._data_key_context(document, version)
        for data_keys_key in (self._data_keys_key, *(pair[1] for pair in self._fallbacks)):
            try:
                data_key = open_sealed(data_keys_key, wrapped, context=context)
            except DecryptionError:
                continue
            if len(data_key) == KEY_SIZE:
                return data_key
        raise DecryptionError

    def _data_key_context(self, document: str, version: int) -> Context:
        if not document:
            raise ValueError("a data key needs a document id")
        return Context(DATA_KEY_PURPOSE, citizen=self._citizen_id, document=document, version=version)


def rewrap_citizen_key(provider: KeyProvider, citizen_id: str, wrapped: bytes) -> bytes:
    """Rotation: the citizen key re-wrapped under the current master key.

    The key itself is unchanged, so no record, data key or file is rewritten; once every citizen
    key is rewrapped, the old master key can be removed from the provider.
    """
    return provider.rewrap(wrapped, context=_citizen_key_context(citizen_id))
