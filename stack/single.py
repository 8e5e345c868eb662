"""`stack stop NAME` and `stack start NAME`: one process of a running stack stopped, or started again, alone, the
rest left running (an operator replacing a worker, a maintenance restart of PostgreSQL, a fault drill)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from stack import seaweed, supervisor
from stack.layout import Layout, State
from stack.processes import StackError, http_ok, spawn, stop_all, wait_until


def stop_one(layout: Layout, name: str) -> None:
    """Stop `name` (PostgreSQL as `pg_ctl stop -m fast` does; any other process by SIGTERM, SIGKILL after the stack's
    stop timeout). It stays recorded, so `status` shows it `down` and `start` knows what to start."""
    state = _running_state(layout, name)
    if name == "postgres":
        supervisor._postgres(layout, state).stop()
        return
    process = state.process(name)
    if process is None or not process.alive:
        raise StackError(f"{name} is not running")
    stop_all([process], timeout=supervisor.STOP_TIMEOUT)


def start_one(layout: Layout, name: str, env: Mapping[str, str] | None = None) -> None:
    """Start `name` again, as `stack up` started it, on the same port; waits until it answers."""
    state = _running_state(layout, name)
    process = state.process(name)
    if process is not None and process.alive and name != "postgres":
        raise StackError(f"{name} runs already (pid {process.pid})")
    if name == "postgres":
        supervisor._start_postgres(layout, state)
    elif name == "pgbouncer":
        supervisor._start_pgbouncer(layout, state)
    elif name.startswith("weed-"):
        _start_weed(layout, state, name)
    elif name.startswith("app-"):
        _start_worker(layout, state, name, env)
    elif name == "jobs":
        supervisor._start_jobs(layout, state, env)
    else:  # haproxy: its configuration is written again from the recorded ports
        supervisor._start_haproxy(layout, state)


def _running_state(layout: Layout, name: str) -> State:
    state = State.load(layout)
    if not state.processes:
        raise StackError(f"the stack in {layout.data_dir} is not running: `stack up` first")
    names = supervisor.process_names(state.workers)
    if name not in names:
        raise StackError(f"no process {name!r} in this stack; its processes: {', '.join(names)}")
    return state


def _start_weed(layout: Layout, state: State, name: str) -> None:
    root = layout.seaweed_dir
    command = seaweed.cluster_commands(root, state.ports)[name]
    env = {**os.environ, "TMPDIR": str(root)}
    log = layout.log(name)
    supervisor._record(layout, state, spawn(name, command, port=state.ports[name], log=log, env=env, cwd=root))
    url = f"http://127.0.0.1:{state.ports[name]}/status" if name.startswith("weed-volume-") else None
    if url is not None:
        wait_until(partial(http_ok, url), timeout=supervisor.START_TIMEOUT, what=f"{name} to answer", log=log)


def _start_worker(layout: Layout, state: State, name: str, env: Mapping[str, str] | None) -> None:
    port = state.ports[name]
    worker_env = supervisor.worker_environment(layout, state, name, env)
    congdanso = str(Path(sys.executable).parent / "congdanso")
    log = layout.log(name)
    supervisor._record(layout, state, spawn(name, [congdanso, "serve"], port=port, log=log, env=worker_env))
    url = f"http://127.0.0.1:{port}/health"
    wait_until(partial(http_ok, url), timeout=supervisor.START_TIMEOUT, what=f"{name}'s /health", log=log)
