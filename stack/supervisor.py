"""`stack up` and `stack down`: every process of the topology started in order, each waited for until it answers,
and stopped in the reverse order. Data (PostgreSQL's cluster, SeaweedFS's volumes, the keys) stays between runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import psycopg
from minio import Minio

from crypto.keyring import load_or_create_keyring
from stack import configs, seaweed
from stack.jobs import jobs_heartbeat
from stack.layout import ROOT_PG_PARENT, Layout, State
from stack.postgres import PostgresServer
from stack.processes import Process, StackError, free_ports, http_ok, spawn, started_at, stop_all, tcp_open, wait_until
from storage.blobs.s3 import minio_client

POSTGRES_USER = "postgres"  # the system user PostgreSQL and PgBouncer run as when the stack is started by root
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
WEED = ("weed-master", "weed-volume-1", "weed-volume-2", "weed-filer", "weed-s3")
# Names of every port the stack listens on besides the load balancer's and the workers'.
SERVICE_PORTS = ("postgres", "pgbouncer", *(f"{name}{grpc}" for name in WEED for grpc in ("", ".grpc")))
SERVICE_PORTS += ("haproxy.metrics",)


def process_names(workers: int) -> list[str]:
    """The stack's processes in the order they start."""
    return ["postgres", "pgbouncer", *WEED, *(f"app-{n}" for n in range(1, workers + 1)), "jobs", "haproxy"]


def up(layout: Layout, *, workers: int, port: int, env: Mapping[str, str] | None = None) -> State:
    """Start the whole stack; on any failure, stop what was started and raise StackError."""
    state = State.load(layout)
    if running := [p.name for p in state.processes if p.alive]:
        raise StackError(f"the stack runs already ({', '.join(running)}): `stack down` first")
    layout.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    layout.data_dir.chmod(0o700)
    state.processes, state.workers = [], workers
    _choose_ports(state, workers=workers, lb_port=port)
    state.save(layout)
    try:
        _start_postgres(layout, state)
        _start_pgbouncer(layout, state)
        _start_seaweed(layout, state)
        _write_settings(layout, state)
        _run_congdanso(layout, ["migrate"], env)  # once, before the workers: concurrent first migrations would race
        _development_keyring(layout, env)
        _start_workers(layout, state, env)
        _start_jobs(layout, state, env)
        _start_haproxy(layout, state)
    except BaseException:
        down(layout)
        raise
    return state


def down(layout: Layout) -> list[str]:
    """Stop every process the stack started (load balancer first, PostgreSQL last); returns their names."""
    state = State.load(layout)
    by_name = {p.name: p for p in state.processes}
    layers: list[Callable[[str], bool]] = [
        lambda name: name == "haproxy",
        lambda name: name.startswith("app-") or name == "jobs",
        lambda name: name.startswith("weed-") or name == "pgbouncer",
    ]
    for in_layer in layers:
        stop_all([p for name, p in by_name.items() if in_layer(name)], timeout=STOP_TIMEOUT)
    if "postgres" in by_name:
        _postgres(layout, state).stop()
    state.processes = []
    state.save(layout)
    return list(by_name)


def destroy(layout: Layout) -> None:
    """Stop the stack and delete all its data (its keys and PostgreSQL's cluster too). Only a folder a stack made
    (it holds the stack's state) is deleted: never, by a mistyped WALLET_DATA_DIR, `make serve`'s data and keys."""
    if not layout.state_file.exists():
        raise StackError(f"no stack in {layout.data_dir} (no {layout.state_file}): nothing deleted")
    down(layout)
    shutil.rmtree(layout.pg_root, ignore_errors=True)
    shutil.rmtree(layout.data_dir, ignore_errors=True)


# -- each piece -------------------------------------------------------------------------------------------------------


def _choose_ports(state: State, *, workers: int, lb_port: int) -> None:
    """The ports of the last run again when they are free (URLs in scripts keep working); new free ones otherwise."""
    wanted = [*SERVICE_PORTS, *(f"app-{n}{kind}" for n in range(1, workers + 1) for kind in ("", ".metrics"))]
    kept = {name: port for name, port in state.ports.items() if name in wanted and not tcp_open(port)}
    fresh = iter(free_ports(len(wanted) - len(kept), taken={*kept.values(), lb_port}))
    state.ports = {name: kept.get(name) or next(fresh) for name in wanted} | {"haproxy": lb_port}
    if tcp_open(lb_port):
        raise StackError(f"port {lb_port} (WALLET_PORT) is taken: choose another")


def _postgres(layout: Layout, state: State) -> PostgresServer:
    return PostgresServer(
        root=layout.pg_root, port=state.ports["postgres"], password=state.pg_superuser_password, durable=True
    )


