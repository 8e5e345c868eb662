"""Keys in a hardware module against keys in the process: wrapping and unwrapping citizen keys under the master key,
and Ed25519 signatures, through the service's two key providers in this process.

`python -m bench.hsm` (also run by `python -m bench`, about 20 seconds). The module is SoftHSM2 (Debian `softhsm2`)
on a fresh token of its own (`tests.softhsm`), reached through `crypto.pkcs11_keys.Pkcs11KeyProvider` and the
token's signing key (`crypto.pkcs11_token`); in-process is `crypto.keys.LocalKeyProvider` over a keyring of the same
shape and its `cryptography` Ed25519 key. Each operation runs in batches, alternating the two sides so a busy
machine slows both alike; each figure is the median rate of its batches. A real HSM adds a network or bus round
trip per call, so SoftHSM2 is the ceiling of the PKCS#11 path here, not a forecast of a given appliance.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import UTC, datetime

from bench.harness import record, timed
from crypto.aead import Context
from crypto.keyring import Keyring
from crypto.keys import KeyProvider, LocalKeyProvider

BATCH = 500  # operations per timed batch
ROUNDS = 7
PAYLOAD = b'{"iss":"congdanso","sub":"qr-0123456789abcdef","exp":1767225600,"typ":"qr"}' * 3  # a token's size
CONTEXT = Context("citizen-key", citizen="0193f1c2-7a4b-7c3d-9e5f-0123456789ab")
KEY = bytes(range(32))


def _rates(fn: Callable[[], object]) -> list[float]:
    def batch() -> None:
        for _ in range(BATCH):
            fn()

    return [BATCH / seconds for seconds in timed(batch, repeat=1, warmup=0)]


def _operations(provider: KeyProvider, ring: Keyring, now: datetime) -> dict[str, Callable[[], object]]:
    wrapped = provider.wrap(KEY, context=CONTEXT)
    if provider.unwrap(wrapped, context=CONTEXT) != KEY:
        raise RuntimeError(f"{provider!r} does not unwrap what it wrapped")
    signer = ring.current_signing_key(now)
    signer.public_key.verify(signer.private_key.sign(PAYLOAD), PAYLOAD)  # raises if the signature is wrong
    return {
        "wrap": lambda: provider.wrap(KEY, context=CONTEXT),
        "unwrap": lambda: provider.unwrap(wrapped, context=CONTEXT),
        "sign": lambda: signer.private_key.sign(PAYLOAD),
    }


def compare(sides: dict[str, dict[str, Callable[[], object]]]) -> dict[str, float]:
    rates: dict[str, list[float]] = {}
    for side in sides.values():  # one unmeasured batch each
        for fn in side.values():
            _rates(fn)
    for _ in range(ROUNDS):
        for name, side in sides.items():
            for operation, fn in side.items():
                rates.setdefault(f"hsm.{name}_{operation}_per_s", []).extend(_rates(fn))
    figures = {name: statistics.median(values) for name, values in rates.items()}
    for operation in ("wrap", "unwrap", "sign"):
        figures[f"hsm.pkcs11_vs_local_{operation}"] = (
            figures[f"hsm.pkcs11_{operation}_per_s"] / figures[f"hsm.local_{operation}_per_s"]
        )
    return figures


def main() -> None:
    from crypto.pkcs11_keys import provider_for
    from crypto.pkcs11_token import Pkcs11Token
    from tests.softhsm import SoftHsm

    now = datetime.now(UTC)
    hsm = SoftHsm()
    try:
        token = Pkcs11Token(hsm.new_token("bench-hsm"))
        in_module = Keyring.generate(now=now, development=True, module=token)
        in_process = Keyring.generate(now=now, development=True)
        sides = {
            "pkcs11": _operations(provider_for(in_module, token), in_module, now),
            "local": _operations(LocalKeyProvider(in_process), in_process, now),
        }
        print(f"hsm: SoftHSM2 against in-process keys, {ROUNDS} alternating batches of {BATCH} per operation")
        record(compare(sides))
    finally:
        hsm.remove()


if __name__ == "__main__":
    main()
