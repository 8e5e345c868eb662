"""A PostgreSQL server started from Debian's server binaries: a throwaway one for tests, or the stack's own.

    with PostgresServer() as pg:
        url = pg.create_database("wallet_test")   # postgresql+psycopg://postgres:…@127.0.0.1:PORT/wallet_test
        ...
        pg.stop()    # fault injection: the database goes away mid-flight
        pg.start()   # and comes back on the same port with the same data

By default the cluster lives in a temporary folder that is removed on exit, with durability switched off (fsync,
synchronous_commit, full_page_writes): a test cluster never needs to survive a crash. `PostgresServer(root=…,
durable=True).open()` keeps a durable cluster in `root` instead (the stack's: `stack.supervisor`), created on the first
open and started again on later ones; `close()` then stops it and keeps its files.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

_PG_ROOT = Path("/usr/lib/postgresql")
_INSTALL_HINT = "apt-get update && apt-get install -y postgresql"
_SUPERUSER = "postgres"
_PORT_ATTEMPTS = 3


def find_bindir() -> Path:
    """The newest `/usr/lib/postgresql/<version>/bin` that holds initdb and pg_ctl."""
    candidates: list[tuple[int, Path]] = []
    if _PG_ROOT.is_dir():
        for entry in _PG_ROOT.iterdir():
            bindir = entry / "bin"
            if re.fullmatch(r"\d+", entry.name) and (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
                candidates.append((int(entry.name), bindir))
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL server binaries (initdb, pg_ctl) not found under {_PG_ROOT}/*/bin. Install: {_INSTALL_HINT}"
        )
    return max(candidates)[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A PostgreSQL cluster on 127.0.0.1, owned by this object (a context manager).

    `url(dbname)` gives a SQLAlchemy URL (psycopg 3 driver, password authentication over TCP).
    `stop()` / `start()` take the server down and bring it back on the same port with the same data.
    """

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        settings: dict[str, str] | None = None,
        root: Path | None = None,
        port: int = 0,
        password: str | None = None,
        durable: bool = False,
    ) -> None:
        self._bindir = bindir
        self._settings = dict(settings or {})
        self.password = password or secrets.token_hex(16)
        self.host = "127.0.0.1"
        self.port = port
        self._root: Path | None = root
        self._temporary = root is None
        self._durable = durable
        self._running = False

    # -- paths -------------------------------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("PostgresServer is not set up: use it as a context manager")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def running(self) -> bool:
        return self._running

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        self.open()
        return self

    def open(self) -> None:
        """Create the cluster unless its folder holds one already, and start it (on a free port unless one was given).

        A temporary cluster is removed at interpreter exit if nobody closed it; a kept one is left alone."""
        self._bindir = self._bindir or find_bindir()
        if self._temporary:
            self._root = Path(tempfile.mkdtemp(prefix="cds-pg-"))
            atexit.register(self.close)
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            self._running = self.is_up()
            if self.port:
                self.start()
            else:
                self._start_on_free_port()
        except BaseException:
            self.close()
            raise

    def is_up(self) -> bool:
        """Whether a server runs on this cluster's folder (`pg_ctl status`), whoever started it."""
        return self._run([str(self._binary("pg_ctl")), "-D", str(self.data_dir), "status"]).returncode == 0

    def pid(self) -> int | None:
        """The postmaster's pid, from its lock file, while a server runs on this folder."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (if running) and remove its folder if it is temporary. Safe to call twice."""
        atexit.unregister(self.close)
        try:
            if self._running:
                self.stop()
        finally:
            if self._root is not None and self._temporary:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def stop(self) -> None:
        """Shut the server down (`pg_ctl stop -m fast`): open connections are cut, data is kept. A kept cluster is
        stopped whoever started it (`stack down` runs in another process than `stack up`)."""
        if not self._running and (self._temporary or not self.is_up()):
            return
        self._pg_ctl("stop", "-m", "fast")
        self._running = False

    def start(self) -> None:
        """Start the server again on the same port, after `stop()`."""
        if self._running:
            return
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.log_path), "-o", self._server_options())
        self._running = True

    # -- databases ---------------------------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{_SUPERUSER}:{self.password}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string, for psycopg used directly."""
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=_SUPERUSER, password=self.password, dbname=dbname
        )

    def create_database(self, name: str, *, template: str | None = None, owner: str | None = None) -> str:
        """Create a database (empty, or a copy of `template`) and return its SQLAlchemy URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        if owner is not None:
            statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(statement)
        return self.url(name)

    def ensure_role(self, name: str, password: str) -> None:
        """A login role with this password (created, or its password set again)."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = sql.SQL(
                "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else "CREATE ROLE {} WITH LOGIN PASSWORD {}"
            )
            conn.execute(verb.format(sql.Identifier(name), sql.Literal(password)))

    def has_database(self, name: str) -> bool:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting anyone still connected to it. No error if it does not exist."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- internals ---------------------------------------------------------------------------------------------------

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the `postgres` system user when we are root (initdb refuses root)."""
        command = ["runuser", "-u", _SUPERUSER, "--", *args] if self._as_root() else args
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)  # noqa: S603

    def _initdb(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._as_root():
            shutil.chown(self.root, _SUPERUSER, _SUPERUSER)
            shutil.chown(self.socket_dir, _SUPERUSER, _SUPERUSER)
            shutil.chown(pwfile, _SUPERUSER, _SUPERUSER)
        result = self._run(
            [
                str(self._binary("initdb")),
                "-D",
                str(self.data_dir),
                "-U",
                _SUPERUSER,
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                *([] if self._durable else ["--no-sync"]),
            ]
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _start_on_free_port(self) -> None:
        """Pick a free port and start; another process may grab the port in between, so try a few."""
        error: RuntimeError | None = None
        for _ in range(_PORT_ATTEMPTS):
            self.port = free_port()
            try:
                self.start()
            except RuntimeError as exc:
                error = exc
                if "already in use" not in str(exc):
                    raise
            else:
                return
        raise error or RuntimeError("no port attempted")

    def _server_options(self) -> str:
        settings = {"listen_addresses": self.host}
        if not self._durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings |= self._settings
        options = [f"-p {self.port}", f"-k {shlex.quote(str(self.socket_dir))}"]
        options += [f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items()]
        return " ".join(options)

    def _pg_ctl(self, *args: str) -> None:
        result = self._run([str(self._binary("pg_ctl")), "-D", str(self.data_dir), *args])
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
            raise RuntimeError(
                f"pg_ctl {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n--- log ---\n{log}"
            )

    def _binary(self, name: str) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir / name

    def __repr__(self) -> str:
        return f"PostgresServer(host={self.host!r}, port={self.port}, running={self._running})"
