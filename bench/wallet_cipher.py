"""STREAM against bare AES-256-GCM, in this process: what the file format costs over the cipher itself."""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.wallet_requests import MB, MIB
from crypto.aead import Context
from crypto.stream import StreamDecryptor, StreamEncryptor

CRYPTO_BYTES = 64 * MIB
CRYPTO_CHUNK = MIB
CRYPTO_SEGMENT = 64 * 1024
CRYPTO_REPEAT = 5


@dataclass
class CipherTimes:
    seal: list[float] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    encrypt: list[float] = field(default_factory=list)
    decrypt: list[float] = field(default_factory=list)


def open_pieces(key: bytes, context: Context, pieces: list[bytes]) -> list[bytearray]:
    """A sealed stream opened piece by piece, as a download opens the chunks it reads."""
    decryptor = StreamDecryptor(key, context=context)
    plain = [decryptor.update(piece) for piece in pieces]
    decryptor.finalize()
    return plain


def _stream_once(key: bytes, context: Context, chunks: list[bytes], data: bytes, times: CipherTimes) -> None:
    started = time.perf_counter()
    encryptor = StreamEncryptor(key, context=context)
    sealed = [encryptor.header()]
    sealed += [encryptor.update(chunk) for chunk in chunks]
    sealed.append(encryptor.finalize())
    times.seal.append(time.perf_counter() - started)

    stream = b"".join(sealed)
    pieces = [stream[i : i + CRYPTO_CHUNK] for i in range(0, len(stream), CRYPTO_CHUNK)]
    started = time.perf_counter()
    plain = open_pieces(key, context, pieces)
    times.open.append(time.perf_counter() - started)
    if b"".join(plain) != data:
        raise RuntimeError("STREAM opened to different bytes")


def _aesgcm_once(key: bytes, data: bytes, times: CipherTimes) -> None:
    view = memoryview(data)
    prefix = os.urandom(7)
    offsets = range(0, len(data), CRYPTO_SEGMENT)
    started = time.perf_counter()
    aes = AESGCM(key)
    sealed = [
        aes.encrypt(prefix + n.to_bytes(5, "big"), view[o : o + CRYPTO_SEGMENT], None) for n, o in enumerate(offsets)
    ]
    times.encrypt.append(time.perf_counter() - started)

    started = time.perf_counter()
    aes = AESGCM(key)
    plain = [aes.decrypt(prefix + n.to_bytes(5, "big"), segment, None) for n, segment in enumerate(sealed)]
    times.decrypt.append(time.perf_counter() - started)
    if b"".join(plain) != data:
        raise RuntimeError("AES-GCM opened to different bytes")


def cipher_throughput() -> dict[str, float]:
    """`CRYPTO_BYTES` sealed and opened with STREAM (fed in 1 MiB chunks) and with bare AESGCM (64 KiB segments,
    no associated data), alternately, `CRYPTO_REPEAT` times after one warm-up each; medians."""
    data = random.Random("cipher").randbytes(CRYPTO_BYTES)
    chunks = [data[i : i + CRYPTO_CHUNK] for i in range(0, len(data), CRYPTO_CHUNK)]
    key = os.urandom(32)
    context = Context("file", citizen="c-bench", document="d-bench", version=1, file="f-bench")
    times = CipherTimes()
    for _ in range(1 + CRYPTO_REPEAT):
        _stream_once(key, context, chunks, data, times)
        _aesgcm_once(key, data, times)
    seal, opened, encrypt, decrypt = (
        statistics.median(series[1:]) for series in (times.seal, times.open, times.encrypt, times.decrypt)
    )
    return {
        "wallet_stream_seal_mb_s": CRYPTO_BYTES / seal / MB,
        "wallet_stream_open_mb_s": CRYPTO_BYTES / opened / MB,
        "wallet_aesgcm_encrypt_mb_s": CRYPTO_BYTES / encrypt / MB,
        "wallet_aesgcm_decrypt_mb_s": CRYPTO_BYTES / decrypt / MB,
        "wallet_stream_seal_vs_aesgcm_ratio": encrypt / seal,
        "wallet_stream_open_vs_aesgcm_ratio": decrypt / opened,
        "wallet_stream_vs_aesgcm_ratio": (encrypt + decrypt) / (seal + opened),
    }
