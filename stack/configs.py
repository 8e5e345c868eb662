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


LOCAL_HEADER = "Written by `python -m stack up`; edits are lost at the next `up`."
DEPLOY_HEADER = "Made by stack.configs, as `python -m stack up` writes it; a test keeps the two the same."


def haproxy_config(
    *,
    bind: str,
    servers: Sequence[str],
    socket: Path,
    metrics_bind: str,
    header: str = LOCAL_HEADER,
    docker_dns: bool = False,
) -> str:
    """The load balancer in front of the workers (`servers`: host:port of each), and HAProxy's own Prometheus
    exporter on `metrics_bind` (deploy/prometheus/ scrapes it: the 5xx it answers itself when no worker can)."""
    lines = "\n".join(f"    server app-{n} {address}" for n, address in enumerate(servers, start=1))
    # In containers the workers' names are resolved through Docker's DNS, again when a container comes back.
    dns = "\nresolvers docker\n    nameserver dns 127.0.0.11:53\n" if docker_dns else ""
    server_dns = " resolvers docker init-addr last,libc,none" if docker_dns else ""
    return f"""# {header}
global
    maxconn 4096
    stats socket {socket} mode 600 level admin
    log stdout format raw daemon
{dns}
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
    bind {bind}
    default_backend workers

frontend metrics
    bind {metrics_bind}
    no log
    http-request use-service prometheus-exporter if {{ path /metrics }}
    http-request return status 404

backend workers
    # To the worker with the fewest requests in flight: each worker is one event loop, so a request dealt round
    # robin behind a slow one (a report, an upload) waits for it (the wallet's list at 8 connections: p99 56 ms
    # round robin, 47 ms least connections).
    balance leastconn
    # Only GET and HEAD (METH_GET matches both) are sent again once they reached a worker: a POST, PUT or DELETE the
    # worker may have applied is never repeated; it is still retried when its connection was refused (nothing sent).
    http-request disable-l7-retry unless METH_GET
    option httpchk GET /health
    http-check expect status 200
    option log-health-checks
    # /health pings the database and the blob store (each bounded at 5 s by the app): a check waits 3 s.
    timeout check 3s
    # A worker that fails two checks a second apart is taken out; two good ones bring it back.
    default-server check inter 1s fastinter 500ms downinter 1s fall 2 rise 2{server_dns}
{lines}
"""


def pgbouncer_config(
    *, listen: str, port: int, pg_host: str, pg_port: int, auth_file: Path, header: str = LOCAL_HEADER
) -> str:
    databases = "\n".join(f"{name} = host={pg_host} port={pg_port} dbname={name}" for name in (DATABASE, KEYS_DATABASE))
    return f"""; {header}
[databases]
{databases}

[pgbouncer]
listen_addr = {listen}
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
; After PostgreSQL restarts, try it again within a second (the default waits 15 s after a failed connection, and
; every request answers 503 meanwhile).
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
"""


def prometheus_config(
    *, workers: Sequence[str], balancer: str, rules: str, header: str = LOCAL_HEADER, interval: str = "15s"
) -> str:
    """Prometheus scraping every worker's metrics listener (`workers`: host:port of each) and HAProxy's exporter, with
    the alert rules of deploy/prometheus/alerts.yml (`rules`: its path, relative to this file or absolute)."""
    targets = ", ".join(f'"{target}"' for target in workers)
    return f"""# {header}
global:
  scrape_interval: {interval}
  evaluation_interval: {interval}

rule_files:
  - {rules}

scrape_configs:
  # Each worker's own listener (WALLET_METRICS_PORT): its requests, and the database-wide gauges every worker reports
  # alike (the rules take their max).
  - job_name: congdanso
    static_configs:
      - targets: [{targets}]
  # What the balancer answered: its 503s when no worker could take a request never reach a worker's metrics.
  - job_name: haproxy
    static_configs:
      - targets: ["{balancer}"]
"""


def deploy_configs() -> dict[str, str]:
    """deploy/'s HAProxy, PgBouncer and Prometheus files (Compose service names, standard ports), from the same
    templates."""
    return {
        "haproxy/haproxy.cfg": haproxy_config(
            bind="*:8000",
            servers=["app-1:8000", "app-2:8000"],
            socket=Path("/var/run/haproxy-admin.sock"),
            metrics_bind="*:8405",
            header=DEPLOY_HEADER,
            docker_dns=True,
        ),
        "prometheus/prometheus.yml": prometheus_config(
            workers=["app-1:9100", "app-2:9100"], balancer="haproxy:8405", rules="alerts.yml", header=DEPLOY_HEADER
        ),
        "pgbouncer/pgbouncer.ini": pgbouncer_config(
            listen="0.0.0.0",  # noqa: S104 - inside the Compose network
            port=6432,
            pg_host="postgres",
            pg_port=5432,
            auth_file=Path("/etc/pgbouncer/userlist.txt"),
            header=DEPLOY_HEADER,
        ),
    }


def pgbouncer_userlist(password: str) -> str:
    return f'"{DB_USER}" "{password}"\n'


def database_url(*, port: int, password: str, database: str) -> str:
    # Through PgBouncer in transaction mode: psycopg's automatic server-side prepared statements are switched off.
    return f"postgresql+psycopg://{DB_USER}:{password}@127.0.0.1:{port}/{database}?prepare_threshold=none"


def settings_env(
    *,
    data_dir: Path,
    lb_port: int,
    pgbouncer_port: int,
    postgres_port: int,
    db_password: str,
    s3_port: int,
    access: str,
    secret: str,
) -> str:
    """The settings every `congdanso` command run with this data folder takes (the environment still wins)."""
    values = {
        "WALLET_DATABASE_URL": database_url(port=pgbouncer_port, password=db_password, database=DATABASE),
        # The app workers leave the periodic work to the one job worker. It reaches PostgreSQL directly, as do
        # pg_dump and pg_restore (`congdanso backup`/`restore`): LISTEN/NOTIFY and their session settings do not
        # pass PgBouncer in transaction mode.
        "WALLET_BACKGROUND": "external",
        "WALLET_DIRECT_DATABASE_URL": database_url(port=postgres_port, password=db_password, database=DATABASE),
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
