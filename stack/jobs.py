"""Whether the stack's background worker (`congdanso jobs worker`) is alive as the job queue sees it: a worker row in
procrastinate's table whose heartbeat is recent (the worker beats every 10 s)."""

from __future__ import annotations

import psycopg

from stack import configs
from stack.layout import State

HEARTBEAT_SECONDS = 30


def jobs_heartbeat(state: State) -> bool:
    url = configs.database_url(port=state.ports["postgres"], password=state.db_password, database=configs.DATABASE)
    conninfo = url.replace("postgresql+psycopg", "postgresql").split("?")[0]
    query = "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)"
    with psycopg.connect(conninfo, connect_timeout=2) as conn:
        row = conn.execute(query, (HEARTBEAT_SECONDS,)).fetchone()
    return row is not None and row[0] > 0
