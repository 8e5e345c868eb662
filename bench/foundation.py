"""Foundation figures: authenticated `GET /api/v1/me` against the bare Litestar handler, and the registration flow.

`python -m bench.foundation` (also run by `python -m bench`). Servers are real uvicorn processes on 127.0.0.1:
the bare app of `bench/baseline_app.py`, then the wallet (`api.app:app_factory`) over a temporary data directory
with the production Argon2 cost. Figures go to `bench/results.json` through `record`; see `bench/README.md`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from api.cli import migrate
from api.settings import Settings
from bench.harness import LoadResult, ServerProcess, load, percentile, record, timed
from crypto.passwords import PinHasher

CONCURRENCY = 16
DURATION = 5.0  # seconds of measured load per server
WARMUP = 1.0  # seconds of unmeasured load before it
MAX_REQUESTS = 10_000_000  # the duration is the bound; this only guards against a runaway loop
FLOWS = 40  # measured register → OTP → tokens flows
WARMUP_FLOWS = 2
ARGON2_REPEAT = 10
OUTBOX_WAIT = 10.0  # seconds to wait for an OTP line in the dev outbox

PIN = "246810"
BIRTH_DATE = date(1990, 5, 17)  # CCCD digits 4-6: "0" (born 1900-1999, male) and "90"
PROVINCE = "048"  # Đà Nẵng
PHONE_PREFIXES = ("03", "05", "07", "08", "09")
HIGH_LIMIT = "100000"  # per-IP register/login/SMS limits: measure the service, not the throttle

_OTP = re.compile(r"\b(\d{6})\b")


@dataclass
class Citizen:
    """Registration data for the n-th benchmark citizen: a valid CCCD and a distinct mobile phone."""

    n: int
    national_id: str = field(init=False)
    phone: str = field(init=False)

    def __post_init__(self) -> None:
        century_sex = 2 * ((BIRTH_DATE.year - 1900) // 100)  # 0: born 1900-1999, male
        self.national_id = f"{PROVINCE}{century_sex}{BIRTH_DATE.year % 100:02d}{self.n:06d}"
        self.phone = f"{PHONE_PREFIXES[self.n % len(PHONE_PREFIXES)]}{self.n:08d}"

    @property
    def e164(self) -> str:
        return "+84" + self.phone[1:]

    def registration(self) -> dict[str, Any]:
        return {
            "national_id": self.national_id,
            "full_name": "Nguyễn Văn Bền",
            "date_of_birth": BIRTH_DATE.isoformat(),
            "phone": self.phone,
            "pin": PIN,
        }


class OutboxReader:
    """Reads OTP codes from the dev outbox (`<data dir>/outbox.jsonl`) as lines are appended."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()  # threads signing in side by side share one reader

    def code_for(self, to: str, *, timeout: float = OUTBOX_WAIT) -> str:
        """The newest unread SMS code sent to `to` (E.164), waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._read_new_lines()
                code = self._codes.pop(to, None)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise RuntimeError(f"no OTP for {to} in {self._path} after {timeout} s")
            time.sleep(0.002)

    def _read_new_lines(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset += len(complete)
        for raw in complete.splitlines():
            line = json.loads(raw)
            match = _OTP.search(line["body"]) if line["channel"] == "sms" else None
            if match:
                self._codes[line["to"]] = match.group(1)


@dataclass
class Wallet:
    server: ServerProcess
    outbox: OutboxReader

    @property
    def api(self) -> str:
        return self.server.base_url + "/api/v1"

    def sign_up(self, client: httpx.Client, citizen: Citizen) -> str:
        """The real flow: register, read the SMS code from the outbox, verify it; returns the access token."""
        response = client.post(f"{self.api}/auth/register", json=citizen.registration())
        _expect(response, 202)
        code = self.outbox.code_for(citizen.e164)
        response = client.post(
            f"{self.api}/auth/otp/verify", json={"challenge_id": response.json()["challenge_id"], "code": code}
        )
        _expect(response, 200)
        token: str = response.json()["access_token"]
        return token


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path} answered {response.status_code}, not {status}: {response.text}"
        )


def _service_env(data_dir: Path) -> dict[str, str]:
    return {
        "WALLET_ENV": "dev",
        "WALLET_DATA_DIR": str(data_dir),
        "WALLET_LOG_LEVEL": "warning",
        "WALLET_REGISTER_PER_IP_PER_MINUTE": HIGH_LIMIT,
        "WALLET_REGISTER_SMS_PER_IP_PER_HOUR": HIGH_LIMIT,
        "WALLET_LOGIN_PER_IP_PER_MINUTE": HIGH_LIMIT,
    }


def check_environment() -> None:
    """Refuse inherited WALLET_ settings: the server inherits os.environ, and another setting (database, storage,
    keys, Argon2 cost...) would make it measure something else or touch data outside its temporary directory."""
    ours = _service_env(Path())
    inherited = sorted(name for name in os.environ if name.upper().startswith("WALLET_") and name not in ours)
    if inherited:
        raise SystemExit(f"unset {', '.join(inherited)}: the benchmark runs its own wallet with default settings")


@contextmanager
def wallet_server(
    extra_env: Mapping[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    workers: int = 1,
    database_url: str | None = None,
) -> Iterator[Wallet]:
    """The wallet as a real server over a data directory, its database migrated first.

    `data_dir` defaults to a fresh temporary directory, removed afterwards; a given one is kept, so a second
    server can start over the same data. `extra_env` adds `WALLET_*` settings for the server only (storage, file
    limits; not the database). `database_url` (`WALLET_DATABASE_URL`, e.g. a throwaway PostgreSQL) replaces the
    default SQLite file of the data directory; it is migrated first like the default. `workers` uvicorn workers.
    """
    with ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wallet-")))
        check_environment()
        env = {**_service_env(data_dir), **(extra_env or {})}
        if database_url is not None:
            env["WALLET_DATABASE_URL"] = database_url
        settings = Settings(data_dir=data_dir, env="dev", database_url=database_url)
        migrate(settings)
        server = stack.enter_context(ServerProcess("api.app:app_factory", factory=True, env=env, workers=workers))
        yield Wallet(server, OutboxReader(settings.outbox_file))


def _measured_load(url: str, headers: dict[str, str] | None = None) -> LoadResult:
    asyncio.run(load(url, concurrency=CONCURRENCY, duration=WARMUP, max_requests=MAX_REQUESTS, headers=headers))
    result = asyncio.run(
        load(url, concurrency=CONCURRENCY, duration=DURATION, max_requests=MAX_REQUESTS, headers=headers)
    )
    print(f"  {url}: {result}")
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} requests to {url} failed")
    return result


def argon2_hash_ms() -> float:
    """Median time of one production-cost Argon2id PIN hash, in this process (no server running)."""
    hasher = PinHasher()
    return statistics.median(timed(lambda: hasher.hash(PIN), repeat=ARGON2_REPEAT)) * 1000


def bare_plain() -> LoadResult:
    with ServerProcess("bench.baseline_app:app") as server:
        return _measured_load(f"{server.base_url}/plain")


def me_and_register_flow() -> tuple[LoadResult, list[float]]:
    """Load `GET /api/v1/me` with a token from the real flow, then time `FLOWS` sequential sign-ups (ms)."""
    with wallet_server() as wallet, httpx.Client(timeout=30.0, trust_env=False) as client:
        token = wallet.sign_up(client, Citizen(1))
        me = _measured_load(f"{wallet.api}/me", {"Authorization": f"Bearer {token}"})
        for n in range(2, 2 + WARMUP_FLOWS):
            wallet.sign_up(client, Citizen(n))
        flows: list[float] = []
        for n in range(2 + WARMUP_FLOWS, 2 + WARMUP_FLOWS + FLOWS):
            citizen = Citizen(n)
            started = time.perf_counter()
            wallet.sign_up(client, citizen)
            flows.append((time.perf_counter() - started) * 1000)
    return me, flows


def main() -> None:
    check_environment()
    print(f"foundation: Argon2id hash in-process ({ARGON2_REPEAT} runs)")
    argon2_ms = argon2_hash_ms()
    print(f"foundation: bare GET /plain, {CONCURRENCY} connections, {DURATION:g} s (+{WARMUP:g} s warm-up)")
    plain = bare_plain()
    print(f"foundation: GET /api/v1/me likewise, then {FLOWS} register → OTP → tokens flows")
    me, flows = me_and_register_flow()
    record(
        {
            "argon2_hash_ms": argon2_ms,
            "baseline_plain_rps": plain.rps,
            "me_rps": me.rps,
            "me_vs_bare_ratio": me.rps / plain.rps,
            "me_p50_ms": me.p50_ms,
            "me_p99_ms": me.p99_ms,
            "register_flow_p50_ms": percentile(flows, 50),
            "register_flow_p99_ms": percentile(flows, 99),
        }
    )


if __name__ == "__main__":
    main()
