"""A server worker takes its start-up heap out of the garbage collector's sight; an app built any other way does not.

Each case runs in a fresh interpreter: freezing is for the life of a process, which the test process must not be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import gc, json
from api.cli import migrate
from api.settings import Settings
from api.app import app_factory, create_app
migrate(Settings())
create_app()
after_create = gc.get_freeze_count()
app_factory()
print(json.dumps({"after_create": after_create, "frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_only_a_workers_factory_freezes_what_start_up_built(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WALLET_")},
        "WALLET_DATA_DIR": str(tmp_path / "data"),
        "WALLET_LOG_LEVEL": "error",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["after_create"] == 0  # tests build hundreds of apps in one process: none of them is frozen
    assert counts["frozen"] > 50_000  # modules, both apps, routes, schemas
    # What a full collection still walks is what came after the freeze: a small fraction of the start-up heap.
    assert counts["tracked"] < counts["frozen"] / 20
