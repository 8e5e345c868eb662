"""Where the stack keeps its files, and its state (secrets, ports, processes) between commands."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stack.processes import Process

STATE_VERSION = 1
# As root, PostgreSQL runs as the `postgres` user, who cannot enter the 0700 data folder: its cluster (and PgBouncer's
# files) live in a folder of their own here, one per data folder.
ROOT_PG_PARENT = Path("/var/lib/congdanso")


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @classmethod
    def of(cls, data_dir: str | os.PathLike[str]) -> Layout:
        return cls(Path(data_dir).absolute())

    @property
    def stack_dir(self) -> Path:
        return self.data_dir / "stack"

    @property
    def logs(self) -> Path:
        return self.stack_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.stack_dir / "state.json"

    @property
    def settings_file(self) -> Path:
        """Read by `api.settings.Settings` for every command run with this data folder."""
        return self.data_dir / "settings.env"

    @property
    def seaweed_dir(self) -> Path:
        return self.stack_dir / "seaweedfs"

    @property
    def haproxy_config(self) -> Path:
        return self.stack_dir / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.stack_dir / "haproxy.sock"

    @property
    def pg_root(self) -> Path:
        if os.geteuid() != 0:
            return self.stack_dir / "postgres"
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return ROOT_PG_PARENT / f"stack-{digest}"

    @property
    def pgbouncer_dir(self) -> Path:
        return self.pg_root / "pgbouncer"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


@dataclass
class State:
    """What `stack up` made, kept in `<data dir>/stack/state.json` (mode 0600): the secrets it generated once, the
    ports it chose (the same again at the next `up` while they are free) and the processes it started."""

    pg_superuser_password: str = field(default_factory=lambda: secrets.token_hex(16))
    db_password: str = field(default_factory=lambda: secrets.token_hex(16))
    s3_access_key: str = field(default_factory=lambda: "stack-" + secrets.token_hex(8))
    s3_secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    ports: dict[str, int] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    workers: int = 0
    version: int = STATE_VERSION

    @classmethod
    def load(cls, layout: Layout) -> State:
        if not layout.state_file.exists():
            return cls()
        raw = json.loads(layout.state_file.read_text())
        raw["processes"] = [Process(**process) for process in raw.get("processes", [])]
        return cls(**raw)

    def save(self, layout: Layout) -> None:
        layout.stack_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = layout.state_file.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(self), out, indent=2)
        temporary.replace(layout.state_file)

    def record(self, process: Process) -> None:
        self.processes = [p for p in self.processes if p.name != process.name] + [process]

    def process(self, name: str) -> Process | None:
        return next((p for p in self.processes if p.name == name), None)
