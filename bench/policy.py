"""What the route policy costs per request: the same routes with the app's one guard (`api.auth.enforce_policy`) and
with the least any design needs (the token's check on a signed-in route, nothing on a public one), measured in
alternating rounds on one in-process app so that drift falls on both alike.

`python -m bench.policy` (also run by `python -m bench`). Goal: the policy's share of a request < 2 %.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.testing import TestClient

from api.app import create_app
from api.auth import authenticate, enforce_policy
from api.cli import migrate
from api.policy import POLICY
from api.settings import Settings
from bench.harness import record

BLOCKS = 60  # alternating blocks of each variant: load from elsewhere falls on both alike
REQUESTS = 40  # per route, variant and block
DECISIONS = 200_000
NATIONAL_ID, PHONE, PIN = "048090000777", "0912000777", "246810"
ROUTES = {"me": "/api/v1/me", "document_types": "/api/v1/document-types"}
_OTP = re.compile(r"\b(\d{6})\b")


async def _token_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    await authenticate(connection)


async def _nothing(_connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    return None


def _set_guards(app: Litestar, *, policy: bool) -> None:
    for route in app.routes:
        for entry in getattr(route, "route_handler_map", {}).values():
            handler = entry[0] if isinstance(entry, tuple) else entry
            if route.path_format == ROUTES["me"]:
                handler._resolved_guards = [enforce_policy if policy else _token_only]
            elif route.path_format == ROUTES["document_types"]:
                handler._resolved_guards = [enforce_policy if policy else _nothing]


def _citizen_token(client: TestClient[Litestar], outbox: Path) -> str:
    body = {"national_id": NATIONAL_ID, "full_name": "Nguyễn Văn Đo", "date_of_birth": "1990-05-17"}
    answer = client.post("/api/v1/auth/register", json=body | {"phone": PHONE, "pin": PIN})
    assert answer.status_code == 202, answer.text
    for _ in range(100):
        codes = _OTP.findall(outbox.read_text()) if outbox.exists() else []
        if codes:
            break
        time.sleep(0.05)
    verify = {"challenge_id": answer.json()["challenge_id"], "code": codes[-1]}
    tokens = client.post("/api/v1/auth/otp/verify", json=verify)
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def _seconds(client: TestClient[Litestar], path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def _decision_us(path: str) -> float:
    """The policy's own work for one request beyond authentication: the rule's lookup, the caller's kind and scopes."""
    held = frozenset({"consent:read"})
    started = time.perf_counter()
    for _ in range(DECISIONS):
        rule = POLICY.rule("GET", path)
        assert rule is not None
        _ = rule.public or ("citizen" in rule.callers and rule.allows_scopes(held))
    return (time.perf_counter() - started) / DECISIONS * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), log_level="warning", argon2_time_cost=1, argon2_memory_kib=1024)
        migrate(settings)
        app = create_app(settings)
        with TestClient(app) as client:
            token = _citizen_token(client, settings.outbox_file)
            headers = {name: {"authorization": f"Bearer {token}"} if name == "me" else {} for name in ROUTES}
            spent = {(n, p): 0.0 for n in ROUTES for p in (True, False)}
            for block in range(BLOCKS + 2):  # two warm-up blocks, dropped
                for policy in (True, False) if block % 2 else (False, True):
                    _set_guards(app, policy=policy)
                    for name, path in ROUTES.items():
                        seconds = _seconds(client, path, headers[name])
                        if block >= 2:
                            spent[(name, policy)] += seconds
    results: dict[str, float] = {}
    count = BLOCKS * REQUESTS
    for name, path in ROUTES.items():
        with_policy, without = spent[(name, True)] / count * 1e6, spent[(name, False)] / count * 1e6
        decision = _decision_us(path)
        results |= {
            f"policy.{name}.with_policy_us": round(with_policy, 1),
            f"policy.{name}.without_policy_us": round(without, 1),
            f"policy.{name}.overhead_ratio": round(with_policy / without, 4),
            f"policy.{name}.decision_us": round(decision, 2),
            f"policy.{name}.decision_share": round(decision / without, 5),
        }
        print(
            f"{name}: {with_policy:.0f} µs with the policy, {without:.0f} µs without ({with_policy / without:.4f}×);"
            f" the decision alone {decision:.2f} µs ({decision / without:.3%} of the request)"
        )
    record(results)


if __name__ == "__main__":
    main()
