"""A Python script run in a fresh interpreter with the service's settings for one data directory: for what a test
process must not do to itself (freeze its heap) or where module caches would carry an earlier test's state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_fresh(script: str, data_dir: Path, *, log_level: str) -> subprocess.CompletedProcess[str]:
    """`script` run from the repository root with `WALLET_DATA_DIR` and `WALLET_LOG_LEVEL` as its only settings."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WALLET_")},
        "WALLET_DATA_DIR": str(data_dir),
        "WALLET_LOG_LEVEL": log_level,
    }
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
