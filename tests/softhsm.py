"""A throwaway SoftHSM2 (Debian `softhsm2`) for tests: its own configuration and token folder in a temporary dir.

    hsm = SoftHsm()                    # writes <dir>/softhsm2.conf and points SOFTHSM2_CONF at it
    config = hsm.new_token()           # `softhsm2-util --init-token --free`: a fresh, empty token
    token = Pkcs11Token(config)

SoftHSM reads SOFTHSM2_CONF, and lists its tokens, when the PKCS#11 library is initialised: one `SoftHsm` serves a
whole test process, and `new_token` initialises the library again so that each test gets a token of its own.
`env()` is what a `congdanso` subprocess needs to reach the same tokens.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from crypto.pkcs11_token import Pkcs11Config, rescan

LIBRARY_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)
USER_PIN = "4921"
_SO_PIN = "93618450"


def find_library() -> Path | None:
    return next((path for path in LIBRARY_CANDIDATES if path.is_file()), None)


class SoftHsm:
    def __init__(self) -> None:
        library = find_library()
        util = shutil.which("softhsm2-util")
        if library is None or util is None:
            raise RuntimeError("SoftHSM2 is not installed: apt-get install -y softhsm2 (make system-deps does)")
        self.library = library
        self._util = util
        self.root = Path(tempfile.mkdtemp(prefix="cds-softhsm-"))
        (self.root / "tokens").mkdir(mode=0o700)
        self.conf = self.root / "softhsm2.conf"
        self.conf.write_text(
            f"directories.tokendir = {self.root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    def new_token(self, label: str | None = None) -> Pkcs11Config:
        label = label or f"cds-{secrets.token_hex(4)}"
        subprocess.run(
            [self._util, "--init-token", "--free", "--label", label, "--so-pin", _SO_PIN, "--pin", USER_PIN],
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
            check=True,
            capture_output=True,
            timeout=30,
        )
        rescan(self.library)  # SoftHSM2 lists its tokens when initialised: make this process see the new one
        return Pkcs11Config(self.library, label, USER_PIN)

    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def token_settings(config: Pkcs11Config, folder: Path) -> dict[str, Any]:
    """The service's settings for keys in the token of `config`, its PIN in a file under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    pin_file = folder / "pin"
    pin_file.write_text(config.pin + "\n")
    return {
        "key_provider": "pkcs11",
        "pkcs11_module": config.module,
        "pkcs11_token_label": config.token_label,
        "pkcs11_pin_file": pin_file,
    }
