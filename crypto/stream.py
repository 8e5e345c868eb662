"""STREAM-style segmented AES-256-GCM for large files: memory stays flat whatever the file size.

Layout (version 1)::

    header  = version (1 byte, 0x01) ‖ segment size (4 bytes, big-endian) ‖ nonce prefix (7 random bytes)
    stream  = header ‖ segment 0 ‖ segment 1 ‖ … ‖ segment n (the last)
    segment = AES-256-GCM ciphertext ‖ tag (16 bytes)

Every segment but the last holds exactly `segment size` plaintext bytes (so is segment size + 16
bytes long); the last holds 0 to segment size - 1 bytes. Segment i is sealed with

    nonce = nonce prefix ‖ i (4 bytes, big-endian) ‖ last flag (1 byte, 0 or 1)
    aad   = header ‖ context.encode() ‖ i (4 bytes, big-endian) ‖ last flag (1 byte)

so reordering, dropping or duplicating segments, cutting the stream short, dropping the last
segment, appending after it, splicing in segments of another stream (another nonce prefix and
header) or serving the stream for another record (another context) all fail to open.
"""

from __future__ import annotations

import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.aead import TAG_SIZE, Context, aes256gcm
from crypto.errors import DecryptionError

SEGMENT_SIZE = 64 * 1024
MIN_SEGMENT_SIZE = 16
MAX_SEGMENT_SIZE = 16 * 1024 * 1024  # bounds what a decryptor buffers before its first tag check
STREAM_VERSION = 1
_NONCE_PREFIX_SIZE = 7
_HEADER = struct.Struct(f">BI{_NONCE_PREFIX_SIZE}s")
HEADER_SIZE = _HEADER.size
_POSITION = struct.Struct(">IB")
_MAX_COUNTER = 2**32 - 1


def _check_segment_size(segment_size: int) -> None:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(f"segment size must be in [{MIN_SEGMENT_SIZE}, {MAX_SEGMENT_SIZE}]")


def sealed_size(plaintext_size: int, segment_size: int = SEGMENT_SIZE) -> int:
    """The exact length of the sealed stream of `plaintext_size` bytes (header and tags included)."""
    _check_segment_size(segment_size)
    if plaintext_size < 0:
        raise ValueError("a size cannot be negative")
    full, rest = divmod(plaintext_size, segment_size)
    if full > _MAX_COUNTER:
        raise ValueError("too large for one stream")
    return HEADER_SIZE + full * (segment_size + TAG_SIZE) + rest + TAG_SIZE


def _expected_size(plaintext_size: int, segment_size: int) -> int:
    try:
        return sealed_size(plaintext_size, segment_size)
    except ValueError:
        raise DecryptionError from None  # no stream of this segment size holds that many bytes


class _Segments:
    """Seals and opens the segments of one stream (its key, header and context)."""

    __slots__ = ("_aad_prefix", "_aes", "_nonce_prefix")

    def __init__(self, aes: AESGCM, header: bytes, context: Context) -> None:
        self._aes = aes
        self._nonce_prefix = header[-_NONCE_PREFIX_SIZE:]
        self._aad_prefix = header + context.encode()

    def seal(self, counter: int, last: bool, plaintext: memoryview | bytearray) -> bytes:
        position = _POSITION.pack(counter, last)
        return self._aes.encrypt(self._nonce_prefix + position, plaintext, self._aad_prefix + position)

    def seal_into(self, counter: int, last: bool, plaintext: memoryview | bytearray, out: memoryview) -> None:
        """As `seal`, the segment written into `out` (exactly its length: plaintext + tag)."""
        position = _POSITION.pack(counter, last)
        self._aes.encrypt_into(self._nonce_prefix + position, plaintext, self._aad_prefix + position, out)

    def open(self, counter: int, last: bool, sealed: memoryview | bytearray) -> bytes:
        """The plaintext; InvalidTag if the segment is not segment `counter` with this last flag."""
        position = _POSITION.pack(counter, last)
        return self._aes.decrypt(self._nonce_prefix + position, sealed, self._aad_prefix + position)

    def open_into(self, counter: int, sealed: memoryview | bytearray, out: memoryview) -> None:
        """As `open` for a segment that is not the last, its plaintext written into `out`. On InvalidTag `out` holds
        unauthenticated bytes: the caller must drop it."""
        position = _POSITION.pack(counter, False)
        self._aes.decrypt_into(self._nonce_prefix + position, sealed, self._aad_prefix + position, out)