def _as_root() -> bool:
    return os.geteuid() == 0


def _start_postgres(layout: Layout, state: State) -> None:
    if _as_root():
        # The postgres user must walk down to its cluster; the folder per stack below is its own (0700).
        ROOT_PG_PARENT.mkdir(parents=True, exist_ok=True)
        ROOT_PG_PARENT.chmod(0o755)
    pg = _postgres(layout, state)
    pg.open()
    pid = pg.pid()
    if pid is None:
        raise StackError(f"PostgreSQL started but wrote no pid: see {pg.log_path}")
    state.record(Process("postgres", pid, started_at(pid) or 0, pg.port, str(pg.log_path)))
    state.save(layout)
    pg.ensure_role(configs.DB_USER, state.db_password)
    for name in (configs.DATABASE, configs.KEYS_DATABASE):
        if not pg.has_database(name):
            pg.create_database(name, owner=configs.DB_USER)


def _start_pgbouncer(layout: Layout, state: State) -> None:
    folder = layout.pgbouncer_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    userlist, ini = folder / "userlist.txt", folder / "pgbouncer.ini"
    configs.write_private(userlist, configs.pgbouncer_userlist(state.db_password))
    port = state.ports["pgbouncer"]
    text = configs.pgbouncer_config(
        listen="127.0.0.1", port=port, pg_host="127.0.0.1", pg_port=state.ports["postgres"], auth_file=userlist
    )
    configs.write_private(ini, text)
    user = POSTGRES_USER if _as_root() else None  # PgBouncer refuses to run as root
    if user is not None:
        for path in (folder, userlist, ini):
            shutil.chown(path, user, user)
    log = layout.log("pgbouncer")
    process = spawn("pgbouncer", [_binary("pgbouncer"), str(ini)], port=port, log=log, cwd=folder, user=user)
    _record(layout, state, process)
    url = configs.database_url(port=port, password=state.db_password, database=configs.DATABASE)
    conninfo = url.replace("postgresql+psycopg", "postgresql").split("?")[0]

    def answers() -> bool:
        with psycopg.connect(conninfo, connect_timeout=2, prepare_threshold=None) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    wait_until(answers, timeout=START_TIMEOUT, what="PgBouncer to reach PostgreSQL", log=log)


def _start_seaweed(layout: Layout, state: State) -> None:
    root = layout.seaweed_dir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    seaweed.write_s3_config(root / "s3.json", access_key=state.s3_access_key, secret_key=state.s3_secret_key)
    commands = seaweed.cluster_commands(root, state.ports)
    env = {**os.environ, "TMPDIR": str(root)}  # weed's leftover sockets land here, not in /tmp
    master = state.ports["weed-master"]
    checks: dict[str, Callable[[], bool]] = {
        "weed-master": lambda: http_ok(f"http://127.0.0.1:{master}/cluster/status"),
        "weed-volume-2": lambda: seaweed.volume_servers(master) == seaweed.VOLUME_SERVERS,
        "weed-filer": lambda: tcp_open(state.ports["weed-filer"]),
        "weed-s3": lambda: _s3(state).bucket_exists(configs.BUCKET) in {True, False},
    }
    for name, command in commands.items():
        (root / name).mkdir(exist_ok=True, mode=0o700)
        process = spawn(name, command, port=state.ports[name], log=layout.log(name), env=env, cwd=root)
        _record(layout, state, process)
        if name in checks:
            wait_until(checks[name], timeout=START_TIMEOUT, what=f"{name} to answer", log=layout.log(name))
    client = _s3(state)
    if not client.bucket_exists(configs.BUCKET):
        client.make_bucket(configs.BUCKET)
        seaweed.grow_volumes(master, configs.BUCKET)


def _s3(state: State) -> Minio:
    return minio_client(
        f"127.0.0.1:{state.ports['weed-s3']}",
        access_key=state.s3_access_key,
        secret_key=state.s3_secret_key,
        secure=False,
        read_timeout=5,
    )


def _write_settings(layout: Layout, state: State) -> None:
    text = configs.settings_env(
        data_dir=layout.data_dir,
        lb_port=state.ports["haproxy"],
        pgbouncer_port=state.ports["pgbouncer"],
        postgres_port=state.ports["postgres"],
        db_password=state.db_password,
        s3_port=state.ports["weed-s3"],
        access=state.s3_access_key,
        secret=state.s3_secret_key,
    )
    configs.write_private(layout.settings_file, text)


def _app_env(layout: Layout, env: Mapping[str, str] | None, **values: str) -> dict[str, str]:
    """The caller's environment (WALLET_* too: e.g. cheaper PIN hashing in tests) with this stack's data folder."""
    return {**(os.environ if env is None else env), "WALLET_DATA_DIR": str(layout.data_dir), **values}


