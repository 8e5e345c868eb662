"""Re-vendor the browser assets the pages use from their npm packages, verified against the registry's integrity hash,
into `web/static/vendor/`, and write down what was taken (`web/static/vendor/VENDORED.json`: package, version, file,
SHA-256, licence). No Node build happens at install or run time: the files are committed.

    .venv/bin/python scripts/vendor_assets.py          # fetch the pinned versions again and check they match
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx

VENDOR = Path(__file__).resolve().parent.parent / "web" / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    source: str  # path inside the package tarball
    target: str  # path under web/static/vendor/


# htmx 2: the request headers litestar-htmx 0.5 reads (htmx 4 renamed some).
# The counter's QR reader where the browser has no native BarcodeDetector: the polyfill's self-contained IIFE build and
# the WebAssembly of the zxing-wasm version that build names (it checks that SHA-256), served from /static, never a CDN.
ASSETS = (
    Asset("htmx.org", "2.0.11", "package/dist/htmx.min.js", "htmx/htmx.min.js"),
    Asset("barcode-detector", "3.2.2", "package/dist/iife/ponyfill.js", "barcode-detector/ponyfill.js"),
    Asset("zxing-wasm", "3.1.3", "package/dist/reader/zxing_reader.wasm", "zxing-wasm/zxing_reader.wasm"),
    # MIT asks for the notice to travel with the copies (the minified build carries none).
    Asset("barcode-detector", "3.2.2", "package/LICENSE", "barcode-detector/LICENSE"),
    Asset("zxing-wasm", "3.1.3", "package/LICENSE", "zxing-wasm/LICENSE"),
)


def fetch(asset: Asset, client: httpx.Client) -> tuple[bytes, str]:
    meta = client.get(f"{REGISTRY}/{asset.package}/{asset.version}").raise_for_status().json()
    tarball = client.get(meta["dist"]["tarball"]).raise_for_status().content
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != expected:
        raise SystemExit(f"{asset.package}@{asset.version}: the tarball does not match the registry's integrity")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        member = archive.extractfile(asset.source)
        if member is None:
            raise SystemExit(f"{asset.source} not in {asset.package}@{asset.version}")
        return member.read(), str(meta.get("license", "unknown"))


def main() -> None:
    records = []
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        for asset in ASSETS:
            content, licence = fetch(asset, client)
            target = VENDOR / asset.target
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            digest = hashlib.sha256(content).hexdigest()
            records.append(
                {
                    "package": asset.package,
                    "version": asset.version,
                    "file": asset.target,
                    "sha256": digest,
                    "license": licence,
                    "source": asset.source,
                }
            )
            print(f"{asset.package}@{asset.version} {asset.target} sha256={digest} ({licence})")
    (VENDOR / "VENDORED.json").write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