class StreamEncryptor:
    """Seals a file of any size in segments; write `header()`, then every `update`, then `finalize()`.

    Use a fresh data key per document version (`crypto.envelope`): with a random 56-bit nonce
    prefix, one key should seal at most a few thousand streams. Discard the encryptor after an error.
    """

    __slots__ = ("_buffer", "_counter", "_finalized", "_header", "_segment_size", "_segments")

    def __init__(self, key: bytes, *, context: Context, segment_size: int = SEGMENT_SIZE) -> None:
        aes = aes256gcm(key)
        _check_segment_size(segment_size)
        self._header = _HEADER.pack(STREAM_VERSION, segment_size, secrets.token_bytes(_NONCE_PREFIX_SIZE))
        self._segments = _Segments(aes, self._header, context)
        self._segment_size = segment_size
        self._buffer = bytearray()
        self._counter = 0
        self._finalized = False

    def header(self) -> bytes:
        """The 12-byte stream header; it goes first and is authenticated with every segment."""
        return self._header

    def update(self, data: bytes) -> bytes:
        """Zero or more complete sealed segments; fewer than `segment_size` bytes stay buffered."""
        return b"".join(self.update_segments(data))

    def update_segments(self, data: bytes) -> list[bytes]:
        """As `update`, each sealed segment its own object: a caller that writes them one by one skips copying every
        sealed byte into one object first (a request's chunks often complete several segments each)."""
        self._check_not_finalized()
        view = memoryview(data)
        sealed: list[bytes] = []
        if self._buffer:
            view = self._fill_buffer(view, sealed)
        size = self._segment_size
        while len(view) >= size:
            sealed.append(self._seal(view[:size], last=False))
            view = view[size:]
        self._buffer += view
        return sealed

    def sealed_length(self, size: int) -> int:
        """How many bytes `update` of `size` more bytes returns (complete segments only)."""
        return (len(self._buffer) + size) // self._segment_size * (self._segment_size + TAG_SIZE)

    def update_into(self, data: bytes | memoryview, out: memoryview) -> int:
        """As `update`, the sealed segments written one after another from the start of `out`, which must hold
        `sealed_length(len(data))` bytes (ValueError, with nothing sealed, if it does not); returns how many. A caller
        that reuses one buffer from batch to batch seals without new memory."""
        self._check_not_finalized()
        if len(out) < self.sealed_length(len(data)):
            raise ValueError("the output buffer cannot hold the sealed segments")
        view = memoryview(data)
        size, written = self._segment_size, 0
        if self._buffer:
            take = size - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) < size:
                return 0
            written = self._seal_into(self._buffer, out)
            self._buffer = bytearray()
        while len(view) >= size:
            written += self._seal_into(view[:size], out[written:])
            view = view[size:]
        self._buffer += view
        return written

    def finalize(self) -> bytes:
        """The last segment (the buffered rest, possibly empty), flagged last: it marks the true end."""
        self._check_not_finalized()
        last = self._seal(self._buffer, last=True)
        self._finalized = True
        self._buffer = bytearray()
        return last

    def _fill_buffer(self, view: memoryview, sealed: list[bytes]) -> memoryview:
        take = self._segment_size - len(self._buffer)
        self._buffer += view[:take]
        if len(self._buffer) == self._segment_size:
            sealed.append(self._seal(self._buffer, last=False))
            self._buffer = bytearray()
        return view[take:]

    def _seal(self, plaintext: memoryview | bytearray, *, last: bool) -> bytes:
        # a non-last segment may not take the top counter: the last one would have none left
        limit = _MAX_COUNTER if last else _MAX_COUNTER - 1
        if self._counter > limit:
            raise OverflowError("stream too long: the segment counter is exhausted")
        segment = self._segments.seal(self._counter, last, plaintext)
        self._counter += 1
        return segment

    def _seal_into(self, plaintext: memoryview | bytearray, out: memoryview) -> int:
        """A segment that is not the last, written at the start of `out`; its length."""
        if self._counter > _MAX_COUNTER - 1:  # the last segment needs a counter of its own
            raise OverflowError("stream too long: the segment counter is exhausted")
        length = len(plaintext) + TAG_SIZE
        self._segments.seal_into(self._counter, False, plaintext, out[:length])
        self._counter += 1
        return length

    def _check_not_finalized(self) -> None:
        if self._finalized:
            raise ValueError("the stream is already finalized")


