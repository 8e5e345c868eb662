"""The main database, dumped from one consistent snapshot and restored in one transaction.

PostgreSQL: `pg_dump --format=custom` of the server's own major version (a snapshot in one REPEATABLE READ
transaction; the service keeps running), the job queue's rows left out (they are the running deployment's state: the
periodic jobs are deferred again at their next tick). Restored as one transaction: the schema the target's
`congdanso migrate` made is dropped and the dump's SQL (`pg_restore` to a script, run by `psql --single-transaction`
with ON_ERROR_STOP) builds it again, so on any error nothing changes. `pg_restore --clean` cannot be used: it drops
each partition's inherited primary key of the monthly-partitioned tables one by one, which PostgreSQL refuses.
Both speak to the server directly, never through PgBouncer in transaction mode,
where their session settings would leak into the service's connections. SQLite: the online backup API, one step.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg
from sqlalchemy import Engine, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from backup.errors import BackupError
from storage.db import create_db_engine
from storage.migrate import current_revision

PG_DUMP_FILE = "database.pgdump"
SQLITE_FILE = "database.sqlite3"
PG_BINDIRS = Path("/usr/lib/postgresql")
QUEUE_TABLES = "procrastinate_"
TIMEOUT = 6 * 3600  # a dump of a province's database takes minutes; never hang for ever


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


def dump(url: str, dest: Path) -> dict[str, object]:
    """Dump the database at `url` into `dest`; returns the manifest's `database` section."""
    backend = backend_of(url)
    if backend == "sqlite":
        name = SQLITE_FILE
        _sqlite_copy(_sqlite_path(url), dest / name, into_backup=True)
        tool = f"sqlite {sqlite3.sqlite_version}"
    elif backend == "postgresql":
        name = PG_DUMP_FILE
        tool = _pg_dump(make_url(url), dest / name)
    else:
        raise BackupError(f"no backup for a {backend} database")
    return {"backend": backend, "file": name, "tool": tool, "revision": _revision(url)}


def check_target(url: str, section: dict[str, object]) -> None:
    """The target database is of the backup's kind, empty of rows and (PostgreSQL) at the backup's revision."""
    backend = backend_of(url)
    if backend != section["backend"]:
        raise BackupError(f"the backup holds a {section['backend']} database; the target is {backend}")
    if backend == "postgresql" and (found := _revision(url)) not in {None, section["revision"]}:
        raise BackupError(
            f"the target database is at revision {found}, the backup at {section['revision']}: restore with the "
            "release that made the backup, then upgrade"
        )


def tables_with_rows(url: str) -> list[str]:
    """The service's tables holding any row (version tables and throttle counters aside)."""
    engine = create_db_engine(url, pool_size=1)
    try:
        names = [n for n in inspect(engine).get_table_names() if not _bookkeeping(n)]
        with engine.connect() as conn:
            return [n for n in names if conn.execute(select(text("1")).select_from(table(n)).limit(1)).first()]
    finally:
        engine.dispose()


def restore(url: str, source: Path, section: dict[str, object]) -> None:
    """Replace the target's content with the dump, all or nothing."""
    path = source / str(section["file"])
    if section["backend"] == "sqlite":
        _sqlite_copy(path, _sqlite_path(url), into_backup=False)
    else:
        _pg_restore(make_url(url), path)


def _bookkeeping(name: str) -> bool:
    """Tables whose rows a fresh deployment writes by itself: migration versions, throttle counters, the job queue
    (its worker registers and defers periodic jobs at once) and the janitor's place in its walk of the blobs."""
    return "alembic_version" in name or name == "janitor_cursor" or name.startswith(("throttle_", QUEUE_TABLES))


def _revision(url: str) -> str | None:
    engine: Engine = create_db_engine(url, pool_size=1)
    try:
        return current_revision(engine, chain="main")
    finally:
        engine.dispose()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _sqlite_copy(source: Path, target: Path, *, into_backup: bool) -> None:
    """SQLite's online backup API in one step: a consistent copy while others write, applied to the target in one
    transaction (a failed step leaves the target as it was)."""
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    # immutable: reading the backup's copy leaves no -wal or -shm file beside it (the backup holds only its files).
    src = sqlite3.connect(f"file:{source}?mode=ro{'&immutable=1' if into_backup is False else ''}", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        if into_backup:
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no WAL beside it
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite backup API failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def _server_major(url: URL) -> int:
    try:
        conninfo = psycopg.conninfo.make_conninfo(**_conninfo(url), connect_timeout=10)
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
    except psycopg.Error as exc:
        raise BackupError(f"cannot reach PostgreSQL at {url.host}:{url.port}: {type(exc).__name__}") from None
    return int(str(row[0] if row else 0)) // 10000


def _tool(url: URL, name: str) -> tuple[str, int]:
    """`pg_dump`/`pg_restore` of the server's major version (Debian keeps each under /usr/lib/postgresql/N/bin)."""
    major = _server_major(url)
    binary = PG_BINDIRS / str(major) / "bin" / name
    if not binary.exists():
        found = shutil.which(name)
        if found is None:
            raise BackupError(
                f"{name} for PostgreSQL {major} is not installed (Debian package postgresql-client-{major})"
            )
        binary = Path(found)
    return str(binary), major


def _conninfo(url: URL) -> dict[str, str]:
    values = {"host": url.host, "port": str(url.port or 5432), "user": url.username, "dbname": url.database}
    values |= {"password": url.password} if url.password else {}
    return {k: v for k, v in values.items() if v}


def _client_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options on the command line, the password in the environment (never in `ps`)."""
    info = _conninfo(url)
    args = [f"--host={info['host']}", f"--port={info['port']}", f"--username={info.get('user', '')}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"PGCONNECT_TIMEOUT": "10"}
    if "password" in info:
        env["PGPASSWORD"] = info["password"]
    return [*args, f"--dbname={info['dbname']}"], env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {TIMEOUT} s") from None
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _pg_dump(url: URL, target: Path) -> str:
    binary, major = _tool(url, "pg_dump")
    args, env = _client_args(url)
    options = ["--format=custom", "--no-owner", "--no-acl", f"--exclude-table-data={QUEUE_TABLES}*"]
    _run([binary, *options, f"--file={target}", *args], env, "pg_dump")
    return f"pg_dump {major}"


def _pg_restore(url: URL, dump_file: Path) -> None:
    restore_bin, _major = _tool(url, "pg_restore")
    psql, _major = _tool(url, "psql")
    args, env = _client_args(url)
    script = [restore_bin, "--no-owner", "--no-acl", "--file=-", str(dump_file)]
    reset = ["--command=DROP SCHEMA public CASCADE", "--command=CREATE SCHEMA public"]
    apply = [psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction", *reset, "--file=-"]
    try:
        with subprocess.Popen(script, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as producer:  # noqa: S603
            assert producer.stdout is not None  # noqa: S101 -- stdout=PIPE above
            done = subprocess.run(  # noqa: S603
                [*apply, *args],
                check=False,
                env=env,
                stdin=producer.stdout,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            producer.stdout.close()
            made = producer.wait(timeout=TIMEOUT)
            made_errors = producer.stderr.read().decode(errors="replace") if producer.stderr else ""
    except subprocess.TimeoutExpired:
        raise BackupError(f"pg_restore did not finish within {TIMEOUT} s") from None
    if done.returncode != 0:  # first: a failed psql ends pg_restore's pipe, and that error would hide this one
        raise BackupError(f"restoring the database failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    if made != 0:
        raise BackupError(f"pg_restore failed ({made}): {made_errors.strip()[-2000:]}")
