"""`make profile`: one short profile of a hot path under load draws our own code in a flame graph."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import flames

REPO_ROOT = Path(__file__).resolve().parents[2]


def _can_trace() -> str | None:
    """Why py-spy cannot sample another process here (no ptrace right), or None when it can."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        done = subprocess.run(
            [str(flames.PY_SPY), "dump", "--pid", str(sleeper.pid)],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    return None if done.returncode == 0 else done.stderr.strip() or done.stdout.strip()


@pytest.mark.timeout(120)
def test_a_short_profile_of_get_me_is_a_flame_graph_of_our_code(tmp_path: Path) -> None:
    refused = _can_trace()
    if refused is not None:
        pytest.skip(f"py-spy may not trace other processes here (needs root or CAP_SYS_PTRACE): {refused}")
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("WALLET_")}
    done = subprocess.run(
        [sys.executable, "-m", "bench.profile", "me", "--seconds", "2", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    svg = tmp_path / "me.svg"
    assert svg.read_text().startswith("<?xml")
    frames = flames.read_frames(svg)
    names = {frame.name for frame in frames}
    assert any(name.startswith("MeController.me (api/controllers/me.py") for name in names), sorted(names)[:50]
    total, spots = flames.hotspots(frames)
    assert total > 50 and len(spots) == 15  # 2 s at 100 samples/s of a busy server
    assert sum(spot.own for spot in spots) <= total
    summary = (tmp_path / "me.txt").read_text()
    assert summary in done.stdout
    assert "MeController.me (api/controllers/me.py" in summary  # among our functions by inclusive time
