"""The configuration files the stack writes for HAProxy, PgBouncer and the app (`settings.env`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

DATABASE = "wallet"
KEYS_DATABASE = "wallet_keys"
DB_USER = "wallet"
BUCKET = "wallet"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner reads (several hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def haproxy_config(*, port: int, workers: Sequence[int], socket: Path) -> str:
    servers = "\n".join(f"    server app-{i} 127.0.0.1:{p}" for i, p in enumerate(workers, start=1))
    return f"""# Written by `python -m stack up`; edits are lost at the next `up`.
global
    maxconn 4096
    stats socket {socket} mode 600 level admin
    log stdout format raw daemon

defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request whose worker refuses the connection, dies or says nothing is tried again, on another worker.
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout

frontend wallet
    bind 127.0.0.1:{port}
    default_backend workers

backend workers
    balance roundrobin
    # Only GET and HEAD (METH_GET matches both) are sent again once they reached a worker: a POST, PUT or DELETE the
    # worker may have applied is never repeated; it is still retried when its connection was refused (nothing sent).
    http-request disable-l7-retry unless METH_GET
    option httpchk GET /health
    http-check expect status 200
    # A worker that fails two checks a second apart is taken out; two good ones bring it back.
    default-server check inter 1s fastinter 500ms downinter 1s fall 2 rise 2
{servers}
"""


def pgbouncer_config(*, port: int, pg_port: int, auth_file: Path) -> str:
    databases = "\n".join(f"{name} = host=127.0.0.1 port={pg_port} dbname={name}" for name in (DATABASE, KEYS_DATABASE))
    return f"""; Written by `python -m stack up`; edits are lost at the next `up`.
[databases]
{databases}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {auth_file}
; A server connection serves one transaction, then the next client's: the app's engines must not keep prepared
; statements on it (`?prepare_threshold=none` in the database URL, storage.db).
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
"""


def pgbouncer_userlist(password: str) -> str:
    return f'"{DB_USER}" "{password}"\n'


def database_url(*, port: int, password: str, database: str) -> str:
    # Through PgBouncer in transaction mode: psycopg's automatic server-side prepared statements are switched off.
    return f"postgresql+psycopg://{DB_USER}:{password}@127.0.0.1:{port}/{database}?prepare_threshold=none"


def settings_env(
    *, data_dir: Path, lb_port: int, pgbouncer_port: int, db_password: str, s3_port: int, access: str, secret: str
) -> str:
    """The settings every `congdanso` command run with this data folder takes (the environment still wins)."""
    values = {
        "WALLET_DATABASE_URL": database_url(port=pgbouncer_port, password=db_password, database=DATABASE),
        "WALLET_KEYSTORE_URL": database_url(port=pgbouncer_port, password=db_password, database=KEYS_DATABASE),
        "WALLET_STORAGE_URL": f"s3://{BUCKET}?endpoint=127.0.0.1:{s3_port}&secure=false",
        "WALLET_S3_ACCESS_KEY": access,
        "WALLET_S3_SECRET_KEY": secret,
        "WALLET_KEYRING_FILE": str(data_dir / "keys" / "keyring.json"),
        "WALLET_PUBLIC_URL": f"http://127.0.0.1:{lb_port}",
        "WALLET_TRUSTED_PROXIES": "'" + json.dumps(["127.0.0.1"]) + "'",
    }
    lines = [f"{name}={value}" for name, value in values.items()]
    return (
        "# Written by `python -m stack up` for this data folder (docs/operations/stack.md).\n" + "\n".join(lines) + "\n"
    )