class StreamDecryptor:
    """Opens a sealed stream fed in chunks of any size, releasing only authenticated plaintext.

    Each returned piece is a verified segment in its place, but the stream is only known complete
    when `finalize()` returns: until then, treat output as provisional (write it to a temporary
    file, or abort the response). Without `plaintext_size` the last segment is recognised by trial:
    an `update` that ends inside a segment tries it as the last one, so feed chunks of at least a few
    KiB. With it (the size recorded when the stream was sealed) the last segment is known by its
    place, so no segment is opened twice and bytes past that place fail at once; the size only
    decides which flag to try, so a wrong one makes a sound stream fail, never a broken one open.
    After any DecryptionError the decryptor refuses everything.
    """

    __slots__ = (
        "_aes",
        "_context",
        "_counter",
        "_done",
        "_expected",
        "_failed",
        "_fed",
        "_header",
        "_pending",
        "_plaintext_size",
        "_sealed_size",
        "_segments",
    )

    def __init__(self, key: bytes, *, context: Context, plaintext_size: int | None = None) -> None:
        if plaintext_size is not None and plaintext_size < 0:
            raise ValueError("a size cannot be negative")
        self._aes = aes256gcm(key)
        self._context = context
        self._plaintext_size = plaintext_size
        self._expected: int | None = None  # the sealed length, once the header gives the segment size
        self._fed = 0
        self._header = bytearray()
        self._segments: _Segments | None = None
        self._sealed_size = 0
        self._pending = bytearray()
        self._counter = 0
        self._done = False
        self._failed = False

    def update(self, data: bytes | bytearray | memoryview) -> bytearray:
        """Verified plaintext of every segment completed by `data`, in one new buffer the caller owns (each segment is
        opened straight into its place: no piece per segment, no joining); DecryptionError on any failure."""
        if self._failed:
            raise DecryptionError
        try:
            return self._update(memoryview(data))
        except DecryptionError:
            self._failed = True
            raise

    def finalize(self) -> None:
        """DecryptionError unless the last segment was verified and nothing followed it."""
        if self._failed or not self._done:
            self._failed = True
            raise DecryptionError

    def _update(self, view: memoryview) -> bytearray:
        if self._done:
            if view:
                raise DecryptionError  # bytes after the last segment
            return bytearray()
        self._fed += len(view)
        view = self._read_header(view)
        if self._expected is not None and self._fed > self._expected:
            raise DecryptionError  # longer than the stream that was sealed
        if self._segments is None:
            return bytearray()
        size = self._sealed_size
        plaintext = bytearray(((len(self._pending) + len(view)) // size) * (size - TAG_SIZE))
        out = memoryview(plaintext)
        if self._pending:
            view, out = self._fill_pending(view, out)
        while len(view) >= size:
            out = self._open(view[:size], out)
            view = view[size:]
        self._pending += view
        del out  # its export would keep the buffer from growing by the last segment
        self._try_last(plaintext)
        return plaintext

    def _read_header(self, view: memoryview) -> memoryview:
        if self._segments is not None:
            return view
        need = HEADER_SIZE - len(self._header)
        self._header += view[:need]
        if len(self._header) == HEADER_SIZE:
            version, segment_size, _ = _HEADER.unpack(self._header)
            if version != STREAM_VERSION or not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
                raise DecryptionError
            self._segments = _Segments(self._aes, bytes(self._header), self._context)
            self._sealed_size = segment_size + TAG_SIZE
            if self._plaintext_size is not None:
                self._expected = _expected_size(self._plaintext_size, segment_size)
        return view[need:]

    def _fill_pending(self, view: memoryview, out: memoryview) -> tuple[memoryview, memoryview]:
        take = self._sealed_size - len(self._pending)
        self._pending += view[:take]
        if len(self._pending) == self._sealed_size:
            out = self._open(self._pending, out)
            self._pending = bytearray()
        return view[take:], out

    def _open(self, sealed: memoryview | bytearray, out: memoryview) -> memoryview:
        """A full-size segment, which is never the last one, opened into the start of `out`; the rest of `out`."""
        if self._segments is None or self._counter >= _MAX_COUNTER:
            raise DecryptionError  # a non-last segment at the top counter leaves no room for the last
        length = self._sealed_size - TAG_SIZE
        try:
            self._segments.open_into(self._counter, sealed, out[:length])
        except InvalidTag:
            raise DecryptionError from None  # what `out` holds is never returned
        self._counter += 1
        return out[length:]

    def _try_last(self, plaintext: bytearray) -> None:
        """If the pending bytes are exactly the last segment, release it; else wait for more."""
        if self._segments is None or len(self._pending) < TAG_SIZE:
            return
        if self._expected is not None and self._fed < self._expected:
            return  # more is due: the pending bytes cannot be the last segment
        try:
            segment = self._segments.open(self._counter, True, self._pending)
        except InvalidTag:
            return
        plaintext += segment
        self._pending = bytearray()
        self._done = True