def _run_congdanso(layout: Layout, args: list[str], env: Mapping[str, str] | None) -> None:
    command = [str(Path(sys.executable).parent / "congdanso"), *args]
    result = subprocess.run(command, env=_app_env(layout, env), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"`congdanso {' '.join(args)}` failed ({result.returncode}):\n{result.stderr[-3000:]}")


def _development_keyring(layout: Layout, env: Mapping[str, str] | None) -> None:
    """Outside production, the development keyring every worker shares, made once here: workers starting together
    would each make one. In production the keyring is provisioned beforehand (docs/operations/keys.md)."""
    if (os.environ if env is None else env).get("WALLET_ENV", "dev") != "prod":
        load_or_create_keyring(layout.data_dir / "keys" / "keyring.json")


def worker_environment(layout: Layout, state: State, name: str, env: Mapping[str, str] | None) -> dict[str, str]:
    """App worker `name`'s environment: one process on its own port and metrics port, behind HAProxy."""
    values = {"WALLET_HOST": "127.0.0.1", "WALLET_PORT": str(state.ports[name]), "WALLET_WORKERS": "1"}
    values["WALLET_METRICS_PORT"] = str(state.ports[f"{name}.metrics"])  # each its own listener
    return _app_env(layout, env, **values)


def _start_workers(layout: Layout, state: State, env: Mapping[str, str] | None) -> None:
    congdanso = str(Path(sys.executable).parent / "congdanso")
    names = [f"app-{n}" for n in range(1, state.workers + 1)]
    for name in names:
        worker_env = worker_environment(layout, state, name, env)
        port = state.ports[name]
        _record(layout, state, spawn(name, [congdanso, "serve"], port=port, log=layout.log(name), env=worker_env))
    for name in names:
        wait_until(
            partial(http_ok, f"http://127.0.0.1:{state.ports[name]}/health"),
            timeout=START_TIMEOUT,
            what=f"{name}'s /health",
            log=layout.log(name),
        )


def _start_jobs(layout: Layout, state: State, env: Mapping[str, str] | None) -> None:
    """The one background worker (`congdanso jobs worker`), once the app workers answer; it has no port, and counts
    as up once its heartbeat is in the queue's table (`stack.status`)."""
    command = [str(Path(sys.executable).parent / "congdanso"), "jobs", "worker"]
    log = layout.log("jobs")
    _record(layout, state, spawn("jobs", command, port=0, log=log, env=_app_env(layout, env)))
    wait_until(partial(jobs_heartbeat, state), timeout=START_TIMEOUT, what="the job worker's heartbeat", log=log)


def _start_haproxy(layout: Layout, state: State) -> None:
    workers = [f"127.0.0.1:{state.ports[f'app-{n}']}" for n in range(1, state.workers + 1)]
    bind = f"127.0.0.1:{state.ports['haproxy']}"
    metrics = f"127.0.0.1:{state.ports['haproxy.metrics']}"
    text = configs.haproxy_config(bind=bind, servers=workers, socket=layout.haproxy_socket, metrics_bind=metrics)
    configs.write_private(layout.haproxy_config, text)
    haproxy = _binary("haproxy")
    command = [haproxy, "-c", "-q", "-f", str(layout.haproxy_config)]
    check = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if check.returncode != 0:
        raise StackError(f"haproxy refuses {layout.haproxy_config}:\n{check.stdout}{check.stderr}")
    log = layout.log("haproxy")
    process = spawn("haproxy", [haproxy, "-db", "-f", str(layout.haproxy_config)], port=state.ports["haproxy"], log=log)
    _record(layout, state, process)
    lb = f"http://127.0.0.1:{state.ports['haproxy']}/health"
    wait_until(lambda: http_ok(lb), timeout=START_TIMEOUT, what="the load balancer's /health", log=log)
    _write_prometheus(layout, state)


def _write_prometheus(layout: Layout, state: State) -> None:
    """A Prometheus configuration for this stack's ports, for an operator's own Prometheus (not started here)."""
    workers = [f"127.0.0.1:{state.ports[f'app-{n}.metrics']}" for n in range(1, state.workers + 1)]
    rules = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"
    balancer = f"127.0.0.1:{state.ports['haproxy.metrics']}"
    text = configs.prometheus_config(workers=workers, balancer=balancer, rules=str(rules))
    configs.write_private(layout.stack_dir / "prometheus.yml", text)


def _binary(name: str) -> str:
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        raise StackError(f"{name} is not installed: `make system-deps` installs it (Debian package {name})")
    return found


def _record(layout: Layout, state: State, process: Process) -> None:
    state.record(process)
    state.save(layout)
