"""A server worker takes its start-up heap out of the garbage collector's sight; an app built any other way does not.

Each case runs in a fresh interpreter: freezing is for the life of a process, which the test process must not be.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.api.fresh import run_fresh

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
    done = run_fresh(SCRIPT, tmp_path / "data", log_level="error")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["after_create"] == 0  # tests build hundreds of apps in one process: none of them is frozen
    assert counts["frozen"] > 50_000  # modules, both apps, routes, schemas
    # What a full collection still walks is what came after the freeze: a small fraction of the start-up heap.
    assert counts["tracked"] < counts["frozen"] / 20
